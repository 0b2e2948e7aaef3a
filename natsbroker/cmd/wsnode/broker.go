package main

import (
	"fmt"
	"strings"

	"github.com/wsloop/wsloop/natsbroker"
)

// brokerConfig is what the NATS flags ask for.
type brokerConfig struct {
	nats                    string // "embedded" or the URLs of an external cluster
	listen, cluster, routes string // the embedded server's listeners and routes
	node                    string
	serverFlags             []string // the embedded server's flags given on the command line
}

// open starts the broker: an embedded NATS server (clustered when cluster is set) or a client of
// the external cluster's URLs.
func (c brokerConfig) open() (*natsbroker.Broker, error) {
	o := natsbroker.Options{Node: c.node}
	if c.nats != "embedded" {
		if len(c.serverFlags) > 0 {
			return nil, fmt.Errorf("%s: only with -nats embedded", strings.Join(c.serverFlags, ", "))
		}
		for _, u := range splitList(c.nats) {
			if !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
				return nil, fmt.Errorf("-nats: %q is neither embedded nor a nats:// URL", u)
			}
			o.URLs = append(o.URLs, u)
		}
		return natsbroker.Connect(o)
	}
	so := natsbroker.ServerOptions{Listen: c.listen, Cluster: c.cluster, Name: c.node}
	for _, r := range splitList(c.routes) {
		if !strings.Contains(r, "://") {
			r = "nats-route://" + r
		}
		so.Routes = append(so.Routes, r)
	}
	return natsbroker.Embedded(so, o)
}
