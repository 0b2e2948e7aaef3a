package poller

import (
	"reflect"

	"github.com/panjf2000/gnet/v2"
	"golang.org/x/sys/unix"
)

// gnet v2.9.7 has no way to stop reading a connection: every readable event appends to the
// connection's inbound buffer. To throttle a paused connection through the kernel's window, the
// poller takes its socket's read interest out of the loop's epoll set itself. gnet registers each
// socket with its descriptor as the event's data and re-arms read interest (ModRead) only after it
// flushed its output, so a pause is applied again whenever gnet undoes it (see Poller.OnTraffic).
// The loop's epoll descriptor is not exported: it is read from gnet's loop, and if that ever
// fails (another gnet version), pausing falls back to keeping input up to MaxHeldInput.

// epollFD returns the epoll descriptor of gnet's loop el, or -1 when it cannot be found.
func epollFD(el gnet.EventLoop) (fd int) {
	defer func() {
		if recover() != nil {
			fd = -1
		}
	}()
	v := reflect.ValueOf(el)
	if v.Kind() != reflect.Pointer {
		return -1
	}
	p := v.Elem().FieldByName("poller")
	if p.Kind() != reflect.Pointer || p.IsNil() {
		return -1
	}
	f := p.Elem().FieldByName("fd")
	if f.Kind() != reflect.Int {
		return -1
	}
	return int(f.Int())
}

// setReadInterest adds or removes c's socket's read interest in its loop's epoll set, keeping
// write interest while gnet holds output for it. It reports whether it could.
func (c *gnetConn) setReadInterest(read bool) bool {
	if c.loop == nil || c.loop.epfd < 0 {
		return false
	}
	var ev uint32
	if read {
		ev = unix.EPOLLIN | unix.EPOLLPRI
	}
	if c.gc.OutboundBuffered() > 0 {
		ev |= unix.EPOLLOUT
	}
	fd := c.gc.Fd()
	return unix.EpollCtl(c.loop.epfd, unix.EPOLL_CTL_MOD, fd, &unix.EpollEvent{Fd: int32(fd), Events: ev}) == nil
}
