package api

import (
	"bytes"
	"net/http"
	"net/url"

	"github.com/wsloop/wsloop/codec"
)

// ServeHTTP implements engine.Events: a plain HTTP request reached the server's port.
func (e *events) ServeHTTP(req *codec.Request, dst []byte) ([]byte, bool) {
	c := (*Conn)(e)
	h := c.server.opts.HTTPHandler
	if h == nil {
		return dst, false
	}
	u, err := url.ParseRequestURI(string(req.Target))
	if err != nil {
		return dst, false
	}
	r := &http.Request{
		Method:     string(req.Method),
		URL:        u,
		Proto:      string(req.Proto),
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     make(http.Header),
		Host:       string(req.Host),
		RemoteAddr: c.RemoteAddr().String(),
		RequestURI: string(req.Target),
		Body:       http.NoBody,
		Close:      true,
	}
	for _, f := range req.Headers() {
		r.Header.Add(string(f.Name), string(f.Value))
	}
	w := &bufferedResponse{header: make(http.Header)}
	h.ServeHTTP(w, r)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.header.Del("Connection")
	w.header.Del("Content-Length")
	w.header.Del("Transfer-Encoding")
	resp, err := codec.AppendHTTPResponse(dst, w.status, fields(w.header), w.body.Bytes())
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
