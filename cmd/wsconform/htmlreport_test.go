package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestHTMLReport runs a few cases against cmd/echo with -report and reads the pages back: the
// index lists every case with its verdict and links to its page, the totals are there, and each
// page shows the verdict, the reason and the frames both ways.
func TestHTMLReport(t *testing.T) {
	url := startEcho(t, 1<<20)
	dir := filepath.Join(t.TempDir(), "report")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"server", "-q", "-cases", "1.1.2,2.2,12.1.1,H.7", "-report", dir, url}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	index, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"1.1.2": "OK", "2.2": "OK", "12.1.1": "NON-STRICT", "H.7": "OK"}
	rows := regexp.MustCompile(`<a href="(cases/[^"]+)">([^<]+)</a></td><td class="[a-z]+">([A-Z-]+)</td>`).FindAllSubmatch(index, -1)
	if len(rows) != len(want) {
		t.Fatalf("%d case rows in index.html, want %d\n%s", len(rows), len(want), index)
	}
	for _, r := range rows {
		page, id, verdict := string(r[1]), string(r[2]), string(r[3])
		if want[id] != verdict {
			t.Errorf("index.html: %s %s, want %q", id, verdict, want[id])
		}
		body, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil {
			t.Errorf("%s: %v", id, err)
			continue
		}
		if !bytes.Contains(body, []byte("Case "+id+": <span class=")) || !bytes.Contains(body, []byte(">"+verdict+"</span>")) {
			t.Errorf("%s: the page does not give the verdict %s", id, verdict)
		}
		switch id {
		case "1.1.2":
			// 125 asterisks out, the same back, then the closing handshake.
			for _, row := range []string{`<td>sent</td><td>text</td><td>1</td><td>0</td><td class="num">125</td>`,
				`<td>received</td><td>text</td><td>1</td><td>0</td><td class="num">125</td>`, `<td>received</td><td>close</td>`} {
				if !strings.Contains(string(body), row) {
					t.Errorf("%s: no frame row %q", id, row)
				}
			}
		case "12.1.1":
			if !strings.Contains(string(body), "permessage-deflate declined") {
				t.Errorf("%s: the page does not give the reason", id)
			}
		case "H.7":
			if !strings.Contains(string(body), "No frame") {
				t.Errorf("%s: a handshake case shows frames", id)
			}
		}
		if bytes.Contains(body, []byte("<script")) {
			t.Errorf("%s: the page has a script", id)
		}
	}
	total := regexp.MustCompile(`<tr><td>total</td><td class="num">4</td><td class="num">3</td><td class="num">1</td><td class="num">0</td><td class="num">0</td></tr>`)
	if !total.Match(index) {
		t.Errorf("index.html has no total row of 4 cases, 3 OK and 1 NON-STRICT\n%s", index)
	}
}
