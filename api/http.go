package api

import (
	"bytes"
	"io"
	"net/http"
	"net/url"

	"github.com/wsloop/wsloop/codec"
)

// ServeHTTP implements engine.Events: a plain HTTP request reached the server's port.
func (e *events) ServeHTTP(req *codec.Request, body, dst []byte) ([]byte, bool) {
	c := (*Conn)(e)
	h := c.server.opts.HTTPHandler
	if h == nil {
		return dst, false
	}
	u, err := url.ParseRequestURI(string(req.Target))
	if err != nil {
		return dst, false
	}
	major, minor, ok := http.ParseHTTPVersion(string(req.Proto))
	if !ok {
		return dst, false
	}
	r := &http.Request{
		Method:        string(req.Method),
		URL:           u,
		Proto:         string(req.Proto),
		ProtoMajor:    major,
		ProtoMinor:    minor,
		Header:        make(http.Header),
		Host:          string(req.Host),
		RemoteAddr:    c.RemoteAddr().String(),
		RequestURI:    string(req.Target),
		Body:          io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)),
		Close:         true,
	}
	for _, f := range req.Headers() {
		r.Header.Add(string(f.Name), string(f.Value))
	}
	r.Header.Del("Host")
	w := &bufferedResponse{header: make(http.Header)}
	h.ServeHTTP(w, r)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.header.Del("Connection")
	w.header.Del("Content-Length")
	w.header.Del("Transfer-Encoding")
	content := w.body.Bytes()
	if r.Method == http.MethodHead {
		content = nil // a response to HEAD carries no content (RFC 9112 section 6.3)
	}
	resp, err := codec.AppendHTTPResponse(dst, w.status, fields(w.header), content)
	if err != nil {
		return dst, false
	}
	return resp, true
}

// bufferedResponse is an http.ResponseWriter that keeps the whole response in memory, to be
// written at once by the loop.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferedResponse) Header() http.Header { return w.header }

func (w *bufferedResponse) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *bufferedResponse) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}
