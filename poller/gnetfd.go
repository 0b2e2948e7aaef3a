package poller

import (
	"net"
	"reflect"
	"runtime/debug"
	"strings"
	"unsafe"
)

// gnet v2.9.7 puts a descriptor on a loop only through a net.Conn: Client.Enroll and
// EventLoop.Enroll dup the descriptor, format the remote address and parse it back
// (net.ResolveTCPAddr), close the net.Conn, and wait on a channel for OnOpen: 15 allocations per
// connection in the server's allocation profile, beside the net.Conn's own 6, and system calls
// beyond accept4 (epoll_ctl in and out of Go's poller, getsockname, five setsockopt, the dup);
// bench/RESULTS.md, "Allocations per upgrade", has the profile of both paths.
// EventLoop.Register with a NewNetConnContext or NewNetAddrContext ends in the same place (or
// dials). Its own acceptor does none of that: it builds the connection straight from the accepted
// descriptor (newStreamConn) and adds it to the loop (register0, which runs OnOpen). Those two functions, and Conn.SetContext on the connection they build, are
// linked here, so that a Listener can accept with accept4 and open the descriptor on a loop
// itself (see rawaccept.go and arrival.go).
//
// They are gnet's internals: the link is used only with the gnet version it was written against
// (gnetInternals), checked once from the build information; any other version (or a replaced
// module) takes the Enroll path. A gnet that renamed them fails to link, loudly: a program that
// must build with such a gnet builds with -tags wsloop_nolinkname, which leaves the link out
// (gnetlink.go) and takes the Enroll path everywhere.

// gnetInternals is the gnet version whose internals the link above matches.
const gnetInternals = "v2.9.7"

// gnetLoopFields are the fields of that version's eventloop, in order: a loop whose type has
// others comes from another gnet, and takes no descriptor.
const gnetLoopFields = "listeners idx engine poller buffer connections eventHandler"

// gnetLinked reports whether the gnet module built in is gnetInternals, unreplaced. A binary
// without module information (a test binary) is taken at its go.mod's word, which pins it; the
// loop's fields are checked either way (loopPointer).
var gnetLinked = func() bool {
	if !gnetLinkBuilt {
		return false
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return true
	}
	for _, m := range bi.Deps {
		if m.Path == "github.com/panjf2000/gnet/v2" {
			return m.Version == gnetInternals && m.Replace == nil
		}
	}
	return true
}()

// loopPointer returns the *gnet.eventloop behind el, or nil when el is not one of
// gnetInternals (or the link is off): the loop then takes no descriptor.
func loopPointer(el any) unsafe.Pointer {
	if !gnetLinked {
		return nil
	}
	v := reflect.ValueOf(el)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Type().String() != "*gnet.eventloop" {
		return nil
	}
	t := v.Type().Elem()
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = t.Field(i).Name
	}
	if strings.Join(names, " ") != gnetLoopFields {
		return nil
	}
	return v.UnsafePointer()
}

// openFD opens fd, an accepted TCP socket, on l for c, on l's goroutine: OnOpen runs before it
// returns, unless l could not add fd to its epoll set (gnet then closes fd and OnOpen never
// runs), which it reports. Once OnOpen ran, the connection is the loop's to end, whatever gnet
// reports after it.
func (l *Loop) openFD(fd int, c *gnetConn, local, remote net.Addr) error {
	gc := gnetNewStreamConn("tcp", fd, l.elp, nil, zoneless(local), zoneless(remote))
	gnetSetContext(gc, c)
	err := gnetRegister(l.elp, gc)
	switch {
	case c.loop != nil: // OnOpen ran
		return nil
	case err == nil:
		return errNotWatched
	}
	return err
}

// zoneless returns a, or a copy without its zone when it has one: gnet's conn.release puts the
// bytes of a *net.TCPAddr's zone into its byte pool (it made them there itself on its own accept
// path), and the zone strings here are not gnet's to reuse.
func zoneless(a net.Addr) net.Addr {
	if t, ok := a.(*net.TCPAddr); ok && t.Zone != "" {
		return &net.TCPAddr{IP: t.IP, Port: t.Port}
	}
	return a
}
