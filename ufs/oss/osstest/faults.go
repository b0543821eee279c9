package osstest

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
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
	// StallRate is the fraction of requests that stall: the server takes
	// the request and then sends nothing for Stall, either before the
	// response (after reading the whole request body, into memory) or
	// partway through the response body, half of each; an answer without
	// a body stalls before it. After the stall the request is answered as
	// usual, unless the client hung up meanwhile.
	StallRate float64
	// Stall is how long a stalled request sends nothing; 0 means until
	// the client hangs up or the server closes.
	Stall time.Duration
	// FailFirst answers the first FailFirst requests (of Ops) after
	// SetFaults with 500 InternalError, before carrying them out, and the
	// rest as usual: a fault a test can count on.
	FailFirst int
	// Ops limits ErrorRate, DropRate, StallRate and FailFirst to these
	// operations (OpUploadPart, ...); empty means every operation.
	Ops []string
	// FailDelete lists object keys, in any bucket, that the server will
	// not delete: DeleteObject answers 500 InternalError, and
	// DeleteMultipleObjects keeps them and reports them as OSS reports
	// failures: left out of a verbose answer, listed in a quiet one.
	FailDelete []string
	// Latency is added before every request is handled.
	Latency time.Duration
	// Bandwidth caps every connection to this many bytes per second, in
	// each direction (request and response bodies alike); 0 is unlimited.
	// One connection to real OSS carries far less than the link, which is
	// why parallel transfers matter.
	Bandwidth int64

	failed *atomic.Int64 // requests FailFirst failed so far
}

// SetFaults replaces the faults in force.
func (s *Server) SetFaults(f Faults) {
	f.Ops = slices.Clone(f.Ops)
	f.FailDelete = slices.Clone(f.FailDelete)
	f.failed = new(atomic.Int64)
	s.faults.Store(&f)
}

// Faults returns the faults in force.
func (s *Server) Faults() Faults {
	f := *s.faults.Load()
	f.Ops = slices.Clone(f.Ops)
	f.FailDelete = slices.Clone(f.FailDelete)
	return f
}

// injectFaults applies latency, injected errors, dropped connections and
// stalls to one request. It returns the writer to answer with, and false
// when the request has been dealt with (failed, dropped, or abandoned by
// the client).
func (s *Server) injectFaults(w http.ResponseWriter, r *http.Request, op string) (http.ResponseWriter, bool) {
	f := s.faults.Load()
	if f.Latency > 0 && !s.pause(r, f.Latency) {
		hangUp(w)
		return w, false
	}
	if len(f.Ops) > 0 && !slices.Contains(f.Ops, op) {
		return w, true
	}
	if (f.ErrorRate > 0 && rand.Float64() < f.ErrorRate) || (f.FailFirst > 0 && f.failed.Add(1) <= int64(f.FailFirst)) {
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
	if f.StallRate > 0 && rand.Float64() < f.StallRate {
		if rand.IntN(2) == 0 {
			if !s.stallBeforeResponse(r, f.Stall) {
				hangUp(w)
				return w, false
			}
			return w, true
		}
		return &stallWriter{ResponseWriter: w, s: s, r: r, stall: f.Stall, noBody: r.Method == http.MethodHead}, true
	}
	return w, true
}

// pause waits for d, or, when d is 0, until r ends. It reports whether r
// is still there to be answered: false when its client hung up or the
// server is closing. net/http notices a client hanging up only once the
// request body has been read. After false, hang up: a handler that
// returned without a word would get net/http to send an empty 200.
func (s *Server) pause(r *http.Request, d time.Duration) bool {
	var timeout <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-timeout:
		return true
	case <-r.Context().Done():
		return false
	case <-s.closed:
		return false
	}
}

// stallBeforeResponse takes the whole request, as a server that received
// it and then went silent, and pauses. The body is read into memory first
// so that the handler still gets it and so that a client giving up is
// noticed (see pause).
func (s *Server) stallBeforeResponse(r *http.Request, d time.Duration) bool {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return s.pause(r, d)
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

// stallWriter sends the headers and a random part of the body, then
// nothing for a while (see Faults.StallRate), then the rest.
type stallWriter struct {
	http.ResponseWriter
	s       *Server
	r       *http.Request
	stall   time.Duration
	noBody  bool  // a HEAD answer: its headers are all of it
	left    int64 // body bytes before the stall; -1 once it is over
	headers bool
	gone    bool // the stall ended with a hang-up
}

func (sw *stallWriter) WriteHeader(status int) {
	if sw.headers {
		return
	}
	sw.headers = true
	n, _ := strconv.ParseInt(sw.Header().Get("Content-Length"), 10, 64)
	if n <= 0 || sw.noBody {
		// No body to stall in: stall before the answer.
		sw.left = -1
		if !sw.s.pause(sw.r, sw.stall) {
			sw.hangUp()
			return
		}
	} else {
		sw.left = rand.Int64N(n)
	}
	sw.ResponseWriter.WriteHeader(status)
}

func (sw *stallWriter) Write(p []byte) (int, error) {
	if !sw.headers {
		sw.WriteHeader(http.StatusOK)
	}
	if sw.gone {
		return 0, net.ErrClosed
	}
	if sw.left < 0 || int64(len(p)) < sw.left {
		if sw.left > 0 {
			sw.left -= int64(len(p))
		}
		return sw.ResponseWriter.Write(p)
	}
	n, err := sw.ResponseWriter.Write(p[:sw.left])
	if err != nil {
		return n, err
	}
	if f, ok := sw.ResponseWriter.(http.Flusher); ok {
		f.Flush() // what came before the stall reaches the client
	}
	sw.left = -1
	if !sw.s.pause(sw.r, sw.stall) {
		sw.hangUp()
		return n, net.ErrClosed
	}
	m, err := sw.ResponseWriter.Write(p[n:])
	return n + m, err
}

func (sw *stallWriter) hangUp() {
	sw.gone = true
	hangUp(sw.ResponseWriter)
}

// Flush passes on, so that a handler's flushes still work.
func (sw *stallWriter) Flush() {
	if f, ok := sw.ResponseWriter.(http.Flusher); ok && !sw.gone {
		f.Flush()
	}
}

// Hijack makes stallWriter usable where the server hijacks.
func (sw *stallWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return sw.ResponseWriter.(http.Hijacker).Hijack()
}
