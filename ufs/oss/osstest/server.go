// Package osstest is an in-process server that speaks the Aliyun OSS
// protocol, for tests. It is to OSS what net/http/httptest is to HTTP.
//
// It keeps buckets and objects in memory and answers as OSS does: V1
// ("OSS id:signature") and V4 ("OSS4-HMAC-SHA256 ...") signatures are
// verified exactly as OSS verifies them, errors carry OSS's XML body
// (Code, Message, RequestId, HostId) and x-oss-request-id, ETags are quoted
// uppercase MD5s ("<md5-of-md5s>-N" after a multipart upload), and every
// object answer carries x-oss-hash-crc64ecma, which the Go SDK checks.
//
// Requests may address a bucket in path style (http://127.0.0.1:port/bucket/key,
// what the SDK sends for an IP endpoint or with oss.ForcePathStyle) or in
// virtual-host style (http://bucket.<Options.Domain>:port/key); HTTPClient
// returns a client that reaches the server under any host name.
//
// Faults are injected on demand and may change while requests run (see
// Faults): an error rate, added latency, dropped connections, stalls, a
// bandwidth cap per connection and deletions that fail. Count reports how
// many requests each operation got, Signatures how many were signed with
// each signature version.
package osstest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Default credentials, used when Options.Accounts is empty.
const (
	DefaultAccessKeyID     = "osstest-access-key-id"
	DefaultAccessKeySecret = "osstest-access-key-secret"
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// Accounts maps access key ids to their secrets. Empty means one
	// account, DefaultAccessKeyID / DefaultAccessKeySecret.
	Accounts map[string]string
	// Region is the region V4 signatures must name, e.g. "cn-hangzhou".
	// Empty accepts any region.
	Region string
	// Domain is the host name under which buckets are virtual hosts:
	// "bucket.<Domain>" addresses bucket. Default "oss-test.localhost".
	Domain string
	// MinPartSize is the smallest size of a part other than the last one
	// that CompleteMultipartUpload accepts. Default 100 KiB, as OSS.
	MinPartSize int64
	// MaxObjectSize bounds PutObject and UploadPart bodies. Default 5 GiB.
	MaxObjectSize int64
	// MaxCopySize is the largest object CopyObject copies; bigger ones
	// need UploadPartCopy. Default 1 GiB, as OSS.
	MaxCopySize int64
	// MaxClockSkew is how far a request's Date may be from the server's
	// clock. Default 15 minutes, as OSS.
	MaxClockSkew time.Duration
	// Logger receives a debug line per request. Default: discard.
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	if len(o.Accounts) == 0 {
		o.Accounts = map[string]string{DefaultAccessKeyID: DefaultAccessKeySecret}
	}
	if o.Domain == "" {
		o.Domain = "oss-test.localhost"
	}
	if o.MinPartSize == 0 {
		o.MinPartSize = 100 << 10
	}
	if o.MaxObjectSize == 0 {
		o.MaxObjectSize = 5 << 30
	}
	if o.MaxCopySize == 0 {
		o.MaxCopySize = 1 << 30
	}
	if o.MaxClockSkew == 0 {
		o.MaxClockSkew = 15 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Server is a running OSS-protocol server on 127.0.0.1.
type Server struct {
	opts  Options
	ln    net.Listener
	srv   *http.Server
	url   string
	store *store

	faults atomic.Pointer[Faults]
	reqSeq atomic.Uint64
	// inflight counts the requests being served, so that Close can wait
	// for them; gate orders its Adds before Close's Wait, as WaitGroup
	// wants (an Add from zero must not race a Wait).
	inflight sync.WaitGroup
	gate     sync.Mutex
	closing  bool
	closed   chan struct{}
	once     sync.Once

	counts struct {
		sync.Mutex
		m    map[string]int64 // operation name -> requests
		cur  map[string]int   // operation name -> requests being handled
		peak map[string]int   // operation name -> most requests handled at once
		sigs map[string]int64 // signature version -> requests carrying one
	}
}

// New starts a server on a free port of 127.0.0.1. It panics if it cannot
// listen, as httptest.NewServer does.
func New(opts Options) *Server {
	opts.setDefaults()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic("osstest: listen: " + err.Error())
	}
	s := &Server{
		opts:   opts,
		store:  newStore(),
		closed: make(chan struct{}),
		url:    "http://" + ln.Addr().String(),
	}
	s.counts.m, s.counts.cur, s.counts.peak = map[string]int64{}, map[string]int{}, map[string]int{}
	s.counts.sigs = map[string]int64{}
	s.faults.Store(&Faults{})
	s.ln = &listener{Listener: ln, s: s}
	s.srv = &http.Server{
		Handler:           http.HandlerFunc(s.serve),
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
	}
	go s.srv.Serve(s.ln)
	return s
}

// URL is the server's base URL, "http://127.0.0.1:port"; use it as the
// SDK's endpoint.
func (s *Server) URL() string { return s.url }

// Addr is the server's "127.0.0.1:port".
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Domain is the host name whose subdomains are buckets (virtual-host style).
func (s *Server) Domain() string { return s.opts.Domain }

// HTTPClient returns a client that connects to this server whatever host a
// URL names, so that virtual-host style URLs (bucket.<Domain>) reach it.
func (s *Server) HTTPClient() *http.Client {
	addr := s.Addr()
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConnsPerHost: 64,
	}}
}

// Close stops the server, closes every connection and waits for the
// handlers to return.
func (s *Server) Close() {
	s.once.Do(func() {
		s.gate.Lock()
		s.closing = true
		s.gate.Unlock()
		close(s.closed)
		s.srv.Close()
		s.inflight.Wait()
	})
}

// CreateBucket creates a bucket, as the PutBucket API does.
func (s *Server) CreateBucket(name string) error {
	if !validBucketName(name) {
		return errInvalidBucketName(name)
	}
	if e := s.store.createBucket(name, s.now()); e != nil {
		return e
	}
	return nil
}

func (s *Server) now() time.Time { return time.Now().UTC().Truncate(time.Second) }

// newRequestID returns a 24-hex-digit id as OSS's x-oss-request-id.
func (s *Server) newRequestID() string {
	var b [4]byte
	rand.Read(b[:])
	seq := s.reqSeq.Add(1)
	var id [12]byte
	copy(id[:4], b[:])
	for i := 0; i < 8; i++ {
		id[4+i] = byte(seq >> (56 - 8*i))
	}
	return strings.ToUpper(hex.EncodeToString(id[:]))
}

// serve is the one entry point: it names the operation, counts it, injects
// faults, checks the signature and dispatches.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.gate.Lock()
	if s.closing {
		s.gate.Unlock()
		panic(http.ErrAbortHandler) // closing: drop the connection
	}
	s.inflight.Add(1)
	s.gate.Unlock()
	defer s.inflight.Done()

	reqID := s.newRequestID()
	h := w.Header()
	h.Set("x-oss-request-id", reqID)
	h.Set("Server", "AliyunOSS")
	h.Set("Date", time.Now().UTC().Format(http.TimeFormat))

	t, hostID, e := s.route(r)
	op := opUnknown
	if e == nil {
		op = operation(r, t)
	}
	s.count(op)
	defer s.done(op)
	s.opts.Logger.Debug("osstest request", "op", op, "method", r.Method, "bucket", t.bucket, "key", t.key, "request_id", reqID)

	fail := func(e *ossError) { writeError(w, r, reqID, hostID, e) }
	if e != nil {
		fail(e)
		return
	}
	w, ok := s.injectFaults(w, r, op)
	if !ok {
		return
	}
	if _, e := s.authenticate(r, t); e != nil {
		io.Copy(io.Discard, r.Body)
		fail(e)
		return
	}
	c := &call{s: s, w: w, r: r, t: t, reqID: reqID, hostID: hostID}
	if e := s.dispatch(op, c); e != nil {
		fail(e)
	}
}

// call is one request being answered.
type call struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	t      target
	reqID  string
	hostID string
}

// route finds the bucket and key a request addresses: from the host name
// in virtual-host style, else from the first path segment.
func (s *Server) route(r *http.Request) (target, string, *ossError) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return target{}, s.Addr(), errInvalidArgument("The query string is invalid.", "query", r.URL.RawQuery)
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	t := target{query: q}
	if b, ok := strings.CutSuffix(host, "."+s.opts.Domain); ok && b != "" {
		t.bucket = b
		t.key, err = url.PathUnescape(path)
	} else {
		bk, kk, _ := strings.Cut(path, "/")
		if t.bucket, err = url.PathUnescape(bk); err == nil {
			t.key, err = url.PathUnescape(kk)
		}
	}
	hostID := s.Addr()
	if t.bucket != "" {
		hostID = t.bucket + "." + s.opts.Domain
	}
	if err != nil {
		return t, hostID, errInvalidArgument("The request path is not valid URL encoding.", "path", path)
	}
	if t.bucket != "" && !validBucketName(t.bucket) {
		return t, hostID, errInvalidBucketName(t.bucket)
	}
	return t, hostID, nil
}

func validBucketName(name string) bool {
	if len(name) < 3 || len(name) > 63 || name[0] == '-' || name[len(name)-1] == '-' {
		return false
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func errInvalidBucketName(name string) *ossError {
	return newErr(http.StatusBadRequest, "InvalidBucketName", "The specified bucket is not valid.", "BucketName", name)
}

func (s *Server) count(op string) {
	s.counts.Lock()
	s.counts.m[op]++
	s.counts.cur[op]++
	s.counts.peak[op] = max(s.counts.peak[op], s.counts.cur[op])
	s.counts.Unlock()
}

func (s *Server) done(op string) {
	s.counts.Lock()
	s.counts.cur[op]--
	s.counts.Unlock()
}

// Peak returns the most requests of operation op the server was handling
// at the same time: how parallel a client was.
func (s *Server) Peak(op string) int {
	s.counts.Lock()
	defer s.counts.Unlock()
	return s.counts.peak[op]
}

// Count returns how many requests operation op (OpPutObject, ...) got,
// failed ones included.
func (s *Server) Count(op string) int64 {
	s.counts.Lock()
	defer s.counts.Unlock()
	return s.counts.m[op]
}

// Counts returns a copy of every operation's request count.
func (s *Server) Counts() map[string]int64 {
	s.counts.Lock()
	defer s.counts.Unlock()
	m := make(map[string]int64, len(s.counts.m))
	for k, v := range s.counts.m {
		m[k] = v
	}
	return m
}

// Signature versions, as Signatures names them.
const (
	SignatureV1 = "v1" // Authorization: OSS id:signature
	SignatureV4 = "v4" // Authorization: OSS4-HMAC-SHA256 Credential=...
)

func (s *Server) countSignature(version string) {
	s.counts.Lock()
	s.counts.sigs[version]++
	s.counts.Unlock()
}

// Signatures returns how many requests were signed with version
// (SignatureV1, SignatureV4), whether or not the signature verified: it
// tells which version a client sends.
func (s *Server) Signatures(version string) int64 {
	s.counts.Lock()
	defer s.counts.Unlock()
	return s.counts.sigs[version]
}

// ResetCounts sets every count and peak back to zero.
func (s *Server) ResetCounts() {
	s.counts.Lock()
	clear(s.counts.m)
	clear(s.counts.peak)
	clear(s.counts.sigs)
	s.counts.Unlock()
}
