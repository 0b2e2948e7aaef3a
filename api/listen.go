package api

import (
	"crypto/tls"
	"net"
	"sync"
)

// ListenAndServe listens on the TCP address addr (":8001", "127.0.0.1:0"), serves it as Serve
// does, and blocks until Close or Shutdown is called; then it returns ErrServerClosed, as
// net/http's does. An error from listening (a busy address, say) is returned at once, and
// reported to the error event. It returns once Close or Shutdown has closed the listener, without
// waiting for the connections: Shutdown waits for those, and the close event tells when the last
// one ended.
func (s *Server) ListenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return s.fail(err)
	}
	cl := &closeListener{Listener: ln, closed: make(chan struct{})}
	if err := s.Serve(cl, nil); err != nil {
		return err
	}
	<-cl.closed
	return ErrServerClosed
}

// ListenAndServeTLS is ListenAndServe for TLS: connections speak TLS with the certificate and key
// of the PEM files certFile and keyFile (certFile may hold the chain after the leaf), added to
// ServerOptions.TLSConfig when set. With both names empty, TLSConfig must provide the certificate
// itself. A file that cannot be loaded is an error at once.
func (s *Server) ListenAndServeTLS(addr, certFile, keyFile string) error {
	cfg := &tls.Config{}
	s.mu.Lock()
	if s.opts.TLSConfig != nil {
		cfg = s.opts.TLSConfig.Clone()
	}
	s.mu.Unlock()
	if certFile != "" || keyFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return s.fail(err)
		}
		cfg.Certificates = append(cfg.Certificates, cert)
	}
	s.mu.Lock()
	s.opts.TLSConfig = cfg // read by Serve, under s.mu
	s.mu.Unlock()
	return s.ListenAndServe(addr)
}

// closeListener is a listener that tells when it is closed: the accept loop closes it on Close
// and Shutdown.
type closeListener struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
}

// Close closes the listener and tells ListenAndServe.
func (l *closeListener) Close() error {
	err := l.Listener.Close()
	l.once.Do(func() { close(l.closed) })
	return err
}
