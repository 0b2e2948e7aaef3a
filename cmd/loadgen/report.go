package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// Result is the outcome of a run, printed as a summary and written with -json. Latencies are in
// microseconds, sizes in bytes, rates per second; MB is 10^6 bytes.
type Result struct {
	Mode      string           `json:"mode"`
	Args      []string         `json:"args"`
	URL       string           `json:"url"`
	URLs      []string         `json:"urls,omitempty"` // every node's, when -url names several
	Started   time.Time        `json:"started"`
	ElapsedS  float64          `json:"elapsed_s"`
	WindowS   float64          `json:"window_s"` // the measured part of the run
	Conns     ConnResult       `json:"connections"`
	Messages  *MessageResult   `json:"messages,omitempty"`
	Latency   *LatencyResult   `json:"latency_us,omitempty"`
	Handshake *HandshakeResult `json:"handshake,omitempty"`
	Broadcast *BroadcastResult `json:"broadcast,omitempty"`
	Memory    *MemoryResult    `json:"memory,omitempty"`
	Verify    VerifyResult     `json:"verification"`
	Errors    map[string]int64 `json:"errors"`
	Intervals []IntervalResult `json:"intervals,omitempty"`
	Failures  []string         `json:"failures"`
	Pass      bool             `json:"pass"`
	Notes     []string         `json:"notes,omitempty"`
}

// ConnResult counts connections.
type ConnResult struct {
	Requested  int64 `json:"requested"`
	Opened     int64 `json:"opened"`
	Failed     int64 `json:"failed"`
	Lost       int64 `json:"lost"`
	Reconnects int64 `json:"reconnects,omitempty"`
	Sources    int   `json:"sources,omitempty"`
}

// MessageResult counts messages; PerS and MBPerS are of the messages received (echoes or
// deliveries) during the measured window.
type MessageResult struct {
	Size          int     `json:"size"`
	Binary        bool    `json:"binary"`
	InFlight      int     `json:"in_flight,omitempty"`
	Sent          int64   `json:"sent"`
	Received      int64   `json:"received"`
	BytesSent     int64   `json:"bytes_sent"`
	BytesReceived int64   `json:"bytes_received"`
	PerS          float64 `json:"per_s"`
	MBPerS        float64 `json:"mb_per_s"`
}

// LatencyResult holds percentiles in microseconds.
type LatencyResult struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p99_9"`
	Max   float64 `json:"max"`
}

// HandshakeResult is the handshake mode's figure.
type HandshakeResult struct {
	Upgrades int64         `json:"upgrades"`
	PerS     float64       `json:"upgrades_per_s"`
	Latency  LatencyResult `json:"latency_us"`
}

// BroadcastResult is the broadcast mode's figures.
type BroadcastResult struct {
	Subscribers  int     `json:"subscribers"`
	Messages     int64   `json:"messages"`
	Deliveries   int64   `json:"deliveries"`
	Expected     int64   `json:"expected"`
	PerS         float64 `json:"deliveries_per_s"`
	CompletionMs float64 `json:"completion_ms"`   // first publish to the last delivery
	LastMsgMs    float64 `json:"last_message_ms"` // last message sent to its last delivery
	PublisherGot int64   `json:"publisher_copies"`
	// Latency of the deliveries (soak; the broadcast mode reports it as the run's latency).
	Latency *LatencyResult `json:"latency_us,omitempty"`
	// Each node's share (the broadcast mode), in the order of -url.
	Nodes []NodeResult `json:"nodes,omitempty"`
}

// MemoryResult is the idle mode's memory per connection.
type MemoryResult struct {
	Connections        int64     `json:"connections"`
	ServerBefore       memSample `json:"server_before"`
	ServerOpen         memSample `json:"server_open"`
	ServerAfter        memSample `json:"server_after_hold"`
	ServerRSSPerConn   float64   `json:"server_rss_bytes_per_conn,omitempty"`
	ServerHeapPerConn  float64   `json:"server_heap_bytes_per_conn,omitempty"`
	ClientBefore       memSample `json:"client_before"`
	ClientOpen         memSample `json:"client_open"`
	ClientRSSPerConn   float64   `json:"client_rss_bytes_per_conn"`
	ClientHeapPerConn  float64   `json:"client_heap_bytes_per_conn"`
	ServerGoroutines   int       `json:"server_goroutines,omitempty"`
	ServerConnsCounted int       `json:"server_connections,omitempty"`
}

// VerifyResult counts what the payload checks found.
type VerifyResult struct {
	Corrupted       int64            `json:"corrupted"`
	Faults          map[string]int64 `json:"faults,omitempty"`
	Lost            int64            `json:"lost"`
	Duplicated      int64            `json:"duplicated"`
	Reordered       int64            `json:"reordered"`
	DroppedWithConn int64            `json:"dropped_with_connection"`
}

// IntervalResult is one line of soak's report.
type IntervalResult struct {
	AtS          float64       `json:"at_s"`
	EchoPerS     float64       `json:"echo_per_s"`
	Latency      LatencyResult `json:"latency_us"`
	DeliveriesPS float64       `json:"deliveries_per_s"`
	UpgradesPS   float64       `json:"upgrades_per_s"`
	ConnsUp      int64         `json:"connections_up"`
	Lost         int64         `json:"connections_lost"`
	Reconnects   int64         `json:"reconnects"`
	Errors       int64         `json:"errors"`
	Corrupted    int64         `json:"corrupted"`
	ServerRSS    uint64        `json:"server_rss,omitempty"`
	ServerHeap   uint64        `json:"server_heap,omitempty"`
}

func latencyOf(s *Snapshot) LatencyResult {
	us := func(ns uint64) float64 { return float64(ns) / 1e3 }
	return LatencyResult{
		Count: s.Count,
		Mean:  s.Mean() / 1e3,
		P50:   us(s.Percentile(0.50)),
		P90:   us(s.Percentile(0.90)),
		P99:   us(s.Percentile(0.99)),
		P999:  us(s.Percentile(0.999)),
		Max:   us(s.Max),
	}
}

// newResult starts the result of a run.
func (r *runner) newResult() *Result {
	res := &Result{
		Mode:    r.cfg.mode,
		Args:    r.args,
		URL:     r.cfg.urls[0] + r.cfg.path,
		Started: r.start,
		Conns:   ConnResult{Requested: int64(r.cfg.conns), Sources: len(r.sources)},
	}
	if len(r.cfg.urls) > 1 {
		for _, u := range r.cfg.urls {
			res.URLs = append(res.URLs, u+r.cfg.path)
		}
	}
	return res
}

// messages fills the message figures over a window with the given counts.
func (r *runner) messages(received, bytes int64, window time.Duration) *MessageResult {
	m := &MessageResult{
		Size:          r.cfg.size,
		Binary:        r.cfg.binary,
		Sent:          r.st.sent.Load(),
		Received:      r.st.received.Load(),
		BytesSent:     r.st.bytesSent.Load(),
		BytesReceived: r.st.bytesRecv.Load(),
	}
	if s := window.Seconds(); s > 0 {
		m.PerS = float64(received) / s
		m.MBPerS = float64(bytes) / s / 1e6
	}
	return m
}

// finish fills what every mode reports, and decides pass or fail.
func (r *runner) finish(res *Result) {
	res.ElapsedS = time.Since(r.start).Seconds()
	res.Conns.Opened = r.st.connOpened.Load()
	res.Conns.Failed = r.st.connFailed.Load()
	res.Conns.Lost = r.st.connLost.Load()
	res.Conns.Reconnects = r.st.reconnects.Load()
	res.Verify = VerifyResult{
		Corrupted:       r.st.corrupted.Load(),
		Faults:          r.st.faultTable(),
		Lost:            r.st.lost.Load(),
		Duplicated:      r.st.duplicated.Load(),
		Reordered:       r.st.reordered.Load(),
		DroppedWithConn: r.st.droppedWithConn.Load(),
	}
	res.Errors = r.st.errorTable()
	v := res.Verify
	fail := func(n int64, what string) {
		if n > 0 {
			res.Failures = append(res.Failures, fmt.Sprintf("%d %s", n, what))
		}
	}
	fail(v.Corrupted, "corrupted payloads")
	fail(v.Lost, "lost messages")
	fail(v.Duplicated, "duplicated messages")
	fail(v.Reordered, "reordered messages")
	fail(res.Conns.Lost, "connections lost")
	fail(res.Conns.Failed, "connections failed to open")
	if res.Broadcast != nil {
		res.Failures = append(res.Failures, nodeFailures(res.Broadcast.Nodes)...)
	}
	if res.Conns.Opened == 0 {
		res.Failures = append(res.Failures, "no connection opened")
	}
	res.Pass = len(res.Failures) == 0
	if res.Failures == nil {
		res.Failures = []string{}
	}
}

func (res *Result) writeJSON(path string) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// fmtUS formats microseconds.
func fmtUS(us float64) string {
	switch {
	case us >= 1e6:
		return fmt.Sprintf("%.2fs", us/1e6)
	case us >= 1e3:
		return fmt.Sprintf("%.2fms", us/1e3)
	default:
		return fmt.Sprintf("%.0fµs", us)
	}
}

func fmtBytes(b float64) string {
	switch {
	case b >= 1<<30 || b <= -(1<<30):
		return fmt.Sprintf("%.2f GiB", b/(1<<30))
	case b >= 1<<20 || b <= -(1<<20):
		return fmt.Sprintf("%.1f MiB", b/(1<<20))
	case b >= 1<<10 || b <= -(1<<10):
		return fmt.Sprintf("%.1f KiB", b/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", b)
	}
}

func (l LatencyResult) String() string {
	if l.Count == 0 {
		return "no samples"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (mean %s, %d samples)",
		fmtUS(l.P50), fmtUS(l.P90), fmtUS(l.P99), fmtUS(l.P999), fmtUS(l.Max), fmtUS(l.Mean), l.Count)
}

// print writes the summary.
func (res *Result) print(w io.Writer) {
	line := func(label, format string, args ...any) {
		fmt.Fprintf(w, "%-13s%s\n", label, fmt.Sprintf(format, args...))
	}
	target := res.URL
	if len(res.URLs) > 1 {
		target = strings.Join(res.URLs, " ")
	}
	fmt.Fprintf(w, "loadgen %s  %s  (%.1fs measured, %.1fs in all)\n", res.Mode, target, res.WindowS, res.ElapsedS)
	c := res.Conns
	src := ""
	if c.Sources > 0 {
		src = fmt.Sprintf(" from %d source addresses", c.Sources)
	}
	reconn := ""
	if c.Reconnects > 0 || res.Mode == "soak" {
		reconn = fmt.Sprintf("  reconnects %d", c.Reconnects)
	}
	line("connections", "opened %d of %d%s  failed %d  lost %d%s", c.Opened, c.Requested, src, c.Failed, c.Lost, reconn)
	if m := res.Messages; m != nil {
		kind := "text"
		if m.Binary {
			kind = "binary"
		}
		rates := ""
		if m.PerS > 0 {
			rates = fmt.Sprintf(": %.0f msgs/s, %.2f MB/s", m.PerS, m.MBPerS)
		}
		line("messages", "%d B %s, sent %d, received %d%s", m.Size, kind, m.Sent, m.Received, rates)
	}
	if l := res.Latency; l != nil {
		line("latency", "%s", l)
	}
	if b := res.Broadcast; b != nil {
		line("broadcast", "%d subscribers x %d messages: %d of %d delivered, %.0f deliveries/s", b.Subscribers, b.Messages, b.Deliveries, b.Expected, b.PerS)
		if b.CompletionMs > 0 {
			line("", "first publish to last delivery %.1f ms; last message to its last delivery %.1f ms", b.CompletionMs, b.LastMsgMs)
		}
		if b.Latency != nil {
			line("", "delivery latency: %s", b.Latency)
		}
		printNodes(w, b.Nodes)
	}
	if h := res.Handshake; h != nil {
		line("handshakes", "%d upgrades: %.0f upgrades/s", h.Upgrades, h.PerS)
		line("", "dial to 101: %s", h.Latency)
	}
	if m := res.Memory; m != nil {
		if m.ServerAfter.RSS > 0 {
			line("server RSS", "%s before, %s open, %s after the hold: %.0f bytes per connection",
				fmtBytes(float64(m.ServerBefore.RSS)), fmtBytes(float64(m.ServerOpen.RSS)), fmtBytes(float64(m.ServerAfter.RSS)), m.ServerRSSPerConn)
		}
		if m.ServerAfter.Heap > 0 {
			line("server heap", "%s before, %s open, %s after the hold (heap+stacks): %.0f bytes per connection",
				fmtBytes(float64(m.ServerBefore.Heap+m.ServerBefore.Stack)), fmtBytes(float64(m.ServerOpen.Heap+m.ServerOpen.Stack)),
				fmtBytes(float64(m.ServerAfter.Heap+m.ServerAfter.Stack)), m.ServerHeapPerConn)
			line("", "%d goroutines, %d connections counted by the server", m.ServerGoroutines, m.ServerConnsCounted)
		}
		line("client", "RSS %.0f bytes, heap+stacks %.0f bytes per connection (loadgen itself)", m.ClientRSSPerConn, m.ClientHeapPerConn)
	}
	v := res.Verify
	faults := ""
	if len(v.Faults) > 0 {
		var parts []string
		for _, k := range sortedKeys(v.Faults) {
			parts = append(parts, fmt.Sprintf("%s %d", k, v.Faults[k]))
		}
		faults = " (" + strings.Join(parts, ", ") + ")"
	}
	line("verification", "corrupted %d%s  lost %d  duplicated %d  reordered %d  dropped with a lost connection %d",
		v.Corrupted, faults, v.Lost, v.Duplicated, v.Reordered, v.DroppedWithConn)
	if len(res.Errors) == 0 {
		line("errors", "none")
	} else {
		for i, k := range sortedKeys(res.Errors) {
			label := ""
			if i == 0 {
				label = "errors"
			}
			line(label, "%d  %s", res.Errors[k], k)
		}
	}
	for _, n := range res.Notes {
		line("note", "%s", n)
	}
	if res.Pass {
		line("result", "PASS")
	} else {
		line("result", "FAIL: %s", strings.Join(res.Failures, ", "))
	}
}
