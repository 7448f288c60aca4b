// Package faultproxy is a TCP proxy a test controls, standing between
// sqlmcp and a real database server to play the network's and the
// server's faults without touching the server: Stall (accept, stop
// forwarding: a frozen process, a partition that drops packets), Cut
// (close every connection: a restart, a failover), Refuse (close new
// connections at once: a server that is down) and Resume.
//
// It is a test helper; it knows nothing about SQL or MCP.
package faultproxy

import (
	"net"
	"sync"
)

// Proxy forwards every connection made to Addr to the target address.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	cond    *sync.Cond
	stalled bool
	refuse  bool
	closed  bool
	conns   map[net.Conn]bool // true: the side towards the target
	wg      sync.WaitGroup
}

// New listens on a loopback port and forwards to target.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.cond = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the host:port to connect to instead of the target.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Stall stops forwarding in both directions, on open and new connections
// alike (new ones are accepted, and hang): the server appears frozen.
func (p *Proxy) Stall() { p.set(func() { p.stalled = true }) }

// Resume forwards again, what was held first; it also ends Refuse.
func (p *Proxy) Resume() { p.set(func() { p.stalled, p.refuse = false, false }) }

// Refuse closes new connections as soon as they are accepted (until
// Resume): the server is down.
func (p *Proxy) Refuse() { p.set(func() { p.refuse = true }) }

// Cut closes every open connection, as a restarting server does; new
// connections are served as before.
func (p *Proxy) Cut() {
	p.mu.Lock()
	conns := p.conns
	p.conns = map[net.Conn]bool{}
	p.mu.Unlock()
	for c := range conns {
		c.Close()
	}
}

// Conns is the number of connections open through the proxy.
func (p *Proxy) Conns() int {
	return len(p.ServerPorts())
}

// ServerPorts are the local ports of the proxy's connections to the
// target: what the server sees as its clients' ports, to find (and kill)
// the sessions that came through the proxy and no others.
func (p *Proxy) ServerPorts() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []int
	for c, server := range p.conns {
		if a, ok := c.LocalAddr().(*net.TCPAddr); ok && server {
			out = append(out, a.Port)
		}
	}
	return out
}

// Close stops the proxy and closes every connection.
func (p *Proxy) Close() error {
	p.set(func() { p.closed = true; p.stalled = false })
	err := p.ln.Close()
	p.Cut()
	p.wg.Wait()
	return err
}

func (p *Proxy) set(f func()) {
	p.mu.Lock()
	f()
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		refuse := p.refuse
		p.mu.Unlock()
		if refuse {
			c.Close()
			continue
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		client.Close()
		server.Close()
		return
	}
	p.conns[client] = false
	p.conns[server] = true
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { p.pipe(server, client); done <- struct{}{} }()
	go func() { p.pipe(client, server); done <- struct{}{} }()
	<-done
	// A stalled path carries no FIN either: the other side learns of
	// the close only when forwarding resumes (or a Cut).
	p.hold()
	client.Close()
	server.Close()
	<-done
	p.mu.Lock()
	delete(p.conns, client)
	delete(p.conns, server)
	p.mu.Unlock()
}

// pipe copies src to dst, holding each chunk while the proxy is stalled.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.hold()
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// hold waits while the proxy is stalled.
func (p *Proxy) hold() {
	p.mu.Lock()
	for p.stalled && !p.closed {
		p.cond.Wait()
	}
	p.mu.Unlock()
}
