package main

// The headline figures as charts: one SVG file per figure (echo, broadcast, idle memory,
// upgrades), each a column of horizontal bar panels with wsloop, the peers and the limit row
// side by side. GitHub renders an SVG file referenced as an image from markdown, not an <svg>
// inline in it, so the files go under bench/charts/ and the generated part of RESULTS.md links
// them. The writer is our own and small: the same input gives the same bytes.

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// peersKind names every peer but wsloop and the limit in the legend.
const peersKind = "peers"

// limitPeer is the peer name of the limit row (bench/internal/limit), charted when a run has it.
const limitPeer = "gnet"

// chartPeers are the bars of every panel, in this order, each one only where it has a result.
var chartPeers = append(slices.Clone(peers), limitPeer)

// chart is one SVG file.
type chart struct {
	file   string   // its name in the charts directory
	title  string   // the figure; also the image's alternative text
	notes  []string // lines under the title: where the numbers come from
	panels []panel
}

// panel is one group of bars on one axis from zero.
type panel struct {
	title  string // what the bars measure and whether higher or lower is better
	format func(float64) string
	bars   []bar
}

// bar is one peer's value in a panel.
type bar struct {
	peer  string
	value float64
}

// headlineCharts builds the charts from the benchmark results r, read from the file named source,
// and the idle runs of cmd/loadgen in loadgenDir (files idle10k-LIB.json and idle19k-LIB.json).
// A panel holds a bar for each peer with a result and none for the others; a chart without bars
// is left out.
func headlineCharts(r *results, source, loadgenDir string) ([]chart, error) {
	runsNote := fmt.Sprintf("median of %s runs (%s)", runs(r), source)
	fan := chart{
		file:  "broadcast.svg",
		title: "Broadcast: one 1 KiB message to every connection",
		notes: []string{"BenchmarkBroadcast, " + runsNote + "; server-side fan-out through each library's broadcast API"},
		panels: []panel{
			benchPanel(r, "Deliveries per second, 1,000 connections (higher is better)", named("Broadcast/conns=1000/peer=%s"), "deliveries/s", rate),
			benchPanel(r, "Deliveries per second, 10,000 connections (higher is better)", named("Broadcast/conns=10000/peer=%s"), "deliveries/s", rate),
		},
	}
	if r.has("Fanout/") {
		fan = chart{
			file:  "broadcast.svg",
			title: "Fan-out: bursts of 200 messages of 128 B, server on one core",
			notes: []string{"BenchmarkFanout, " + runsNote + "; each library's broadcast API, GOMAXPROCS=1"},
			panels: []panel{
				benchPanel(r, "Deliveries per second, 1,000 subscribers (higher is better)", named("Fanout/conns=1000/peer=%s"), "deliveries/s", rate),
				benchPanel(r, "Deliveries per second, 10,000 subscribers (higher is better)", named("Fanout/conns=10000/peer=%s"), "deliveries/s", rate),
			},
		}
	}
	idle, err := idleChart(loadgenDir)
	if err != nil {
		return nil, err
	}
	all := []chart{
		{
			file:  "echo.svg",
			title: "Echo: 1,000 connections, each sending a 1 KiB message and waiting for its echo",
			notes: []string{"BenchmarkEcho/conns=1000, " + runsNote + "; server CPU is the server process's user+system time"},
			panels: []panel{
				benchPanel(r, "Messages per second (higher is better)", named("Echo/conns=1000/peer=%s"), "msgs/s", rate),
				benchPanel(r, "Server CPU per message (lower is better)", named("Echo/conns=1000/peer=%s"), "srv-cpu-ns/msg", dur),
			},
		},
		fan,
		idle,
		{
			file:  "upgrades.svg",
			title: "Upgrades: dial, upgrade, reset from 16 client goroutines",
			notes: []string{"BenchmarkHandshake, " + runsNote + "; server CPU includes accepting and closing the connection"},
			panels: []panel{
				benchPanel(r, "Upgrades per second (higher is better)", named("Handshake/peer=%s"), "upgrades/s", rate),
				benchPanel(r, "Server CPU per upgrade (lower is better)", named("Handshake/peer=%s"), "srv-cpu-ns/upgrade", dur),
			},
		},
	}
	var out []chart
	for _, c := range all {
		c.panels = slices.DeleteFunc(c.panels, func(p panel) bool { return len(p.bars) == 0 })
		if len(c.panels) > 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

// has reports whether r holds a benchmark whose name starts with prefix.
func (r *results) has(prefix string) bool {
	for name := range r.samples {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// benchPanel is a panel of the medians of name's unit.
func benchPanel(r *results, title string, name func(string) string, unit string, format func(float64) string) panel {
	p := panel{title: title, format: format}
	for _, peer := range chartPeers {
		if v, n := r.median(name(peer), unit); n > 0 {
			p.bars = append(p.bars, bar{peer, v})
		}
	}
	return p
}

// idleRun is the part of a cmd/loadgen idle result the chart reads.
type idleRun struct {
	Started time.Time `json:"started"`
	Pass    bool      `json:"pass"`
	Memory  struct {
		RSSPerConn float64 `json:"server_rss_bytes_per_conn"`
	} `json:"memory"`
}

// idleChart reads the idle runs in dir. A missing file, or a run that failed loadgen's checks,
// makes no bar.
func idleChart(dir string) (chart, error) {
	c := chart{file: "idle.svg", title: "Idle memory: the server's RSS growth per connection held"}
	var first, last time.Time
	for _, m := range []struct{ mode, conns string }{{"idle10k", "10,000"}, {"idle19k", "19,000"}} {
		p := panel{title: "RSS bytes per connection, " + m.conns + " connections (lower is better)", format: byteCount}
		for _, peer := range chartPeers {
			data, err := os.ReadFile(filepath.Join(dir, m.mode+"-"+peer+".json"))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return chart{}, err
			}
			var run idleRun
			if err := json.Unmarshal(data, &run); err != nil {
				return chart{}, fmt.Errorf("%s-%s.json: %w", m.mode, peer, err)
			}
			if !run.Pass {
				continue
			}
			p.bars = append(p.bars, bar{peer, run.Memory.RSSPerConn})
			if first.IsZero() || run.Started.Before(first) {
				first = run.Started
			}
			if run.Started.After(last) {
				last = run.Started
			}
		}
		c.panels = append(c.panels, p)
	}
	first, last = first.UTC(), last.UTC()
	end := last.Format("2006-01-02 15:04")
	if first.Format(time.DateOnly) == last.Format(time.DateOnly) {
		end = last.Format("15:04")
	}
	when := first.Format("2006-01-02 15:04") + " to " + end
	c.notes = []string{
		"cmd/loadgen idle runs, one each (bench/loadgen/idle10k-LIB.json, idle19k-LIB.json), " + when + " UTC,",
		"not the run of the other charts; wsloop is cmd/echo, the peers and the limit cmd/peerecho",
	}
	return c, nil
}

// byteCount formats a number of bytes with thousands separators, as the loadgen tables do.
func byteCount(v float64) string {
	digits := strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	var b strings.Builder
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 && digits[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String() + " B"
}

// tickLabel is a value's label on the axis: format's without trailing zeros ("200 k", not
// "200.0 k").
func tickLabel(format func(float64) string, v float64) string {
	s := format(v)
	n, unit, _ := strings.Cut(s, " ")
	if strings.Contains(n, ".") {
		n = strings.TrimRight(strings.TrimRight(n, "0"), ".")
	}
	return strings.TrimSpace(n + " " + unit)
}

// chartLabel is the name of a peer's bar.
func chartLabel(peer string) string {
	if peer == limitPeer {
		return "limit (minimal gnet server)"
	}
	return peer
}

// Bar colours: wsloop stands out, the limit row is grey.
const (
	wsloopFill = "#0969da"
	peerFill   = "#e3a257"
	limitFill  = "#8c959f"
)

func fillOf(peer string) string {
	switch peer {
	case "wsloop":
		return wsloopFill
	case limitPeer:
		return limitFill
	}
	return peerFill
}

// Layout, in pixels.
const (
	chartWidth = 820
	labelRight = 212 // right edge of the bar labels
	barLeft    = 220 // x of zero
	barSpan    = 400 // width of the axis, zero to its maximum; value labels go right of the bars
	rowHeight  = 24
	barHeight  = 16
)

// svg renders c.
func (c chart) svg() []byte {
	var b strings.Builder
	y := 30
	text(&b, 16, y, "start", `font-size="17" font-weight="600"`, c.title)
	for _, n := range c.notes {
		y += 18
		text(&b, 16, y, "start", `font-size="12" fill="#59636e"`, n)
	}
	y += 26
	x := 16
	for _, k := range c.kinds() {
		fmt.Fprintf(&b, `<rect x="%d" y="%d" width="12" height="12" fill="%s"/>`+"\n", x, y-10, fillOf(k))
		text(&b, x+18, y, "start", `font-size="12"`, chartLabel(k))
		x += 18 + 7*len(chartLabel(k)) + 24
	}
	for _, p := range c.panels {
		y = p.svg(&b, y+34)
	}
	height := y + 16

	var out strings.Builder
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="-apple-system, BlinkMacSystemFont, 'Segoe UI', Helvetica, Arial, sans-serif" fill="#1f2328">`+"\n",
		chartWidth, height, chartWidth, height)
	out.WriteString("<title>" + escape(c.title) + "</title>\n")
	// A white card, so that the dark text reads in GitHub's dark theme too.
	fmt.Fprintf(&out, `<rect class="background" x="0" y="0" width="%d" height="%d" rx="6" fill="#ffffff" stroke="#d0d7de"/>`+"\n", chartWidth, height)
	out.WriteString(b.String())
	out.WriteString("</svg>\n")
	return []byte(out.String())
}

// kinds are the legend's entries, those of wsloop, peersKind and limitPeer that the chart has.
func (c chart) kinds() []string {
	var have []string
	for _, p := range c.panels {
		for _, br := range p.bars {
			k := br.peer
			if k != "wsloop" && k != limitPeer {
				k = peersKind
			}
			if !slices.Contains(have, k) {
				have = append(have, k)
			}
		}
	}
	var out []string
	for _, k := range []string{"wsloop", peersKind, limitPeer} {
		if slices.Contains(have, k) {
			out = append(out, k)
		}
	}
	return out
}

// svg writes the panel with its title's baseline at y and returns the y of its last line.
func (p panel) svg(b *strings.Builder, y int) int {
	b.WriteString(`<g class="panel">` + "\n")
	text(b, 16, y, "start", `class="panel-title" font-size="14" font-weight="600"`, p.title)
	top := y + 10
	bottom := top + rowHeight*len(p.bars)
	maxV, base, haveBase := 0.0, 0.0, false
	for _, br := range p.bars {
		maxV = math.Max(maxV, br.value)
		if br.peer == "wsloop" {
			base, haveBase = br.value, true
		}
	}
	end, step := axis(maxV)
	ticks := int(math.Round(end / step))
	for i := 0; i <= ticks; i++ {
		x := barLeft + float64(barSpan)*float64(i)/float64(ticks)
		stroke := "#d8dee4"
		if i == 0 {
			stroke = "#59636e"
		}
		fmt.Fprintf(b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="%s"/>`+"\n", num(x), top, num(x), bottom, stroke)
		label := "0"
		if i > 0 {
			label = tickLabel(p.format, float64(i)*step)
		}
		text(b, int(math.Round(x)), bottom+14, "middle", `font-size="11" fill="#59636e"`, label)
	}
	for i, br := range p.bars {
		ry := top + rowHeight*i
		weight := ""
		if br.peer == "wsloop" {
			weight = ` font-weight="600"`
		}
		text(b, labelRight, ry+rowHeight/2+4, "end", `font-size="13"`+weight, chartLabel(br.peer))
		w := float64(barSpan) * br.value / end
		fmt.Fprintf(b, `<rect class="bar" x="%d" y="%d" width="%s" height="%d" fill="%s"/>`+"\n",
			barLeft, ry+(rowHeight-barHeight)/2, num(w), barHeight, fillOf(br.peer))
		label := p.format(br.value)
		if br.peer != "wsloop" && haveBase {
			label += " (" + ratio(br.value, base) + "× wsloop)"
		}
		text(b, int(math.Round(barLeft+w))+6, ry+rowHeight/2+4, "start", `class="value" font-size="12"`+weight, label)
	}
	b.WriteString("</g>\n")
	return bottom + 14
}

// axis returns the end of an axis from zero that holds maxV, a whole number of steps of 1, 2,
// 2.5 or 5 times a power of ten, at most four of them.
func axis(maxV float64) (end, step float64) {
	if !(maxV > 0) || math.IsInf(maxV, 0) {
		return 1, 0.25
	}
	want := maxV / 4
	mag := math.Pow(10, math.Floor(math.Log10(want)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if step = m * mag; step >= want {
			break
		}
	}
	return math.Ceil(maxV/step-1e-9) * step, step
}

// text writes a <text> element with s escaped; attrs are constant attributes.
func text(b *strings.Builder, x, y int, anchor, attrs, s string) {
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="%s" %s>%s</text>`+"\n", x, y, anchor, attrs, escape(s))
}

func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s)) // a strings.Builder does not fail
	return b.String()
}

// num formats a coordinate with two decimals, the same on every machine.
func num(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

// writeCharts writes the charts into dir and their section of RESULTS.md into b, linking them by
// link, the path of dir relative to RESULTS.md.
func writeCharts(b *strings.Builder, dir, link string, charts []chart) error {
	if len(charts) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	b.WriteString("## At a glance\n\n")
	b.WriteString("wsloop in blue, the peers in amber, the limit row (`internal/limit`: a minimal WebSocket server on gnet, " +
		"no more protocol work than the figure needs) in grey where the run has it. Each bar is labelled with its value and, " +
		"for the others, its ratio to wsloop's (`0.90× wsloop`: nine tenths of wsloop's value; note the tables below give wsloop ÷ peer). " +
		"Drawn by `internal/report` into `" + filepath.ToSlash(link) + "/`: the benchmark charts from the tables below, " +
		"the idle memory chart from the JSON of the loadgen runs (section \"loadgen runs\").\n\n")
	for _, c := range charts {
		if err := os.WriteFile(filepath.Join(dir, c.file), c.svg(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(b, "![%s](%s)\n\n", strings.NewReplacer("[", "(", "]", ")").Replace(c.title), filepath.ToSlash(filepath.Join(link, c.file)))
	}
	return nil
}
