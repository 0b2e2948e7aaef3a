package natsbroker

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
)

// Options configures a Broker's NATS connection, for Connect and Embedded alike.
type Options struct {
	// URLs are the NATS servers to connect to, as "nats://host:port" (Connect only; Embedded
	// connects to its own server in process).
	URLs []string
	// Node names this node in its messages, at most MaxNodeID bytes; "" draws a random id. Two
	// nodes must never share one.
	Node string
	// Prefix is the first tokens of every subject, so that several services can share a NATS
	// cluster; "" means "wsloop".
	Prefix string

	// CredentialsFile is a NATS credentials file (a user JWT and its NKey seed).
	CredentialsFile string
	// User and Password authenticate with a user name and a password.
	User, Password string
	// Token authenticates with a token.
	Token string
	// TLS, when set, secures the connection with this configuration.
	TLS *tls.Config

	// MaxReconnects bounds the attempts to reconnect after the connection is lost: 0 means no
	// bound, a negative number means none.
	MaxReconnects int
	// ReconnectWait is the pause between attempts to the same server; 0 means 250 ms.
	ReconnectWait time.Duration
	// PublishQueue is how many publications may wait to be written to NATS before Publish
	// fails with ErrQueueFull; 0 means 8192.
	PublishQueue int
	// DeliveryQueue is how many received messages may wait for the sink before NATS's reader
	// drops them (and reports a gap); 0 means 65536.
	DeliveryQueue int
	// History, when set, keeps a bounded history of each topic on JetStream, numbers its
	// publications the same on every node, and lets a client recover what it missed (see
	// History, and api.HistoryBroker). The NATS server must run JetStream (ServerOptions.JetStream
	// for Embedded). nil, the default, is core NATS alone.
	History *History
}

// errNodeTooLong says that Options.Node is longer than MaxNodeID bytes.
var errNodeTooLong = errors.New("natsbroker: Options.Node is longer than MaxNodeID bytes")

// withDefaults fills o's zero fields and checks the others.
func (o Options) withDefaults() (Options, error) {
	if o.Node == "" {
		var id [8]byte
		rand.Read(id[:])
		o.Node = hex.EncodeToString(id[:])
	}
	if len(o.Node) > MaxNodeID {
		return o, errNodeTooLong
	}
	if o.Prefix == "" {
		o.Prefix = "wsloop"
	}
	if err := checkPrefix(o.Prefix); err != nil {
		return o, err
	}
	if o.ReconnectWait <= 0 {
		o.ReconnectWait = 250 * time.Millisecond
	}
	if o.PublishQueue <= 0 {
		o.PublishQueue = 8192
	}
	if o.DeliveryQueue <= 0 {
		o.DeliveryQueue = 65536
	}
	return o, nil
}

// natsOptions turns o into nats.go's options. A publication is never buffered by nats.go while it
// reconnects (ReconnectBufSize -1): Publish fails then, and the receivers see the gap.
func (o Options) natsOptions() []nats.Option {
	max := o.MaxReconnects
	if max == 0 {
		max = -1
	} else if max < 0 {
		max = 0
	}
	opts := []nats.Option{
		nats.Name("wsloop " + o.Node),
		nats.NoEcho(),
		nats.MaxReconnects(max),
		nats.ReconnectWait(o.ReconnectWait),
		nats.ReconnectBufSize(-1),
	}
	if o.CredentialsFile != "" {
		opts = append(opts, nats.UserCredentials(o.CredentialsFile))
	}
	if o.User != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.Token != "" {
		opts = append(opts, nats.Token(o.Token))
	}
	if o.TLS != nil {
		opts = append(opts, nats.Secure(o.TLS))
	}
	return opts
}
