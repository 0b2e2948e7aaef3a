package bench

// BenchmarkEchoPipelined: large frames with many in flight, the case where a server parses
// several frames per read and can write them all back at once. A few connections each keep
// pipelineDepth binary messages of pipelineSize bytes in flight: a writer goroutine sends a
// message whenever fewer than pipelineDepth are unanswered, a reader goroutine reads and checks
// every echo. b.N messages in all, shared out evenly. The reader always reads, so a server that
// blocks on its writes (a goroutine per connection) cannot deadlock against the client. The server
// runs on one core (GOMAXPROCS=1), as in the fan-out.

import (
	"bytes"
	"fmt"
	"sync"
	"testing"
)

const (
	pipelineSize  = 16 << 10
	pipelineDepth = 8
	pipelineConns = 4
)

// pipelinePeers are the rows of the pipelined echo: the limit row and the peers the issue names.
var pipelinePeers = []string{"wsloop", "gnet", "gobwas", "gorilla", "gws"}

func BenchmarkEchoPipelined(b *testing.B) {
	for _, name := range pipelinePeers {
		var env *e2eEnv
		b.Run(fmt.Sprintf("size=%s/depth=%d/conns=%d/peer=%s", sizeName(pipelineSize), pipelineDepth, pipelineConns, name), func(b *testing.B) {
			if env == nil {
				env = setupEnvWith(b, name, pipelineConns, "GOMAXPROCS=1")
				frame := appendFrame(nil, opBinary, payloadOf(pipelineSize), true, benchKey)
				for _, c := range env.clients {
					c.frame = frame
				}
			}
			runPipelined(b, env)
		})
		if env != nil {
			if err := env.close(); err != nil {
				b.Error(err)
			}
		}
	}
}

func runPipelined(b *testing.B, env *e2eEnv) {
	want := payloadOf(pipelineSize)
	runEchoes(b, env, pipelineSize, func(c *rawClient, count int, start <-chan struct{}, wg *sync.WaitGroup, errs chan<- error) {
		window := make(chan struct{}, pipelineDepth)
		failed := make(chan struct{})
		wg.Go(func() {
			<-start
			for range count {
				select {
				case window <- struct{}{}:
				case <-failed:
					return
				}
				if _, err := c.nc.Write(c.frame); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() {
			<-start
			if err := c.pipelinedEchoes(count, want, window); err != nil {
				errs <- err
				close(failed)
			}
		})
	})
}

// pipelinedEchoes reads n echoes, checks each byte for byte and frees a place in window for each.
func (c *rawClient) pipelinedEchoes(n int, want []byte, window chan struct{}) error {
	for range n {
		op, p, err := c.fr.next()
		if err != nil {
			return err
		}
		if op != opBinary || !bytes.Equal(p, want) {
			return fmt.Errorf("pipelined echo: got opcode %d and %d bytes, want a binary message of %d bytes", op, len(p), len(want))
		}
		<-window
	}
	return nil
}
