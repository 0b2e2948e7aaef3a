//go:build wsloop_nolinkname

package poller

import (
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// gnetLinkBuilt says that gnet's internals are left out (-tags wsloop_nolinkname): every socket
// then goes to its loop through gnet's Enroll, and the functions below are never called.
const gnetLinkBuilt = false

func gnetNewStreamConn(string, int, unsafe.Pointer, unix.Sockaddr, net.Addr, net.Addr) unsafe.Pointer {
	panic("poller: gnet's internals are not linked")
}

func gnetRegister(unsafe.Pointer, unsafe.Pointer) error {
	panic("poller: gnet's internals are not linked")
}

func gnetSetContext(unsafe.Pointer, any) { panic("poller: gnet's internals are not linked") }
