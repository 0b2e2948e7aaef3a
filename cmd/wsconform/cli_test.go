package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wsloop/wsloop/internal/wstest"
)

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{nil, 2, "usage:"},
		{[]string{"bogus"}, 2, "unknown command"},
		{[]string{"help"}, 0, "wsconform server"},
		{[]string{"list"}, 2, "usage: wsconform list"},
		{[]string{"list", "server"}, 0, "1.1.1     text message of 0 bytes"},
		{[]string{"list", "client"}, 0, "H.5       a wrong Sec-WebSocket-Accept"},
		{[]string{"server"}, 2, "usage: wsconform server"},
		{[]string{"server", "http://example.com/"}, 2, "scheme must be ws or wss"},
		{[]string{"server", "-cases", "99.9", "ws://127.0.0.1:1/"}, 2, "no case matches"},
		{[]string{"client", "extra"}, 2, "usage: wsconform client"},
		{[]string{"server", "-insecure", "ws://127.0.0.1:1/"}, 2, "apply to wss:// URLs only"},
		{[]string{"server", "-ca", "testdata/expected-echo.json", "wss://127.0.0.1:1/"}, 2, "no PEM certificate"},
		{[]string{"server", "-ca", "testdata/missing.pem", "wss://127.0.0.1:1/"}, 2, "no such file"},
		{[]string{"client", "-tls-cert", "cert.pem"}, 2, "-tls-cert and -tls-key go together"},
		{[]string{"client", "-tls-cert", "testdata/missing.pem", "-tls-key", "testdata/missing.pem"}, 2, "no such file"},
	} {
		var out, errOut bytes.Buffer
		code := run(tc.args, &out, &errOut)
		if code != tc.code || !strings.Contains(out.String()+errOut.String(), tc.out) {
			t.Errorf("run(%q) = %d, output %q; want %d with %q", tc.args, code, out.String()+errOut.String(), tc.code, tc.out)
		}
	}
}

func TestCatalogue(t *testing.T) {
	for _, mode := range []string{"server", "client"} {
		seen := map[string]bool{}
		perSection := map[string]int{}
		for _, c := range modeCases(mode, defaultConfig()) {
			if seen[c.ID] {
				t.Errorf("%s: case %s twice", mode, c.ID)
			}
			seen[c.ID] = true
			perSection[c.Section()]++
			if c.Desc == "" {
				t.Errorf("%s: case %s has no description", mode, c.ID)
			}
			if (c.run == nil) == (c.serverHS == nil && c.clientHS == nil) {
				t.Errorf("%s: case %s needs exactly one runner", mode, c.ID)
			}
			if c.Extra != (strings.Contains(c.ID, ".x.") || c.Section() == "H") {
				t.Errorf("%s: case %s: Extra=%v does not match its id", mode, c.ID, c.Extra)
			}
		}
		// Autobahn's counts for the sections whose numbering this catalogue follows exactly.
		for sec, n := range map[string]int{"2": 11, "3": 7, "4": 10, "9": 54} {
			if perSection[sec] != n {
				t.Errorf("%s: section %s has %d cases, Autobahn %d", mode, sec, perSection[sec], n)
			}
		}
	}
	// The UTF-8 vectors say the truth about their validity.
	for _, v := range utf8Vectors() {
		if got := utf8Valid(v.payload); got != v.valid {
			t.Errorf("%s %s: valid=%v, but the bytes are %v", v.id, v.desc, v.valid, got)
		}
	}
	if p := mixedText(1000); len(p) != 1000 || !utf8Valid(p) {
		t.Errorf("mixedText(1000): %d bytes, valid %v", len(p), utf8Valid(p))
	}
}

func utf8Valid(p []byte) bool {
	return strings.ToValidUTF8(string(p), "\uFFFD") == string(p) && !hasSurrogate(p)
}

// hasSurrogate: Go's strings.ToValidUTF8 already treats encoded surrogates as invalid; this is a
// belt for the braces.
func hasSurrogate(p []byte) bool {
	for i := 0; i+1 < len(p); i++ {
		if p[i] == 0xed && p[i+1] >= 0xa0 && p[i+1] <= 0xbf {
			return true
		}
	}
	return false
}

func TestMatchAny(t *testing.T) {
	for _, tc := range []struct {
		id, patterns string
		want         bool
	}{
		{"6.4.1", "6.4", true},
		{"6.4.1", "6.4.1", true},
		{"6.4.10", "6.4.1", false},
		{"6.4.1", "6.*", true},
		{"6.4.1", "6", true},
		{"16.1", "6", false},
		{"H.3", "H", true},
		{"1.x.2", "1.x", true},
		{"2.1", "1, 2.1", true},
		{"2.10", "2.1", false},
	} {
		if got := matchAny(tc.id, tc.patterns); got != tc.want {
			t.Errorf("matchAny(%q, %q) = %v", tc.id, tc.patterns, got)
		}
	}
}

func TestCompare(t *testing.T) {
	rep := &Report{Cases: []CaseReport{
		{ID: "1", result: result{Outcome: OK}},
		{ID: "2", result: result{Outcome: Failed, Reason: "broken"}},
		{ID: "3", result: result{Outcome: NonStrict}},
		{ID: "4", result: result{Outcome: Informational}},
		{ID: "5", result: result{Outcome: NonStrict}},
	}}
	c := compare(rep, map[string]Outcome{"1": Failed, "2": NonStrict, "3": NonStrict, "4": OK})
	if len(c.worse) != 2 || !strings.HasPrefix(c.worse[0], "2: FAILED, expected NON-STRICT (broken)") ||
		!strings.Contains(c.worse[1], "5: NON-STRICT, not in the expected results") {
		t.Errorf("worse %q", c.worse)
	}
	if len(c.better) != 1 || !strings.HasPrefix(c.better[0], "1: OK") {
		t.Errorf("better %q", c.better)
	}
	if len(c.changed) != 1 || !strings.HasPrefix(c.changed[0], "4: INFORMATIONAL") {
		t.Errorf("changed %q", c.changed)
	}
}

func TestReadExpected(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	flat := write("flat.json", `{"agent": "x", "cases": {"1.1.1": "OK", "2.1": "NON-STRICT"}}`)
	full := write("full.json", `{"tool": "wsconform", "cases": [{"id": "1.1.1", "outcome": "FAILED"}]}`)
	bad := write("bad.json", `{"cases": {"1.1.1": "PASSED"}}`)
	if m, err := readExpected(flat); err != nil || m["2.1"] != NonStrict || len(m) != 2 {
		t.Errorf("flat: %v %v", m, err)
	}
	if m, err := readExpected(full); err != nil || m["1.1.1"] != Failed {
		t.Errorf("full report: %v %v", m, err)
	}
	if _, err := readExpected(bad); err == nil || !strings.Contains(err.Error(), "unknown outcome") {
		t.Errorf("bad outcome: %v", err)
	}
}

// TestServerCommand drives the command end to end: a run writes its report and its expected
// results, a second run meets them, and a broken server fails against them.
func TestServerCommand(t *testing.T) {
	wstest.CheckLeaks(t)
	url := startEcho(t, 4<<20)
	dir := t.TempDir()
	jsonPath, expectPath := filepath.Join(dir, "report.json"), filepath.Join(dir, "expected.json")
	var out, errOut bytes.Buffer
	args := []string{"server", "-q", "-cases", "1.1,2,7.9.1,H.1", "-json", jsonPath, "-write-expect", expectPath, url}
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "total        21     21") {
		t.Errorf("summary:\n%s", out.String())
	}
	var rep Report
	data, _ := os.ReadFile(jsonPath)
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Mode != "server" || len(rep.Cases) != 21 || rep.Cases[0].ID != "1.1.1" || !rep.Cases[0].Autobahn ||
		rep.Cases[0].Outcome != OK || len(rep.Cases[0].Sent) == 0 || rep.Cases[0].Expected == "" || len(rep.Cases[0].Got) == 0 {
		t.Errorf("report: %+v", rep.Cases[0])
	}

	out.Reset()
	if code := run([]string{"server", "-q", "-cases", "1.1,2,7.9.1,H.1", "-expect", expectPath, url}, &out, &errOut); code != 0 {
		t.Errorf("second run against its own expectations: exit %d\n%s", code, out.String())
	}

	// A server answering pings with empty pongs is worse on 2.2.
	broken := "ws://" + startRawServer(t, serverKnobs{emptyPong: true}) + "/"
	out.Reset()
	if code := run([]string{"server", "-q", "-cases", "2.1,2.2", "-expect", expectPath, broken}, &out, &errOut); code != 1 ||
		!strings.Contains(out.String(), "WORSE   2.2: FAILED, expected OK") || !strings.Contains(out.String(), "sent: ping") {
		t.Errorf("broken server: exit %d\n%s", code, out.String())
	}
}

// TestClientCommandWithoutClient: with no client the client mode gives up after -wait and reports
// every case FAILED.
func TestClientCommandWithoutClient(t *testing.T) {
	var out, errOut bytes.Buffer
	start := time.Now()
	code := run([]string{"client", "-q", "-listen", "127.0.0.1:0", "-wait", "200ms", "-cases", "1.1.1,H.5"}, &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), "the client never ran this case") || time.Since(start) > 5*time.Second {
		t.Errorf("exit %d after %v\n%s%s", code, time.Since(start), out.String(), errOut.String())
	}
}
