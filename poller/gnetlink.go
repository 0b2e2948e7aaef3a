//go:build !wsloop_nolinkname

package poller

import (
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// gnetLinkBuilt says that gnet's internals are linked (see gnetfd.go).
const gnetLinkBuilt = true

//go:linkname gnetNewStreamConn github.com/panjf2000/gnet/v2.newStreamConn
func gnetNewStreamConn(proto string, fd int, el unsafe.Pointer, sa unix.Sockaddr, local, remote net.Addr) unsafe.Pointer

//go:linkname gnetRegister github.com/panjf2000/gnet/v2.(*eventloop).register0
func gnetRegister(el, c unsafe.Pointer) error

//go:linkname gnetSetContext github.com/panjf2000/gnet/v2.(*conn).SetContext
func gnetSetContext(c unsafe.Pointer, ctx any)
