package main

import (
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// -report DIR: a report a person can browse, as Autobahn's: index.html lists every case with its
// verdict and the totals per section, and cases/ID.html shows, for each case, its verdict with
// the reason and what went both ways, frame by frame. Static HTML, no script.

// frameRec is one frame of a case, as the report shows it.
type frameRec struct {
	Sent    bool // by the tool; else received from the peer
	Fin     bool
	RSV     uint8
	Op      byte
	Length  int
	Excerpt string // the start of the payload, bounded (as preview shows it)
	At      time.Duration
	Summary string // set on a last line standing for the frames left out, instead of a frame
}

// Direction names who sent the frame.
func (f frameRec) Direction() string {
	if f.Sent {
		return "sent"
	}
	return "received"
}

// Opcode names the frame's opcode.
func (f frameRec) Opcode() string { return opName(f.Op) }

// Millis is when the frame went or came, from the start of the case.
func (f frameRec) Millis() string { return ms(f.At) }

// maxFrameRecs bounds the frames a case keeps for the report.
const maxFrameRecs = 80

// frameLog records the first frames of a case and counts them all.
type frameLog struct {
	recs  []frameRec
	total int
}

func (l *frameLog) add(sent, fin bool, rsv uint8, op byte, n int, p []byte, at time.Duration) {
	l.total++
	if len(l.recs) < maxFrameRecs {
		l.recs = append(l.recs, frameRec{Sent: sent, Fin: fin, RSV: rsv, Op: op, Length: n, Excerpt: preview(p), At: at})
	}
}

// list returns the frames kept, with a last line saying how many were left out.
func (l *frameLog) list() []frameRec {
	if l.total > len(l.recs) {
		return append(l.recs, frameRec{Summary: fmt.Sprintf("... %d frames in all, the first %d shown", l.total, len(l.recs))})
	}
	return l.recs
}

// casePage is the file name of a case's page, under cases/.
func casePage(id string) string { return "cases/" + strings.ReplaceAll(id, "/", "_") + ".html" }

var reportFuncs = template.FuncMap{
	"page":  casePage,
	"class": func(o Outcome) string { return strings.ToLower(strings.ReplaceAll(string(o), "-", "")) },
}

const reportStyle = `<style>
body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
.ok{background:#cfc}.nonstrict{background:#ffc}.informational{background:#cef}.failed{background:#fcc}code,pre{font-size:90%}
td.num{text-align:right}.sent{color:#036}.received{color:#630}
</style>`

var indexTemplate = template.Must(template.New("index").Funcs(reportFuncs).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>wsconform {{.Mode}} {{.Agent}}</title>` + reportStyle + `</head><body>
<h1>wsconform {{.Mode}} report: {{.Agent}}</h1>
<p>Target {{.Target}}, started {{.Started.Format "2006-01-02 15:04:05 UTC"}}, {{len .Cases}} cases in {{.DurationMS}} ms.</p>
<h2>Sections</h2>
<table><tr><th>section</th><th>cases</th><th>OK</th><th>NON-STRICT</th><th>INFORMATIONAL</th><th>FAILED</th></tr>
{{range .Summary}}<tr><td>{{.Section}}</td><td class="num">{{.Cases}}</td><td class="num">{{.OK}}</td><td class="num">{{.NonStrict}}</td><td class="num">{{.Informational}}</td><td class="num">{{.Failed}}</td></tr>
{{end}}</table>
<h2>Cases</h2>
<table><tr><th>case</th><th>verdict</th><th>ms</th><th>description</th><th>reason</th></tr>
{{range .Cases}}<tr><td><a href="{{page .ID}}">{{.ID}}</a></td><td class="{{class .Outcome}}">{{.Outcome}}</td><td class="num">{{.Millis}}</td><td>{{.Description}}</td><td>{{.Reason}}</td></tr>
{{end}}</table>
</body></html>
`))

var caseTemplate = template.Must(template.New("case").Funcs(reportFuncs).Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>wsconform case {{.ID}}</title>` + reportStyle + `</head><body>
<p><a href="../index.html">all cases</a></p>
<h1>Case {{.ID}}: <span class="{{class .Outcome}}">{{.Outcome}}</span></h1>
<p>{{.Description}}{{if not .Autobahn}} (no Autobahn counterpart){{end}}</p>
<table>
<tr><th>reason</th><td>{{if .Reason}}{{.Reason}}{{else}}none: the expected behaviour{{end}}</td></tr>
<tr><th>expected</th><td>{{.Expected}}</td></tr>
<tr><th>peer's close code</th><td>{{.CloseCode}}</td></tr>
<tr><th>duration</th><td>{{.Millis}} ms</td></tr>
{{range .Notes}}<tr><th>note</th><td>{{.}}</td></tr>
{{end}}</table>
<h2>Sent</h2>
<ul>{{range .Sent}}<li><code>{{.}}</code></li>{{end}}</ul>
<h2>Received</h2>
<ul>{{range .Got}}<li><code>{{.}}</code></li>{{end}}</ul>
<h2>Frames</h2>
{{if .Frames}}<table><tr><th>at</th><th>way</th><th>opcode</th><th>FIN</th><th>RSV</th><th>length</th><th>payload</th></tr>
{{range .Frames}}{{if .Summary}}<tr><td colspan="7">{{.Summary}}</td></tr>
{{else}}<tr class="{{.Direction}}"><td class="num">{{.Millis}}</td><td>{{.Direction}}</td><td>{{.Opcode}}</td><td>{{if .Fin}}1{{else}}0{{end}}</td><td>{{.RSV}}</td><td class="num">{{.Length}}</td><td><code>{{.Excerpt}}</code></td></tr>
{{end}}{{end}}</table>{{else}}<p>No frame (a handshake case, or the connection never opened).</p>{{end}}
</body></html>
`))

// writeHTML writes the browsable report into dir (created if need be).
func (r *Report) writeHTML(dir string) error {
	if err := os.MkdirAll(filepath.Join(dir, "cases"), 0o755); err != nil {
		return err
	}
	write := func(name string, t *template.Template, data any) error {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if err := t.Execute(f, data); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := write("index.html", indexTemplate, r); err != nil {
		return err
	}
	for i := range r.Cases {
		if err := write(casePage(r.Cases[i].ID), caseTemplate, &r.Cases[i]); err != nil {
			return err
		}
	}
	return nil
}
