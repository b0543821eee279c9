package osstest

import (
	"bufio"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Faults is what the server does wrong, on demand. Set it with SetFaults at
// any time, also while requests run; each request reads it once when it
// arrives (the bandwidth cap is read on every transfer).
type Faults struct {
	// ErrorRate is the fraction of requests, in [0,1], answered with 500 or
	// 503 InternalError (after their body is read).
	ErrorRate float64
	// DropRate is the fraction of requests whose connection is closed
	// without a complete answer: either before the request is carried out
	// (possibly after reading part of its body), or after, in the middle
	// of the response body, or, when the response has no body, instead of
	// the response.
	DropRate float64
	// Ops limits ErrorRate and DropRate to these operations (OpUploadPart,
	// ...); empty means every operation.
	Ops []string
	// Latency is added before every request is handled.
	Latency time.Duration
	// Bandwidth caps every connection to this many bytes per second, in
	// each direction (request and response bodies alike); 0 is unlimited.
	// One connection to real OSS carries far less than the link, which is
	// why parallel transfers matter.
	Bandwidth int64
}

// SetFaults replaces the faults in force.
func (s *Server) SetFaults(f Faults) {
	f.Ops = slices.Clone(f.Ops)
	s.faults.Store(&f)
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults {
	f := *s.faults.Load()
	f.Ops = slices.Clone(f.Ops)
	return f
}

// injectFaults applies latency, injected errors and dropped connections to
// one request. It returns the writer to answer with, and false when the
// request has been dealt with (failed or dropped).
func (s *Server) injectFaults(w http.ResponseWriter, r *http.Request, op string) (http.ResponseWriter, bool) {
	f := s.faults.Load()
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return w, false
		case <-s.closed:
			t.Stop()
			return w, false
		}
	}
	if len(f.Ops) > 0 && !slices.Contains(f.Ops, op) {
		return w, true
	}
	if f.ErrorRate > 0 && rand.Float64() < f.ErrorRate {
		io.Copy(io.Discard, r.Body)
		status := http.StatusInternalServerError
		if rand.IntN(2) == 0 {
			status = http.StatusServiceUnavailable
		}
		e := newErr(status, "InternalError", "We encountered an internal error. Please try again.")
		writeError(w, r, w.Header().Get("x-oss-request-id"), s.Addr(), e)
		return w, false
	}
	if f.DropRate > 0 && rand.Float64() < f.DropRate {
		if rand.IntN(2) == 0 {
			// Before the response: read some of the body, then hang up.
			if r.ContentLength > 0 {
				io.CopyN(io.Discard, r.Body, rand.Int64N(r.ContentLength))
			}
			hangUp(w)
			return w, false
		}
		return &dropWriter{ResponseWriter: w, noBody: r.Method == http.MethodHead}, true
	}
	return w, true
}

// hangUp closes the connection under w without another byte.
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("osstest: response writer cannot be hijacked")
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		conn.Close()
	}
}

// dropWriter lets the headers and a random part of the body through, then
// closes the connection: the client sees a short body.
type dropWriter struct {
	http.ResponseWriter
	left    int64 // body bytes still allowed
	noBody  bool  // a HEAD answer: its headers are all of it
	dropped bool
	headers bool
}

func (d *dropWriter) WriteHeader(status int) {
	if d.headers {
		return
	}
	d.headers = true
	n, _ := strconv.ParseInt(d.Header().Get("Content-Length"), 10, 64)
	if n <= 0 || d.noBody {
		// No body to break off: lose the whole answer. The request was
		// carried out, but the client cannot know (the case that makes
		// retried writes need to be idempotent).
		d.dropped = true
		hangUp(d.ResponseWriter)
		return
	}
	d.left = rand.Int64N(n)
	d.ResponseWriter.WriteHeader(status)
	if d.left == 0 {
		d.drop()
	}
}

func (d *dropWriter) Write(p []byte) (int, error) {
	if !d.headers {
		d.WriteHeader(http.StatusOK)
	}
	if d.dropped {
		return 0, net.ErrClosed
	}
	if int64(len(p)) >= d.left {
		n, _ := d.ResponseWriter.Write(p[:d.left])
		d.drop()
		return n, net.ErrClosed
	}
	d.left -= int64(len(p))
	return d.ResponseWriter.Write(p)
}

func (d *dropWriter) drop() {
	d.dropped = true
	if f, ok := d.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
	hangUp(d.ResponseWriter)
}

// Hijack makes dropWriter usable where the server hijacks.
func (d *dropWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return d.ResponseWriter.(http.Hijacker).Hijack()
}
