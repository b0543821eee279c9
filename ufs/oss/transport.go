package oss

import (
	"context"
	"net"
	"net/http"
	"time"
)

// newTransport is the HTTP transport of one FS. It replaces the SDK's own
// so that dials follow the call's context, responses are never transparently
// decompressed (ranges and CRC-64 checks are about stored bytes), redirects
// are not followed with a signature made for another URL, and proxies come
// from the environment. Its connections fail a read that waits idle
// (fs.oss.socket.timeout) without a byte in either direction: a stalled
// connection (a peer that went silent without closing) fails the call
// instead of hanging it.
func newTransport(idle time.Duration) *http.Transport {
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return &idleConn{Conn: c, idle: idle}, nil
		},
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       50 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
	}
}

func newHTTPClient(tr *http.Transport) *http.Client {
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// idleConn fails a read or write that waits idle without progress. Writes
// push the read deadline out too, because while a long request body is
// being sent, nothing is read.
type idleConn struct {
	net.Conn
	idle time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	deadline := time.Now().Add(c.idle)
	c.Conn.SetWriteDeadline(deadline)
	c.Conn.SetReadDeadline(deadline)
	return c.Conn.Write(p)
}
