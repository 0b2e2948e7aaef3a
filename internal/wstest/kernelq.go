package wstest

import (
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// KernelQueued returns how many bytes the kernel holds on the way from an in-process server to
// the client end c of a loopback TCP connection: those in the server socket's send queue (SIOCOUTQ:
// written and not yet acknowledged) plus those in c's receive queue (SIOCINQ: arrived and not yet
// read). The server's socket is found among this process's descriptors by its addresses, the
// mirror of c's. Bytes in flight are counted in both queues for a moment, so the count may exceed
// what the kernel holds, never fall short of it.
func KernelQueued(t testing.TB, c net.Conn) int {
	t.Helper()
	fd := serverFD(t, c)
	out, err := unix.IoctlGetInt(fd, unix.SIOCOUTQ)
	if err != nil {
		t.Fatalf("SIOCOUTQ of the server's socket %d: %v", fd, err)
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		t.Fatalf("%T has no descriptor", c)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var in int
	var inErr error
	if err := raw.Control(func(fd uintptr) { in, inErr = unix.IoctlGetInt(int(fd), unix.SIOCINQ) }); err != nil {
		t.Fatal(err)
	}
	if inErr != nil {
		t.Fatalf("SIOCINQ of the client's socket: %v", inErr)
	}
	return out + in
}

// serverFD returns this process's descriptor of the other end of the loopback connection c: the
// socket whose local address is c's remote one and whose peer is c's local one.
func serverFD(t testing.TB, c net.Conn) int {
	t.Helper()
	local, remote := c.LocalAddr().(*net.TCPAddr), c.RemoteAddr().(*net.TCPAddr)
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		name, err := unix.Getsockname(fd)
		if err != nil || !sameAddr(name, remote) {
			continue
		}
		if peer, err := unix.Getpeername(fd); err == nil && sameAddr(peer, local) {
			return fd
		}
	}
	t.Fatalf("no socket of this process is the other end of %v -> %v", local, remote)
	return -1
}

// sameAddr reports whether the socket address sa is a.
func sameAddr(sa unix.Sockaddr, a *net.TCPAddr) bool {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return sa.Port == a.Port && net.IP(sa.Addr[:]).Equal(a.IP)
	case *unix.SockaddrInet6:
		return sa.Port == a.Port && net.IP(sa.Addr[:]).Equal(a.IP)
	}
	return false
}
