package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	ws "github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/codec"
	"github.com/wsloop/wsloop/internal/program"
	"github.com/wsloop/wsloop/internal/wstest"
)

// TestMain runs the command itself when the test binary is started as the echo program.
func TestMain(m *testing.M) {
	if os.Getenv("WSLOOP_RUN_ECHO") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// echoProcess is the echo command running in a process of its own.
type echoProcess struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed once the process has exited
	err    error         // how it exited (nil: status 0), set before exited is closed
}

// startEcho runs the echo command in a process of its own and returns it with its address. The
// process is killed, if still running, when the test ends.
func startEcho(t *testing.T, args ...string) (*echoProcess, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	// Under -race the runtime sleeps a second before exiting; the exit tests time the shutdown.
	cmd.Env = append(os.Environ(), "WSLOOP_RUN_ECHO=1", "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ep := &echoProcess{cmd: cmd, exited: make(chan struct{})}
	line, err := bufio.NewReader(out).ReadString('\n')
	go func() { ep.err = cmd.Wait(); close(ep.exited) }() // after the read: Wait closes out
	t.Cleanup(func() { cmd.Process.Kill(); <-ep.exited })
	if err != nil {
		t.Fatalf("reading the ready line: %v", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("ready line %q", line)
	}
	return ep, addr
}

// signal sends sig to the process and returns when it went.
func (ep *echoProcess) signal(t *testing.T, sig os.Signal) time.Time {
	t.Helper()
	start := time.Now()
	if err := ep.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	return start
}

// expectExit waits up to wait for the process to end, fails unless it exits with status 0, and
// returns how long it took from start.
func (ep *echoProcess) expectExit(t *testing.T, start time.Time, wait time.Duration) time.Duration {
	t.Helper()
	select {
	case <-ep.exited:
		if ep.err != nil {
			t.Fatalf("exit: %v", ep.err)
		}
		return time.Since(start)
	case <-time.After(wait):
		t.Fatalf("the command did not exit within %v", wait)
		return 0
	}
}

// answerGoingAway expects the shutdown's close frame and answers it.
func answerGoingAway(t *testing.T, p *wstest.Peer) {
	t.Helper()
	if reason := p.ExpectClose(codec.CloseGoingAway); reason != "server shutting down" {
		t.Fatalf("reason %q", reason)
	}
	p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, codec.CloseGoingAway, ""))
}

func TestSignalClosesConnectionsAndExits(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			ep, addr := startEcho(t)
			p := wstest.Dial(t, addr, "/echo")
			p.WriteFrame(true, codec.OpText, []byte("before"))
			p.ExpectFrame(codec.OpText, []byte("before"))
			start := ep.signal(t, sig)
			answerGoingAway(t, p)
			p.ExpectEOF()
			ep.expectExit(t, start, wstest.Timeout)
		})
	}
}

// A client stalled in its handshake is closed at once: it delays the exit by no handshake
// timeout (10 s), and the exit status stays 0.
func TestSignalWithStalledHandshakeExitsPromptly(t *testing.T) {
	ep, addr := startEcho(t)
	silent := wstest.DialRaw(t, addr)
	slow := wstest.DialRaw(t, addr)
	slow.Write([]byte("GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"))
	p := wstest.Dial(t, addr, "/echo") // accepted after the two above, so they are enrolled
	start := ep.signal(t, syscall.SIGTERM)
	answerGoingAway(t, p)
	if d := ep.expectExit(t, start, wstest.Timeout); d > time.Second {
		t.Fatalf("exit %v after the signal, want within 1s", d)
	}
	silent.ExpectEOF()
	slow.ExpectEOF()
}

// A client that never answers the close is closed by the close timeout, within the shutdown's
// grace, so the exit status is still 0.
func TestSignalWithSilentPeerExitsAfterCloseTimeout(t *testing.T) {
	ep, addr := startEcho(t)
	p := wstest.Dial(t, addr, "/echo")
	start := ep.signal(t, syscall.SIGTERM)
	p.ExpectClose(codec.CloseGoingAway)
	d := ep.expectExit(t, start, program.ShutdownGrace+wstest.Timeout)
	if d < program.CloseTimeout*9/10 || d >= program.ShutdownGrace {
		t.Fatalf("exit %v after the signal, want after the close timeout (%v), within the grace (%v)",
			d, program.CloseTimeout, program.ShutdownGrace)
	}
	p.ExpectEOF()
}

func TestTLSFlagsServeWSS(t *testing.T) {
	wstest.CheckLeaks(t)
	serverCfg, clientCfg := wstest.TLSConfigs(t)
	certFile, keyFile := wstest.WriteCertFiles(t, serverCfg)
	_, addr := startEcho(t, "-tls-cert", certFile, "-tls-key", keyFile)
	got := make(chan string, 1)
	c, err := ws.Connect("wss://"+addr+"/echo", &ws.ClientOptions{TLSConfig: clientCfg}, func(c *ws.Conn) {
		c.OnText(func(c *ws.Conn, text string) { got <- text; c.Close(1000, "") })
		c.SendText("secure echo", nil)
	})
	if err != nil {
		t.Fatal(err)
	}
	closed := make(chan struct{})
	c.OnClose(func(*ws.Conn, int, string) { close(closed) })
	select {
	case text := <-got:
		if text != "secure echo" {
			t.Fatalf("echo %q", text)
		}
	case <-time.After(wstest.Timeout):
		t.Fatal("no echo over wss")
	}
	<-closed
}

// -defer-accept: upgrades work as usual, and a client that has said nothing is the kernel's, not
// the server's. The shutdown does not close it (nothing comes, not even an end, as the process
// exits), and once the listener is gone its first bytes are reset. Without the flag the shutdown
// closes such a client at once (TestSignalWithStalledHandshakeExitsPromptly).
func TestEchoFlagDeferAccept(t *testing.T) {
	ep, addr := startEcho(t, "-defer-accept")
	silent := wstest.DialRaw(t, addr)
	p := wstest.Dial(t, addr, "/echo")
	p.WriteFrame(true, codec.OpText, []byte("deferred"))
	p.ExpectFrame(codec.OpText, []byte("deferred"))
	start := ep.signal(t, syscall.SIGTERM)
	answerGoingAway(t, p)
	ep.expectExit(t, start, wstest.Timeout)
	buf := make([]byte, 1)
	silent.Conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if n, err := silent.Conn.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the silent client read %d bytes, %v: the server knew of it", n, err)
	}
	silent.Conn.SetDeadline(time.Now().Add(wstest.Timeout))
	if _, err := silent.Conn.Write([]byte(wstest.Request("/echo"))); err != nil {
		t.Fatal(err)
	}
	if n, err := silent.Conn.Read(buf); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("after the exit the silent client read %d bytes, %v; want a reset", n, err)
	}
}
