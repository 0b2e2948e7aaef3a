package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// drawn is what a test reads back from an SVG: the title, every text, and per panel its bars.
type drawn struct {
	title  string
	texts  []string
	panels []drawnPanel
}

type drawnPanel struct {
	title  string
	widths []float64
	fills  []string
	texts  []string
}

// parseSVG decodes data strictly as XML and collects what the charts draw.
func parseSVG(t *testing.T, data []byte) drawn {
	t.Helper()
	var d drawn
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []xml.StartElement
	var cur *drawnPanel
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not valid XML: %v\n%s", err, data)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			stack = append(stack, tok)
			switch {
			case tok.Name.Local == "g" && attr(tok, "class") == "panel":
				d.panels = append(d.panels, drawnPanel{})
				cur = &d.panels[len(d.panels)-1]
			case tok.Name.Local == "rect" && attr(tok, "class") == "bar":
				if cur == nil {
					t.Fatal("a bar outside a panel")
				}
				w, err := strconv.ParseFloat(attr(tok, "width"), 64)
				if err != nil {
					t.Fatal(err)
				}
				cur.widths = append(cur.widths, w)
				cur.fills = append(cur.fills, attr(tok, "fill"))
			}
		case xml.EndElement:
			if tok.Name.Local == "g" {
				cur = nil
			}
			stack = stack[:len(stack)-1]
		case xml.CharData:
			s := strings.TrimSpace(string(tok))
			if s == "" || len(stack) == 0 {
				continue
			}
			el := stack[len(stack)-1]
			switch {
			case el.Name.Local == "title":
				d.title = s
			case el.Name.Local == "text" && cur != nil:
				if attr(el, "class") == "panel-title" {
					cur.title = s
				}
				cur.texts = append(cur.texts, s)
				d.texts = append(d.texts, s)
			case el.Name.Local == "text":
				d.texts = append(d.texts, s)
			}
		}
	}
	return d
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func TestChartSVG(t *testing.T) {
	c := chart{
		file:  "x.svg",
		title: `Echo <1 KiB> & "friends"`,
		notes: []string{"a note with <markup> & more"},
		panels: []panel{
			{title: "Messages per second (higher is better)", format: rate, bars: []bar{
				{"wsloop", 200e3}, {"gorilla", 100e3}, {"gws", 0}, {limitPeer, 400e3},
			}},
			{title: "Server CPU per message (lower is better)", format: dur, bars: []bar{
				{"wsloop", 4700}, {"nbio", 9400},
			}},
		},
	}
	d := parseSVG(t, c.svg())
	if d.title != c.title {
		t.Errorf("title %q, want %q", d.title, c.title)
	}
	if !slices.Contains(d.texts, c.notes[0]) {
		t.Errorf("note %q not among the texts %q", c.notes[0], d.texts)
	}
	if len(d.panels) != len(c.panels) {
		t.Fatalf("%d panels, want %d", len(d.panels), len(c.panels))
	}
	for i, p := range c.panels {
		got := d.panels[i]
		if got.title != p.title {
			t.Errorf("panel %d: title %q, want %q", i, got.title, p.title)
		}
		if len(got.widths) != len(p.bars) {
			t.Fatalf("panel %d: %d bars, want %d", i, len(got.widths), len(p.bars))
		}
		// Widths proportional to the values: the same pixels per unit for every non-zero bar,
		// within the two decimals of the coordinates, and the longest bar within the axis.
		var perUnit float64
		for j, b := range p.bars {
			w := got.widths[j]
			if w < 0 || w > barSpan {
				t.Errorf("panel %d, %s: width %v outside [0, %d]", i, b.peer, w, barSpan)
			}
			if b.value == 0 {
				if w != 0 {
					t.Errorf("panel %d, %s: value 0, width %v", i, b.peer, w)
				}
				continue
			}
			if perUnit == 0 {
				perUnit = w / b.value
			}
			if math.Abs(w-perUnit*b.value) > 0.01 {
				t.Errorf("panel %d, %s: width %v for %v, want %v", i, b.peer, w, b.value, perUnit*b.value)
			}
			want := peerFill
			switch b.peer {
			case "wsloop":
				want = wsloopFill
			case limitPeer:
				want = limitFill
			}
			if got.fills[j] != want {
				t.Errorf("panel %d, %s: fill %s, want %s", i, b.peer, got.fills[j], want)
			}
		}
	}
	if wsloopFill == peerFill || wsloopFill == limitFill || peerFill == limitFill {
		t.Error("the three kinds of bar share a colour")
	}
	for i, want := range [][]string{
		{"wsloop", "200.0 k", "gorilla", "100.0 k (0.50× wsloop)", "gws", "0 (0.00× wsloop)",
			"limit (minimal gnet server)", "400.0 k (2.00× wsloop)", "0", "100 k", "200 k", "300 k", "400 k"},
		{"4.70 µs", "nbio", "9.40 µs (2.00× wsloop)", "10 µs"},
	} {
		for _, s := range want {
			if !slices.Contains(d.panels[i].texts, s) {
				t.Errorf("panel %d: no text %q among %q", i, s, d.panels[i].texts)
			}
		}
	}
}

func TestChartWithoutWsloop(t *testing.T) {
	c := chart{title: "t", panels: []panel{{title: "p", format: count, bars: []bar{{"gorilla", 3}, {"gobwas", 6}}}}}
	d := parseSVG(t, c.svg())
	if want := []string{"gorilla", "3.0", "gobwas", "6.0"}; !slices.Equal(d.panels[0].texts[len(d.panels[0].texts)-4:], want) {
		t.Errorf("texts %q, want them to end in %q: no ratio without wsloop", d.panels[0].texts, want)
	}
}

const testRaw = `# pass 1 of 2, wsloop 1234567 with 0 uncommitted files, load average before: 1 1 1 1/1 1
BenchmarkEcho/conns=1000/peer=wsloop-2   100  5000 ns/op  200000 msgs/s  4600 srv-cpu-ns/msg
BenchmarkEcho/conns=1000/peer=wsloop-2   100  5000 ns/op  220000 msgs/s  4800 srv-cpu-ns/msg
BenchmarkEcho/conns=1000/peer=gorilla-2  100  5000 ns/op  176000 msgs/s  5900 srv-cpu-ns/msg
BenchmarkEcho/conns=1000/peer=gorilla-2  100  5000 ns/op  176000 msgs/s  5900 srv-cpu-ns/msg
BenchmarkEcho/conns=1000/peer=gnet-2     100  5000 ns/op  250000 msgs/s  4000 srv-cpu-ns/msg
BenchmarkEcho/conns=1000/peer=gnet-2     100  5000 ns/op  250000 msgs/s  4000 srv-cpu-ns/msg
BenchmarkBroadcast/conns=1000/peer=wsloop-2  10  4000000 ns/op  243000 deliveries/s
BenchmarkBroadcast/conns=1000/peer=gobwas-2  10  4000000 ns/op  261000 deliveries/s
`

const testFanout = `BenchmarkFanout/conns=10000/peer=wsloop-2  10  4000000 ns/op  3000000 deliveries/s
BenchmarkFanout/conns=10000/peer=gnet-2    10  4000000 ns/op  4000000 deliveries/s
`

// testLoadgen writes idle results: wsloop and the limit at 10,000, gws at 19,000, and a failed nbio
// run.
func testLoadgen(t *testing.T) string {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"idle10k-wsloop.json": `{"started": "2026-11-26T00:37:18Z", "pass": true, "memory": {"server_rss_bytes_per_conn": 1923.4816}}`,
		"idle10k-nbio.json":   `{"started": "2026-11-26T00:38:38Z", "pass": false, "memory": {"server_rss_bytes_per_conn": 1432.3712}}`,
		"idle10k-gnet.json":   `{"started": "2026-11-26T00:39:58Z", "pass": true, "memory": {"server_rss_bytes_per_conn": 612}}`,
		"idle19k-gws.json":    `{"started": "2026-11-26T00:40:58Z", "pass": true, "memory": {"server_rss_bytes_per_conn": 11086.79}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestHeadlineCharts(t *testing.T) {
	charts, err := headlineCharts(parse([]byte(testRaw)), "results.txt", testLoadgen(t))
	if err != nil {
		t.Fatal(err)
	}
	// No Handshake results: no upgrades chart. Every peer without a result: no bar.
	want := map[string][][]bar{
		"echo.svg": {
			{{"wsloop", 210000}, {"gorilla", 176000}, {limitPeer, 250000}},
			{{"wsloop", 4700}, {"gorilla", 5900}, {limitPeer, 4000}},
		},
		"broadcast.svg": {{{"wsloop", 243000}, {"gobwas", 261000}}},
		"idle.svg":      {{{"wsloop", 1923.4816}, {limitPeer, 612}}, {{"gws", 11086.79}}},
	}
	var files []string
	for _, c := range charts {
		files = append(files, c.file)
		w, ok := want[c.file]
		if !ok {
			t.Errorf("unexpected chart %s", c.file)
			continue
		}
		if len(c.panels) != len(w) {
			t.Errorf("%s: %d panels, want %d", c.file, len(c.panels), len(w))
			continue
		}
		d := parseSVG(t, c.svg())
		for i, p := range c.panels {
			if !slices.Equal(p.bars, w[i]) {
				t.Errorf("%s panel %d: bars %v, want %v", c.file, i, p.bars, w[i])
			}
			if len(d.panels[i].widths) != len(w[i]) {
				t.Errorf("%s panel %d: %d bars drawn, want %d", c.file, i, len(d.panels[i].widths), len(w[i]))
			}
			for _, b := range w[i] {
				if !slices.ContainsFunc(d.panels[i].texts, func(s string) bool { return strings.HasPrefix(s, p.format(b.value)) }) {
					t.Errorf("%s panel %d: no label with %q in %q", c.file, i, p.format(b.value), d.panels[i].texts)
				}
			}
		}
	}
	if wantFiles := []string{"echo.svg", "broadcast.svg", "idle.svg"}; !slices.Equal(files, wantFiles) {
		t.Errorf("charts %q, want %q", files, wantFiles)
	}
	idle := charts[2]
	if note := strings.Join(idle.notes, " "); !strings.Contains(note, "2026-11-26 00:37 to 00:40 UTC") {
		t.Errorf("idle note %q does not give the runs' times (the failed run's left out)", note)
	}
	texts := parseSVG(t, idle.svg()).texts
	if slices.Contains(texts, "nbio") {
		t.Errorf("the failed nbio run has a bar: %q", texts)
	}
	if !slices.Contains(texts, "limit (minimal gnet server)") || !slices.Contains(texts, "612 B (0.32× wsloop)") {
		t.Errorf("idle texts %q lack the limit's bar and its ratio to wsloop", texts)
	}
}

func TestHeadlineChartsPreferFanout(t *testing.T) {
	charts, err := headlineCharts(parse([]byte(testRaw+testFanout)), "results.txt", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var fan *chart
	for i := range charts {
		if charts[i].file == "broadcast.svg" {
			fan = &charts[i]
		}
	}
	if fan == nil {
		t.Fatal("no broadcast chart")
	}
	if !strings.HasPrefix(fan.title, "Fan-out") || len(fan.panels) != 1 {
		t.Fatalf("chart %q with %d panels, want the fan-out's one panel (10,000 subscribers)", fan.title, len(fan.panels))
	}
	if want := []bar{{"wsloop", 3e6}, {limitPeer, 4e6}}; !slices.Equal(fan.panels[0].bars, want) {
		t.Errorf("bars %v, want %v", fan.panels[0].bars, want)
	}
	if d := parseSVG(t, fan.svg()); !slices.Contains(d.panels[0].texts, "4.00 M (1.33× wsloop)") {
		t.Errorf("texts %q lack the limit's label", d.panels[0].texts)
	}
}

func TestWriteChartsDeterministic(t *testing.T) {
	loadgen := testLoadgen(t)
	write := func() (string, map[string][]byte) {
		charts, err := headlineCharts(parse([]byte(testRaw+testFanout)), "results.txt", loadgen)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		var b strings.Builder
		if err := writeCharts(&b, dir, "charts", charts); err != nil {
			t.Fatal(err)
		}
		files := map[string][]byte{}
		for _, c := range charts {
			data, err := os.ReadFile(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			files[c.file] = data
		}
		return b.String(), files
	}
	md1, files1 := write()
	md2, files2 := write()
	if md1 != md2 {
		t.Errorf("markdown differs between two runs:\n%s\n%s", md1, md2)
	}
	for name, data := range files1 {
		if !bytes.Equal(data, files2[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
	for _, link := range []string{"](charts/echo.svg)", "](charts/broadcast.svg)", "](charts/idle.svg)"} {
		if !strings.Contains(md1, link) {
			t.Errorf("markdown lacks %q:\n%s", link, md1)
		}
	}
	if strings.Contains(md1, "<svg") {
		t.Error("markdown has an inline <svg>, which GitHub does not render")
	}
}

func TestAxis(t *testing.T) {
	for _, tc := range []struct{ max, end, step float64 }{
		{195400, 200000, 50000},
		{21300, 30000, 10000},
		{4, 4, 1},
		{9400, 10000, 2500},
		{0, 1, 0.25},
	} {
		end, step := axis(tc.max)
		if math.Abs(end-tc.end) > 1e-9*tc.end || math.Abs(step-tc.step) > 1e-9*tc.step || end < tc.max {
			t.Errorf("axis(%v) = %v, %v; want %v, %v", tc.max, end, step, tc.end, tc.step)
		}
	}
}

func TestByteCount(t *testing.T) {
	for v, want := range map[float64]string{0: "0 B", 999: "999 B", 1923.48: "1,923 B", 24068.5: "24,069 B", 1e6: "1,000,000 B", -1234: "-1,234 B"} {
		if got := byteCount(v); got != want {
			t.Errorf("byteCount(%v) = %q, want %q", v, got, want)
		}
	}
}
