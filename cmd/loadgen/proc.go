package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
)

// memSample is a process's memory at one moment; zero fields were not measured.
type memSample struct {
	RSS         uint64 `json:"rss,omitempty"`   // resident set, from /proc/PID/status
	Heap        uint64 `json:"heap,omitempty"`  // Go heap in use
	Stack       uint64 `json:"stack,omitempty"` // goroutine stacks in use
	Goroutines  int    `json:"goroutines,omitempty"`
	Connections int    `json:"connections,omitempty"`
}

// readRSS returns the resident set size of process pid ("self" for this one).
func readRSS(pid string) (uint64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmRSS:")); ok {
			f := bytes.Fields(rest)
			if len(f) < 1 {
				break
			}
			kb, err := strconv.ParseUint(string(f[0]), 10, 64)
			if err != nil {
				return 0, err
			}
			return kb * 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%s/status", pid)
}

// statsURL returns the URL of the server's stats, "" for none.
func (r *runner) statsURL() string {
	switch r.cfg.statsURL {
	case "", "off":
		return ""
	case "auto":
		u, err := url.Parse(r.cfg.urls[0])
		if err != nil {
			return ""
		}
		scheme := "http"
		if u.Scheme == "wss" {
			scheme = "https"
		}
		return r.withGC(scheme + "://" + u.Host + "/stats")
	}
	return r.withGC(r.cfg.statsURL)
}

// withGC adds gc=1 to the stats URL u under -gc: the server then collects garbage before it
// answers, and the heap figures count what is live.
func (r *runner) withGC(u string) string {
	if !r.cfg.gc {
		return u
	}
	if strings.Contains(u, "?") {
		return u + "&gc=1"
	}
	return u + "?gc=1"
}

// fetchStats reads the echo server's GET /stats.
func fetchStats(client *http.Client, u string) (memSample, error) {
	resp, err := client.Get(u)
	if err != nil {
		return memSample{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return memSample{}, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	var s struct {
		Heap        uint64 `json:"heap_bytes"`
		Stack       uint64 `json:"stack_bytes"`
		Goroutines  int    `json:"goroutines"`
		Connections int    `json:"connections"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		return memSample{}, fmt.Errorf("GET %s: %v", u, err)
	}
	return memSample{Heap: s.Heap, Stack: s.Stack, Goroutines: s.Goroutines, Connections: s.Connections}, nil
}

// serverMem samples the server: RSS with -server-pid, heap from its stats URL. Failures are
// noted once and leave the fields zero.
func (r *runner) serverMem(notes *[]string) memSample {
	var m memSample
	if r.cfg.serverPID > 0 {
		rss, err := readRSS(strconv.Itoa(r.cfg.serverPID))
		if err != nil {
			r.noteOnce(notes, "server RSS: "+err.Error())
		}
		m.RSS = rss
	}
	if u := r.statsURL(); u != "" {
		s, err := fetchStats(r.http, u)
		if err != nil {
			r.noteOnce(notes, "server stats: "+err.Error())
		}
		m.Heap, m.Stack, m.Goroutines, m.Connections = s.Heap, s.Stack, s.Goroutines, s.Connections
	}
	return m
}

func (r *runner) noteOnce(notes *[]string, n string) {
	if notes == nil {
		return
	}
	for _, have := range *notes {
		if have == n {
			return
		}
	}
	*notes = append(*notes, n)
}

// clientMem samples loadgen itself, after a collection.
func clientMem() memSample {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	rss, _ := readRSS("self")
	return memSample{RSS: rss, Heap: ms.HeapInuse, Stack: ms.StackInuse, Goroutines: runtime.NumGoroutine()}
}
