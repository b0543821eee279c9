package main

// `hoard runTests`: Alluxio's basic tests, run against the daemon through
// the admin API. For every read type × write type pair it writes two files
// (BasicFile_<READ>_<WRITE> through the object path in one request,
// BasicNonByteBuffer_<READ>_<WRITE> through the POSIX handle path in 4-byte
// writes), reads each back with that read type, and checks what the write
// type promises: MUST_CACHE stays NOT_PERSISTED; CACHE_THROUGH and THROUGH
// are PERSISTED when the write returns; ASYNC_THROUGH gets there within
// --timeout. For the persisted ones the bytes in the UFS are checked too:
// the file is freed from the cache and read again with NO_CACHE, which
// reads the UFS object.

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/hoardfs/hoard/gateway"
)

// basicTest is one of Alluxio's basic operations tests.
type basicTest struct {
	name  string
	via   string // the admin write path: object or handle
	chunk int    // bytes per write on the handle path
	data  func(name string) []byte
}

var basicTests = []basicTest{
	// Not a multiple of anything: the last block and the last chunk are short.
	{"BasicFile", "object", 0, func(name string) []byte { return testBytes(name, 256<<10+13) }},
	// Alluxio writes ints one at a time; so do we, 1024 of them.
	{"BasicNonByteBuffer", "handle", 4, func(string) []byte {
		b := make([]byte, 4*1024)
		for i := range 1024 {
			binary.BigEndian.PutUint32(b[4*i:], uint32(i))
		}
		return b
	}},
}

// testBytes is pseudo-random content that depends only on name.
func testBytes(name string, n int) []byte {
	h := fnv.New64a()
	h.Write([]byte(name))
	r := rand.New(rand.NewPCG(h.Sum64(), uint64(n)))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], r.Uint64())
		copy(b[i:], w[:])
	}
	return b
}

func cmdRunTests(args []string, stdout, stderr io.Writer) error {
	fs, conf := newFlags("runTests", stderr)
	dir := fs.String("directory", "/default_tests_files", "the directory the test files are written to")
	timeout := fs.Duration("timeout", 60*time.Second, "how long an ASYNC_THROUGH file may take to reach the UFS")
	if err := parseOnlyFlags(fs, args); err != nil {
		return err
	}
	if !strings.HasPrefix(*dir, "/") {
		return fmt.Errorf("%w: --directory %q is not an absolute path", errUsage, *dir)
	}
	c, err := LoadConfig(*conf, os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cl := newAdminClient(c)
	// One call first, so that a daemon that is not there is one message,
	// not 24 failures.
	if err := cl.do(ctx, http.MethodGet, "report", nil, nil, nil); err != nil {
		return err
	}
	// The directory first, with the daemon's default write type: made by
	// the first test's MUST_CACHE write it would never reach the UFS.
	if err := cl.do(ctx, http.MethodPost, "mkdir", pathQuery(*dir, "parents", "true"), nil, nil); err != nil {
		return fmt.Errorf("mkdir %s: %w", *dir, err)
	}
	r := &testRunner{cl: cl, timeout: *timeout}
	total, failed := 0, 0
	for _, rt := range readTypes {
		for _, wt := range writeTypes {
			for _, t := range basicTests {
				name := fmt.Sprintf("%s_%s_%s", t.name, rt, wt)
				total++
				if err := r.run(ctx, path.Join(*dir, name), t, rt, wt); err != nil {
					failed++
					fmt.Fprintf(stdout, "Failed the test! %s: %v\n", name, err)
					continue
				}
				fmt.Fprintf(stdout, "Passed the test! %s\n", name)
			}
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d tests failed", failed, total)
	}
	fmt.Fprintf(stdout, "Passed all %d tests.\n", total)
	return nil
}

type testRunner struct {
	cl      *adminClient
	timeout time.Duration
}

func (r *testRunner) run(ctx context.Context, p string, t basicTest, rt, wt string) error {
	data := t.data(path.Base(p))
	q := pathQuery(p, "writetype", wt, "via", t.via)
	if t.chunk > 0 {
		q.Set("chunk", fmt.Sprint(t.chunk))
	}
	ent, err := r.cl.put(ctx, q, data)
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	if ent.Size != int64(len(data)) || ent.WriteType != wt {
		return fmt.Errorf("written as %d bytes with %s, want %d bytes with %s", ent.Size, ent.WriteType, len(data), wt)
	}
	if err := r.readBack(ctx, p, rt, data); err != nil {
		return err
	}

	var st gateway.AdminEntry
	switch wt {
	case "MUST_CACHE":
		if err := r.cl.do(ctx, http.MethodGet, "persistence", pathQuery(p), nil, &st); err != nil {
			return fmt.Errorf("persistence: %w", err)
		}
		if st.State != "NOT_PERSISTED" {
			return fmt.Errorf("a MUST_CACHE file is %s, want NOT_PERSISTED", st.State)
		}
		return nil
	case "CACHE_THROUGH", "THROUGH":
		// The write returned after the upload: no waiting.
		if err := r.cl.do(ctx, http.MethodGet, "persistence", pathQuery(p), nil, &st); err != nil {
			return fmt.Errorf("persistence: %w", err)
		}
		if st.State != "PERSISTED" {
			return fmt.Errorf("%s file is %s once written, want PERSISTED", wt, st.State)
		}
	default:
		q := pathQuery(p, "wait", "PERSISTED", "timeout", r.timeout.String())
		if err := r.cl.do(ctx, http.MethodGet, "persistence", q, nil, &st); err != nil {
			return fmt.Errorf("waiting for the upload: %w", err)
		}
	}
	return r.checkUFS(ctx, p, &st, data)
}

func (r *testRunner) readBack(ctx context.Context, p, rt string, want []byte) error {
	var got bytes.Buffer
	if _, err := r.cl.readAll(ctx, "cat", pathQuery(p, "readtype", rt), &got); err != nil {
		return fmt.Errorf("read with %s: %w", rt, err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		return fmt.Errorf("read with %s: %d bytes differ from the %d written (first difference at byte %d)",
			rt, got.Len(), len(want), firstDiff(got.Bytes(), want))
	}
	return nil
}

// checkUFS checks that the UFS object is the file: its fingerprint, then
// its bytes, read with NO_CACHE once the cached copy is freed.
func (r *testRunner) checkUFS(ctx context.Context, p string, st *gateway.AdminEntry, data []byte) error {
	u := st.UFS
	if u == nil || !u.InUFS {
		return fmt.Errorf("PERSISTED, but no UFS object is recorded")
	}
	if u.Size != int64(len(data)) {
		return fmt.Errorf("the UFS object %s is %d bytes, want %d", u.URI, u.Size, len(data))
	}
	sum := md5.Sum(data)
	if etag := strings.Trim(u.ETag, `"`); len(etag) == 32 && !strings.EqualFold(etag, hex.EncodeToString(sum[:])) {
		return fmt.Errorf("the UFS object %s has ETag %s, want the MD5 %x", u.URI, etag, sum)
	}
	if err := r.cl.do(ctx, http.MethodPost, "free", pathQuery(p), nil, nil); err != nil {
		return fmt.Errorf("free: %w", err)
	}
	if err := r.readBack(ctx, p, "NO_CACHE", data); err != nil {
		return fmt.Errorf("from the UFS (%s): %w", u.URI, err)
	}
	return nil
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
