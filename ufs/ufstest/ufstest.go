// Package ufstest is the conformance suite every UFS backend passes.
//
// A backend's test file is a few lines:
//
//	func TestConformance(t *testing.T) {
//		ufstest.Run(t, func(t *testing.T) ufs.UFS { ... })
//	}
//
// Run gives every subtest a fresh UFS from newUFS and closes it when the
// subtest ends. Subtests run in parallel, so newUFS must return UFSs that do
// not see each other's keys (a fresh directory, or a unique prefix in a
// shared bucket) and must be safe to call concurrently. A backend whose
// service is unavailable (no credentials) should t.Skip inside newUFS.
//
// The suite uses only the ufs.UFS interface and keys that are valid
// everywhere: no key is both an object and a prefix of other keys, because a
// local file system cannot hold "a" and "a/b" at once. Where backends may
// differ the suite branches on Capabilities, never on the backend's type.
package ufstest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hoardfs/hoard/ufs"
)

// test is one conformance check, run against a fresh UFS.
type test struct {
	name string
	fn   func(t *testing.T, u ufs.UFS)
}

// tests is every check of the suite, in the order they are reported.
var tests = []test{
	{"PutStatRead", testPutStatRead},
	{"ReadRange", testReadRange},
	{"Overwrite", testOverwrite},
	{"ETagChangesWithContent", testETagChanges},
	{"ReadIfMatch", testReadIfMatch},
	{"PutReaderFailsKeepsOld", testPutReaderFails},
	{"PutShortReaderStoresNothing", testPutShortReader},
	{"CancelledContext", testCancelledContext},
	{"CancelDuringPut", testCancelDuringPut},
	{"CancelDuringRead", testCancelDuringRead},
	{"ConcurrentPutsAreAtomic", testConcurrentPuts},
	{"NotExist", testNotExist},
	{"Delete", testDelete},
	{"DirMarker", testDirMarker},
	{"DeleteMarkerKeepsChildren", testDeleteMarkerKeepsChildren},
	{"ImplicitDirs", testImplicitDirs},
	{"Copy", testCopy},
	{"SpecialKeys", testSpecialKeys},
	{"ListEmpty", testListEmpty},
	{"ListOrderPrefixDelimiter", testListOrder},
	{"ListPagination", testListPagination},
	{"StringAndCapabilities", testStringAndCapabilities},
}

// Run runs the conformance suite, each subtest on a fresh UFS from newUFS.
func Run(t *testing.T, newUFS func(t *testing.T) ufs.UFS) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u := newUFS(t)
			t.Cleanup(func() {
				if err := u.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, u)
		})
	}
}

// payload returns n pseudo-random bytes that differ by seed.
func payload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(n)))
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

// onlyReader hides every method but Read, so that a backend cannot learn the
// size or seek.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// put stores data at key with its size known, failing the test on error.
func put(t *testing.T, u ufs.UFS, key string, data []byte) ufs.ObjectInfo {
	t.Helper()
	info, err := u.Put(t.Context(), key, bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("Put(%q, %d bytes): %v", key, len(data), err)
	}
	return info
}

// read returns the range [off, off+length) of key, failing the test on error.
func read(t *testing.T, u ufs.UFS, key string, off, length int64) []byte {
	t.Helper()
	rc, err := u.ReadRange(t.Context(), key, off, length)
	if err != nil {
		t.Fatalf("ReadRange(%q, %d, %d): %v", key, off, length, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("ReadRange(%q, %d, %d): reading: %v", key, off, length, err)
	}
	return data
}

// stat returns the object at key, failing the test on error.
func stat(t *testing.T, u ufs.UFS, key string) ufs.ObjectInfo {
	t.Helper()
	info, err := u.Stat(t.Context(), key)
	if err != nil {
		t.Fatalf("Stat(%q): %v", key, err)
	}
	return info
}

// wantNotExist checks that err says key does not exist, naming it.
func wantNotExist(t *testing.T, what string, err error, key string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s: no error, want one for which IsNotExist is true", what)
	case !ufs.IsNotExist(err):
		t.Errorf("%s: %v; want an error for which IsNotExist is true", what, err)
	case !strings.Contains(err.Error(), key):
		t.Errorf("%s: error %q does not name the key %q", what, err, key)
	}
}

// wantAbsent checks that Stat finds nothing at key.
func wantAbsent(t *testing.T, u ufs.UFS, key string) {
	t.Helper()
	_, err := u.Stat(t.Context(), key)
	wantNotExist(t, "Stat("+key+")", err, key)
}

// wantContent checks that key holds exactly want.
func wantContent(t *testing.T, u ufs.UFS, key string, want []byte) {
	t.Helper()
	if got := read(t, u, key, 0, -1); !bytes.Equal(got, want) {
		t.Errorf("content of %q: got %d bytes (%s), want %d bytes (%s)", key, len(got), head(got), len(want), head(want))
	}
	if info := stat(t, u, key); info.Size != int64(len(want)) {
		t.Errorf("Stat(%q).Size = %d, want %d", key, info.Size, len(want))
	}
}

// head abbreviates data for error messages.
func head(data []byte) string {
	if len(data) > 16 {
		return strings.TrimSpace(string(bytes.ToValidUTF8(data[:16], []byte("?")))) + "..."
	}
	return string(bytes.ToValidUTF8(data, []byte("?")))
}

// checkInfo checks an ObjectInfo's key, size and ETag form.
func checkInfo(t *testing.T, what string, info ufs.ObjectInfo, key string, size int64) {
	t.Helper()
	if info.Key != key {
		t.Errorf("%s: Key = %q, want %q", what, info.Key, key)
	}
	if info.Size != size {
		t.Errorf("%s: Size = %d, want %d", what, info.Size, size)
	}
	if info.ETag == "" || strings.Contains(info.ETag, `"`) {
		t.Errorf("%s: ETag = %q, want a non-empty ETag without quotes", what, info.ETag)
	}
}

// cancelled returns a context that is already done.
func cancelled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

var errBoom = errors.New("ufstest: reader failed on purpose")
