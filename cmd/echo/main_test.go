package main

import (
	"bufio"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	ws "github.com/wsloop/wsloop/api"
	"github.com/wsloop/wsloop/codec"
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

// startEcho runs the echo command in a process of its own and returns it with its address.
func startEcho(t *testing.T, args ...string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "WSLOOP_RUN_ECHO=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the ready line: %v", err)
	}
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok {
		t.Fatalf("ready line %q", line)
	}
	return cmd, addr
}

func TestSignalClosesConnectionsAndExits(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, addr := startEcho(t)
			p := wstest.Dial(t, addr, "/echo")
			p.WriteFrame(true, codec.OpText, []byte("before"))
			p.ExpectFrame(codec.OpText, []byte("before"))
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if reason := p.ExpectClose(codec.CloseGoingAway); reason != "server shutting down" {
				t.Fatalf("reason %q", reason)
			}
			p.WriteFrame(true, codec.OpClose, codec.AppendClosePayload(nil, codec.CloseGoingAway, ""))
			p.ExpectEOF()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("exit: %v", err)
				}
			case <-time.After(wstest.Timeout):
				t.Fatal("the command did not exit")
			}
		})
	}
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
