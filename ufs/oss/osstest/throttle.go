package osstest

import (
	"net"
	"sync"
	"time"
)

// listener wraps every accepted connection in a conn that obeys the
// bandwidth cap in force.
type listener struct {
	net.Listener
	s *Server
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, s: l.s, closed: make(chan struct{})}, nil
}

// conn paces reads and writes to Faults.Bandwidth bytes per second, each
// direction with its own token bucket.
type conn struct {
	net.Conn
	s           *Server
	read, write pacer
	closeOnce   sync.Once
	closed      chan struct{}
}

func (c *conn) bandwidth() int64 { return c.s.faults.Load().Bandwidth }

func (c *conn) Read(p []byte) (int, error) {
	rate := c.bandwidth()
	if rate <= 0 {
		return c.Conn.Read(p)
	}
	if b := burst(rate); len(p) > b {
		p = p[:b]
	}
	n, err := c.Conn.Read(p)
	c.read.wait(n, rate, c.closed)
	return n, err
}

func (c *conn) Write(p []byte) (int, error) {
	total := 0
	for len(p) > 0 {
		rate := c.bandwidth()
		if rate <= 0 {
			n, err := c.Conn.Write(p)
			return total + n, err
		}
		chunk := p[:min(len(p), burst(rate))]
		if !c.write.wait(len(chunk), rate, c.closed) {
			return total, net.ErrClosed
		}
		n, err := c.Conn.Write(chunk)
		total += n
		if err != nil {
			return total, err
		}
		p = p[n:]
	}
	return total, nil
}

func (c *conn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// burst is how many bytes may pass at once: 20 ms worth, at least 16 KiB.
func burst(rate int64) int { return int(max(rate/50, 16<<10)) }

// pacer is a token bucket.
type pacer struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// wait takes n tokens, sleeping until the bucket has refilled enough. It
// returns false if the connection closed meanwhile.
func (p *pacer) wait(n int, rate int64, closed <-chan struct{}) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	b := float64(burst(rate))
	if p.last.IsZero() {
		p.tokens = b
	} else {
		p.tokens = min(p.tokens+now.Sub(p.last).Seconds()*float64(rate), b)
	}
	p.last = now
	p.tokens -= float64(n)
	if p.tokens >= 0 {
		return true
	}
	t := time.NewTimer(time.Duration(-p.tokens / float64(rate) * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-closed:
		return false
	}
}
