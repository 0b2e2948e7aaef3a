// Package program is what the server programs (cmd/echo, cmd/chat, natsbroker/cmd/wsnode) share:
// their TLS flags, and their life from the first signal they catch to a shutdown that lets
// connections close.
package program

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	ws "github.com/wsloop/wsloop/api"
)

// CloseTimeout bounds each connection's closing handshake. ShutdownGrace, how long a signalled
// server waits for its connections to end, is longer: a peer that never answers is closed by its
// close timeout first, so the shutdown still succeeds.
const (
	CloseTimeout  = 5 * time.Second
	ShutdownGrace = CloseTimeout + time.Second
)

// CatchSignals starts catching SIGINT and SIGTERM, for Serve. A program calls it first, so that
// a signal never finds the default action once anything has started.
func CatchSignals() <-chan os.Signal {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	return sig
}

// LoadTLS returns the server TLS configuration of the -tls-cert and -tls-key files, nil when
// neither is given.
func LoadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}, nil
}

// Serve listens with srv on addr (host:port; port 0 picks a free one), prints "listening on
// ADDR", the line scripts and tests wait for, and at the first signal of sig shuts srv down,
// giving its connections ShutdownGrace.
func Serve(srv *ws.Server, addr string, sig <-chan os.Signal) error {
	return Run(srv, addr, sig, func(a net.Addr) { fmt.Printf("listening on %s\n", a) })
}

// Run is Serve with ready, instead of the "listening on" line, told the address once srv listens.
func Run(srv *ws.Server, addr string, sig <-chan os.Signal, ready func(net.Addr)) error {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	port, err := strconv.Atoi(p)
	if err != nil {
		return fmt.Errorf("-addr: bad port %q", p)
	}
	if err := srv.Listen(port, host, nil); err != nil {
		return err
	}
	ready(srv.Addr())
	<-sig
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
