package natsbroker

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ServerOptions configures a NATS server embedded in the process.
type ServerOptions struct {
	// Listen is the client listener's "host:port"; "" means 127.0.0.1 on a random port, and a
	// port of 0 means a random one.
	Listen string
	// DontListen runs the server without any listener, for a single node: the broker reaches it
	// in process. It also disables clustering, which needs a client listener.
	DontListen bool
	// Cluster is the route listener's "host:port" (port 0 for a random one); "" means no
	// cluster.
	Cluster string
	// Routes are the route URLs of the other nodes, as "nats-route://host:port". A node may
	// list them all, itself included: the server skips its own.
	Routes []string
	// AdvertiseClients has the server tell the clients of the cluster its client listener, to
	// fail over to. It is off by default: an embedded server's listener is often on loopback,
	// which means another machine to a client elsewhere.
	AdvertiseClients bool
	// ClusterName names the cluster, the same on every node; "" means "wsloop".
	ClusterName string
	// Name names the server in the cluster; "" lets the server draw one.
	Name string
	// ReadyTimeout bounds the wait for the server to accept connections; 0 means 10 s.
	ReadyTimeout time.Duration
	// JetStream, when set, runs JetStream on the server, for Options.History. In a cluster,
	// every node runs it, and each needs a Name of its own (the nodes form a JetStream cluster
	// through their routes, and elect its leader first).
	JetStream *JetStreamOptions
}

// JetStreamOptions configures JetStream on an embedded server.
type JetStreamOptions struct {
	// StoreDir is where JetStream keeps its files (streams stored in files, and the state of a
	// JetStream cluster). "" means a temporary directory, which the Broker of Embedded removes
	// when it closes (a caller of StartServer removes filepath.Dir(s.StoreDir()) after Shutdown).
	StoreDir string
}

// errClusterNoListen says that a cluster was asked of a server without a client listener.
var errClusterNoListen = errors.New("natsbroker: a cluster needs a client listener (DontListen disables routes)")

// StartServer starts a NATS server in the process and returns it once it accepts connections.
// Shut it down with its Shutdown method. Embedded is StartServer and a Broker connected to it.
func StartServer(so ServerOptions) (*server.Server, error) {
	s, _, err := launch(so)
	return s, err
}

// launch is StartServer, which also returns the temporary JetStream directory it made, or
// "".
func launch(so ServerOptions) (_ *server.Server, tmp string, err error) {
	opts, err := so.serverOptions()
	if err != nil {
		return nil, "", err
	}
	if so.JetStream != nil && opts.StoreDir == "" {
		if tmp, err = os.MkdirTemp("", "natsbroker-js-"); err != nil {
			return nil, "", fmt.Errorf("natsbroker: JetStream store: %w", err)
		}
		opts.StoreDir = tmp
		defer func() {
			if err != nil {
				os.RemoveAll(tmp)
			}
		}()
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, "", fmt.Errorf("natsbroker: embedded server: %w", err)
	}
	go s.Start()
	wait := so.ReadyTimeout
	if wait <= 0 {
		wait = 10 * time.Second
	}
	if !s.ReadyForConnections(wait) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, "", fmt.Errorf("natsbroker: embedded server not ready within %v", wait)
	}
	return s, tmp, nil
}

// Embedded starts a NATS server in the process (StartServer) and returns a Broker connected to
// it in process, without a socket. Closing the broker shuts the server down.
func Embedded(so ServerOptions, o Options) (*Broker, error) {
	s, tmp, err := launch(so)
	if err != nil {
		return nil, err
	}
	b, err := connect(o, "", s)
	if err != nil {
		s.Shutdown()
		s.WaitForShutdown()
		if tmp != "" {
			os.RemoveAll(tmp)
		}
		return nil, err
	}
	b.storeDir = tmp
	return b, nil
}

// serverOptions translates so into nats-server's options: no logging, no signal handling.
func (so ServerOptions) serverOptions() (*server.Options, error) {
	opts := &server.Options{ServerName: so.Name, NoLog: true, NoSigs: true, DontListen: so.DontListen}
	if so.JetStream != nil {
		opts.JetStream, opts.StoreDir = true, so.JetStream.StoreDir
	}
	if !so.DontListen {
		listen := so.Listen
		if listen == "" {
			listen = "127.0.0.1:0"
		}
		var err error
		if opts.Host, opts.Port, err = hostPort(listen); err != nil {
			return nil, fmt.Errorf("natsbroker: ServerOptions.Listen: %w", err)
		}
	}
	if so.Cluster == "" {
		if len(so.Routes) > 0 {
			return nil, errors.New("natsbroker: ServerOptions.Routes needs ServerOptions.Cluster")
		}
		return opts, nil
	}
	if so.DontListen {
		return nil, errClusterNoListen
	}
	var err error
	if opts.Cluster.Host, opts.Cluster.Port, err = hostPort(so.Cluster); err != nil {
		return nil, fmt.Errorf("natsbroker: ServerOptions.Cluster: %w", err)
	}
	opts.Cluster.NoAdvertise = !so.AdvertiseClients
	opts.Cluster.Name = so.ClusterName
	if opts.Cluster.Name == "" {
		opts.Cluster.Name = "wsloop"
	}
	for _, r := range so.Routes {
		u, err := url.Parse(r)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("natsbroker: ServerOptions.Routes: %q is not a route URL", r)
		}
		opts.Routes = append(opts.Routes, u)
	}
	return opts, nil
}

// hostPort splits "host:port", a port of 0 becoming nats-server's random port.
func hostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", addr)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	}
	return host, port, nil
}
