package main

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	ws "github.com/wsloop/wsloop/api"
)

// caseTimeout bounds one fuzzing case, so a server that never closes cannot hang the run.
const caseTimeout = 60 * time.Second

// runTestee runs the client side of Autobahn's testee protocol against a fuzzing server at base
// (ws://host:port or wss://): fetch the case count, run every case by echoing each message until
// the server closes, then ask for the reports, with the client options opts.
func runTestee(base, agent string, opts *ws.ClientOptions) error {
	countText, err := fetchText(base+"/getCaseCount", opts)
	if err != nil {
		return fmt.Errorf("getCaseCount: %w", err)
	}
	count, err := strconv.Atoi(countText)
	if err != nil {
		return fmt.Errorf("getCaseCount answered %q", countText)
	}
	q := url.QueryEscape(agent)
	for i := 1; i <= count; i++ {
		if err := runCase(base+"/runCase?case="+strconv.Itoa(i)+"&agent="+q, opts); err != nil {
			return fmt.Errorf("case %d: %w", i, err)
		}
	}
	return runCase(base+"/updateReports?agent="+q, opts)
}

// runCase echoes every message on one connection until it closes. Errors the fuzzing server
// provokes on purpose (protocol violations) are part of the case, not a failure of the run.
func runCase(u string, opts *ws.ClientOptions) error {
	done := make(chan struct{})
	o := withSetup(opts, func(c *ws.Conn) {
		c.OnMessage(func(c *ws.Conn, typ ws.MessageType, p []byte) { c.SendMessage(typ, p, nil) })
		c.OnClose(func(*ws.Conn, int, string) { close(done) })
	})
	c, err := ws.Connect(u, o, nil)
	if err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-time.After(caseTimeout):
		c.Close(1000, "")
		return errors.New("timed out")
	}
}

// fetchText connects to u and returns the first text message the server sends.
func fetchText(u string, opts *ws.ClientOptions) (string, error) {
	got := make(chan string, 1)
	failed := make(chan error, 1)
	o := withSetup(opts, func(c *ws.Conn) {
		c.OnText(func(c *ws.Conn, text string) {
			got <- text
			c.Close(1000, "")
		})
		c.OnError(func(_ *ws.Conn, err error) { failed <- err })
	})
	c, err := ws.Connect(u, o, nil)
	if err != nil {
		return "", err
	}
	select {
	case text := <-got:
		return text, nil
	case err := <-failed:
		return "", err
	case <-time.After(caseTimeout):
		c.Close(1000, "")
		return "", errors.New("timed out")
	}
}

// withSetup returns a copy of opts (nil for the defaults) whose Setup is setup.
func withSetup(opts *ws.ClientOptions, setup func(*ws.Conn)) *ws.ClientOptions {
	var o ws.ClientOptions
	if opts != nil {
		o = *opts
	}
	o.Setup = setup
	return &o
}
