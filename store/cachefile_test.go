package store

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"testing"
)

// readFileFrom reads f whole from its own offset, as sendfile does.
func readFileFrom(t *testing.T, f *os.File) []byte {
	t.Helper()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOpenCacheFileWholeFile: for a wholly cached file OpenCacheFile gives
// a new descriptor, at offset 0, of a file exactly the file's size holding
// its bytes; each call gives its own offset; and the blocks are not
// evicted while the handle is open, however full the cache gets, but are
// once it is released.
func TestOpenCacheFileWholeFile(t *testing.T) {
	const bs = 64 << 10
	e := newEnv(t, func(o *Options) { o.BlockSize = bs; o.Quota = 8 * bs })
	data := randBytes(51, 3*bs+321)
	w := e.writeFile(RootIno, "w", data)
	e.waitPersisted() // clean: evictable, but for the handle
	h, err := e.s.Open(bg, w.Ino, os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	f1, ok, err := h.OpenCacheFile()
	if err != nil || !ok || f1 == nil {
		t.Fatalf("OpenCacheFile of a wholly cached file: %v %v %v", f1, ok, err)
	}
	defer f1.Close()
	if st, err := f1.Stat(); err != nil || st.Size() != int64(len(data)) {
		t.Fatalf("cache file size %v, %v; want %d", st.Size(), err, len(data))
	}
	mustEqual(t, readFileFrom(t, f1), data)
	f2, ok, err := h.OpenCacheFile()
	if err != nil || !ok {
		t.Fatalf("second OpenCacheFile: %v %v", ok, err)
	}
	defer f2.Close()
	if f2.Fd() == f1.Fd() {
		t.Fatal("the same descriptor twice")
	}
	mustEqual(t, readFileFrom(t, f2), data) // its own offset, at 0, though f1's is at the end

	// Fill the cache well past the quota with files that become clean.
	for i := range 6 {
		e.writeFile(RootIno, fmt.Sprintf("fill%d", i), randBytes(uint64(60+i), 2*bs))
		e.waitPersisted()
	}
	if st := e.s.CacheStats(); st.Evictions == 0 {
		t.Fatalf("no eviction: the test did not press the cache: %+v", st)
	}
	if c := e.s.CachedBytes(w); c != int64(len(data)) {
		t.Fatalf("%d bytes of the exposed file left in the cache, want all %d", c, len(data))
	}
	got := make([]byte, len(data))
	if _, err := f1.ReadAt(got, 0); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, got, data)
	if err := h.Release(bg); err != nil {
		t.Fatal(err)
	}
	// Released: the same pressure now evicts it, and it reads back whole.
	for i := range 6 {
		e.writeFile(RootIno, fmt.Sprintf("more%d", i), randBytes(uint64(70+i), 2*bs))
		e.waitPersisted()
	}
	if c := e.s.CachedBytes(w); c == int64(len(data)) {
		t.Errorf("the file stayed wholly cached after its handle was released")
	}
	mustEqual(t, e.readPath("/w"), data)
}

// TestOpenCacheFilePartlyCached: a file with a block missing is not handed
// out (ok false, no error, no descriptor): the daemon serves it and fetches
// the block. Once read whole it is.
func TestOpenCacheFilePartlyCached(t *testing.T) {
	const bs = 64 << 10
	e := newEnv(t, func(o *Options) { o.BlockSize = bs })
	data := randBytes(52, 3*bs+5)
	e.putUFS("obj", data)
	if err := e.s.SyncDir(bg, RootIno); err != nil {
		t.Fatal(err)
	}
	n, err := e.s.Resolve(bg, "/obj")
	if err != nil {
		t.Fatal(err)
	}
	h, err := e.s.Open(bg, n.Ino, os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(bg)
	// Nothing cached yet.
	if f, ok, err := h.OpenCacheFile(); f != nil || ok || err != nil {
		t.Fatalf("OpenCacheFile of an uncached file: %v %v %v", f, ok, err)
	}
	// Block 1 only: a read that is not sequential fetches no more.
	buf := make([]byte, bs)
	if k, err := h.Read(bg, buf, bs); err != nil || k != bs {
		t.Fatalf("read block 1: %d %v", k, err)
	}
	mustEqual(t, buf, data[bs:2*bs])
	if c := e.s.CachedBytes(n); c != bs {
		t.Fatalf("%d bytes cached, want the one block", c)
	}
	if f, ok, err := h.OpenCacheFile(); f != nil || ok || err != nil {
		t.Fatalf("OpenCacheFile of a partly cached file: %v %v %v", f, ok, err)
	}
	if f, ok, err := h.CacheFile(false); f != nil || ok || err != nil {
		t.Fatalf("CacheFile of a partly cached file: %v %v %v", f, ok, err)
	}
	// All but the short last block.
	for _, off := range []int64{0, 2 * bs} {
		if _, err := h.Read(bg, buf, off); err != nil {
			t.Fatal(err)
		}
	}
	if f, ok, err := h.OpenCacheFile(); f != nil || ok || err != nil {
		t.Fatalf("OpenCacheFile without the last block: %v %v %v", f, ok, err)
	}
	mustEqual(t, e.readAll(n.Ino), data)
	f, ok, err := h.OpenCacheFile()
	if err != nil || !ok {
		t.Fatalf("OpenCacheFile once read whole: %v %v", ok, err)
	}
	defer f.Close()
	mustEqual(t, readFileFrom(t, f), data)
}

// TestOpenCacheFileSparseAndEmpty: an empty file is wholly cached (an
// empty file), and a file extended by a truncate reads its zeros through
// the descriptor, which is the file's exact size.
func TestOpenCacheFileSparseAndEmpty(t *testing.T) {
	e := newEnv(t)
	empty := e.writeFile(RootIno, "empty", nil)
	h, err := e.s.Open(bg, empty.Ino, os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	f, ok, err := h.OpenCacheFile()
	if err != nil || !ok {
		t.Fatalf("OpenCacheFile of an empty file: %v %v", ok, err)
	}
	if b := readFileFrom(t, f); len(b) != 0 {
		t.Fatalf("empty file reads %d bytes", len(b))
	}
	f.Close()
	h.Release(bg)

	_, hw, err := e.s.Create(bg, RootIno, "sparse", 0o644, Cred{}, os.O_RDWR|os.O_EXCL)
	if err != nil {
		t.Fatal(err)
	}
	defer hw.Release(bg)
	if _, err := hw.Write(bg, []byte("abc"), 0); err != nil {
		t.Fatal(err)
	}
	size := 3*e.s.BlockSize() + 17
	if err := hw.Truncate(bg, size); err != nil {
		t.Fatal(err)
	}
	f, ok, err = hw.OpenCacheFile()
	if err != nil || !ok {
		t.Fatalf("OpenCacheFile of an extended file: %v %v", ok, err)
	}
	defer f.Close()
	want := append([]byte("abc"), make([]byte, size-3)...)
	got := readFileFrom(t, f)
	if !bytes.Equal(got, want) {
		t.Fatalf("extended file through the descriptor: %d bytes, want %d (abc and zeros)", len(got), len(want))
	}
}
