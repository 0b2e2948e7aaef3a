package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"strings"
	"testing"

	"github.com/wsloop/wsloop/internal/wstest"
)

// deflateSections are the compression sections: the runs with deflate on repeat only them, the
// plain runs of TestEchoServer and TestEchoCommand cover the rest of the catalogue.
const deflateSections = "12,13"

// tlsDeflateCases selects the cases of the runs over TLS, n of them: sections 12 and 13 without
// the messages of section 12 above 16 KiB (12.*.8 to 12.*.11), which the plain runs cover. TLS
// changes the transport, not the deflate data path, and under the race detector the large
// messages are the longest part of a run.
func tlsDeflateCases() (include string, n int) {
	var ids []string
	for k := range kindNames {
		for i, sz := range section12Sizes {
			if sz.size <= 16<<10 {
				ids = append(ids, fmt.Sprintf("12.%d.%d", k+1, i+1))
			}
		}
	}
	include = strings.Join(append(ids, "13"), ",")
	return include, casesOf(include)
}

// casesOf is how many cases of the server catalogue include selects.
func casesOf(include string) int {
	cs, _ := selectCases(modeCases("server", defaultConfig()), include, "")
	return len(cs)
}

// TestEchoDeflate is CI's run of the compression sections against cmd/echo as a user runs it, in
// both of its modes (-deflate: no context takeover; -deflate-takeover), as a server (wsconform
// server) and as the testee client (`echo -client`), plain and over TLS (tlsDeflateCases: without
// the largest messages): eight runs, at most two at once. Each plain run is compared with its
// expected file (rewritten by -update), the run over TLS with the same file; no case may FAIL,
// and every case must have agreed permessage-deflate, with compressed frames from cmd/echo in
// every group of cases (checkDeflateUsed).
func TestEchoDeflate(t *testing.T) {
	wstest.CheckLeaks(t)
	bin := buildEcho(t)
	serverCfg, clientCfg := wstest.TLSConfigs(t)
	certFile, keyFile := wstest.WriteCertFiles(t, serverCfg)
	for _, mode := range []struct{ flag, serverFile, clientFile string }{
		{"-deflate", "expected-echo-deflate.json", "expected-wsloop-client-deflate.json"},
		{"-deflate-takeover", "expected-echo-deflate-takeover.json", "expected-wsloop-client-deflate-takeover.json"},
	} {
		for _, secure := range []bool{false, true} {
			suffix, include, n := mode.flag, deflateSections, casesOf(deflateSections)
			if secure {
				suffix += "-wss"
				include, n = tlsDeflateCases()
			}
			t.Run("server"+suffix, func(t *testing.T) {
				parallelUnlessUpdate(t)
				args := []string{"-max-message", "16777216", mode.flag}
				scheme, roots := "ws://", (*x509.CertPool)(nil)
				if secure {
					args = append(args, "-tls-cert", certFile, "-tls-key", keyFile)
					scheme, roots = "wss://", clientCfg.RootCAs
				}
				addr := startEchoBinary(t, bin, args...)
				rep := runServerRoots(t, scheme+addr+"/", roots, include, defaultConfig())
				if secure {
					compareExpected(t, rep, mode.serverFile)
				} else {
					checkExpected(t, rep, mode.serverFile, "cmd/echo "+mode.flag)
				}
				for _, f := range failedCases(rep) {
					t.Errorf("echo %s FAILED %s", mode.flag, f)
				}
				checkDeflateUsed(t, rep, n)
			})
			t.Run("client"+suffix, func(t *testing.T) {
				parallelUnlessUpdate(t)
				var tlsConfig *tls.Config
				extra := []string{mode.flag}
				if secure {
					tlsConfig, extra = serverCfg, append(extra, "-insecure")
				}
				rep, out, runErr := runTesteeClient(t, bin, tlsConfig, include, extra...)
				checkTestee(t, rep, out, runErr, mode.clientFile, *update && !secure)
				checkDeflateUsed(t, rep, n)
			})
		}
	}
}
