package ufstest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/hoardfs/hoard/ufs"
)

func testPutStatRead(t *testing.T, u ufs.UFS) {
	for _, n := range []int{0, 1, 1000, 3<<20 + 7} {
		for _, known := range []bool{true, false} {
			key := fmt.Sprintf("obj-%d-%v", n, known)
			data := payload(n, uint64(n))
			size := int64(len(data))
			var r io.Reader = bytes.NewReader(data)
			if !known {
				size, r = -1, onlyReader{r}
			}
			info, err := u.Put(t.Context(), key, r, size)
			if err != nil {
				t.Fatalf("Put(%q, size %d): %v", key, size, err)
			}
			checkInfo(t, "Put("+key+")", info, key, int64(n))
			st := stat(t, u, key)
			checkInfo(t, "Stat("+key+")", st, key, int64(n))
			if st.ETag != info.ETag {
				t.Errorf("%s: Stat ETag %q differs from Put ETag %q", key, st.ETag, info.ETag)
			}
			if st.ModTime.IsZero() {
				t.Errorf("%s: Stat ModTime is zero", key)
			}
			wantContent(t, u, key, data)
		}
	}
}

func testReadRange(t *testing.T, u ufs.UFS) {
	data := payload(1000, 7)
	put(t, u, "r", data)
	for _, c := range []struct {
		off, length int64
		want        []byte
	}{
		{0, -1, data},
		{0, 10, data[:10]},
		{100, 50, data[100:150]},
		{990, -1, data[990:]},
		{995, 100, data[995:]},
		{999, 1, data[999:]},
		{0, 0, nil},
		{1000, 10, nil},
		{1000, -1, nil},
		{5000, -1, nil},
	} {
		got := read(t, u, "r", c.off, c.length)
		if !bytes.Equal(got, c.want) {
			t.Errorf("ReadRange(r, %d, %d) = %d bytes, want %d", c.off, c.length, len(got), len(c.want))
		}
	}
	p := make([]byte, 20)
	if err := ufs.ReadFull(t.Context(), u, "r", 990, p); err != io.ErrUnexpectedEOF {
		t.Errorf("ReadFull past the end: %v, want io.ErrUnexpectedEOF", err)
	}
	if err := ufs.ReadFull(t.Context(), u, "r", 500, p); err != nil || !bytes.Equal(p, data[500:520]) {
		t.Errorf("ReadFull(500, 20): err %v, equal %v", err, bytes.Equal(p, data[500:520]))
	}
}

func testOverwrite(t *testing.T, u ufs.UFS) {
	first := put(t, u, "o", payload(5000, 1))
	second := put(t, u, "o", payload(300, 2))
	wantContent(t, u, "o", payload(300, 2))
	if first.ETag == second.ETag {
		t.Errorf("ETag %q did not change on overwrite", first.ETag)
	}
	put(t, u, "o", nil)
	wantContent(t, u, "o", nil)
}

func testETagChanges(t *testing.T, u ufs.UFS) {
	a := put(t, u, "e", payload(1024, 1))
	b := put(t, u, "e", payload(1024, 2)) // same size, other bytes
	if a.ETag == b.ETag {
		t.Errorf("ETag %q did not change when content of the same size changed", a.ETag)
	}
	if st := stat(t, u, "e"); st.ETag != b.ETag {
		t.Errorf("Stat ETag %q, want the last Put's %q", st.ETag, b.ETag)
	}
}

// testReadIfMatch reads with ufs.WithIfMatch: the version asked for reads,
// another fails with ErrChanged, with or without a range; no condition
// reads whatever is there.
func testReadIfMatch(t *testing.T, u ufs.UFS) {
	v1, v2 := payload(3000, 1), payload(3000, 2)
	a := put(t, u, "m", v1)
	read := func(etag string, off, length int64) ([]byte, error) {
		rc, err := u.ReadRange(ufs.WithIfMatch(t.Context(), etag), "m", off, length)
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	if got, err := read(a.ETag, 100, 200); err != nil || !bytes.Equal(got, v1[100:300]) {
		t.Fatalf("ranged read of the version asked for: %d bytes, %v", len(got), err)
	}
	b := put(t, u, "m", v2)
	for _, r := range [][2]int64{{0, -1}, {100, 200}, {0, 0}} {
		if got, err := read(a.ETag, r[0], r[1]); !ufs.IsChanged(err) {
			t.Errorf("read [%d,+%d) of an old version: %d bytes, %v; want ErrChanged", r[0], r[1], len(got), err)
		}
	}
	if got, err := read(b.ETag, 0, -1); err != nil || !bytes.Equal(got, v2) {
		t.Fatalf("read of the new version: %d bytes, %v", len(got), err)
	}
	if got, err := read("", 0, -1); err != nil || !bytes.Equal(got, v2) {
		t.Fatalf("read with no condition: %d bytes, %v", len(got), err)
	}
}

// failingReader yields n bytes of data and then fails.
type failingReader struct {
	data []byte
	n    int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errBoom
	}
	m := copy(p[:min(len(p), f.n)], f.data)
	f.data, f.n = f.data[m:], f.n-m
	return m, nil
}

func testPutReaderFails(t *testing.T, u ufs.UFS) {
	old := payload(200<<10, 1)
	oldInfo := put(t, u, "k", old)
	newData := payload(400<<10, 2)
	for _, size := range []int64{int64(len(newData)), -1} {
		_, err := u.Put(t.Context(), "k", &failingReader{newData, 100 << 10}, size)
		if err == nil {
			t.Fatalf("Put with a reader that fails midway (size %d) succeeded", size)
		}
		wantContent(t, u, "k", old)
		if st := stat(t, u, "k"); st.ETag != oldInfo.ETag {
			t.Errorf("ETag changed from %q to %q by a failed Put", oldInfo.ETag, st.ETag)
		}
		if _, err := u.Put(t.Context(), "fresh", &failingReader{newData, 100 << 10}, size); err == nil {
			t.Fatalf("Put of a new key with a failing reader succeeded")
		}
		wantAbsent(t, u, "fresh")
	}
}

func testPutShortReader(t *testing.T, u ufs.UFS) {
	data := payload(1000, 1)
	if _, err := u.Put(t.Context(), "short", onlyReader{bytes.NewReader(data[:500])}, 1000); err == nil {
		t.Fatalf("Put of 500 bytes announced as 1000 succeeded")
	}
	wantAbsent(t, u, "short")
}

func testCancelledContext(t *testing.T, u ufs.UFS) {
	put(t, u, "c", payload(100, 1))
	ctx := cancelled()
	if _, err := u.Put(ctx, "new", bytes.NewReader([]byte("x")), 1); err == nil {
		t.Errorf("Put with a cancelled context succeeded")
	}
	wantAbsent(t, u, "new")
	if _, err := u.Stat(ctx, "c"); err == nil {
		t.Errorf("Stat with a cancelled context succeeded")
	}
	if rc, err := u.ReadRange(ctx, "c", 0, -1); err == nil {
		if _, err := io.ReadAll(rc); err == nil {
			t.Errorf("ReadRange with a cancelled context succeeded")
		}
		rc.Close()
	}
	if _, err := u.Copy(ctx, "c", "c2"); err == nil {
		t.Errorf("Copy with a cancelled context succeeded")
	}
	if err := u.Delete(ctx, "c"); err == nil {
		t.Errorf("Delete with a cancelled context succeeded")
	}
	if _, err := u.List(ctx, ufs.ListOptions{}); err == nil {
		t.Errorf("List with a cancelled context succeeded")
	}
	wantContent(t, u, "c", payload(100, 1))
}

// cancellingReader yields data in 64 KiB chunks and cancels after the first.
type cancellingReader struct {
	data   []byte
	cancel context.CancelFunc
	reads  int
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	if c.reads++; c.reads == 2 {
		c.cancel()
	}
	n := copy(p[:min(len(p), 64<<10)], c.data)
	c.data = c.data[n:]
	return n, nil
}

func testCancelDuringPut(t *testing.T, u ufs.UFS) {
	old := payload(1000, 1)
	put(t, u, "k", old)
	for _, size := range []int64{4 << 20, -1} {
		ctx, cancel := context.WithCancel(t.Context())
		_, err := u.Put(ctx, "k", &cancellingReader{data: payload(4<<20, 2), cancel: cancel}, size)
		cancel()
		if err == nil {
			t.Errorf("Put cancelled midway (size %d) succeeded", size)
		}
		wantContent(t, u, "k", old)
	}
}

func testCancelDuringRead(t *testing.T, u ufs.UFS) {
	put(t, u, "big", payload(4<<20, 1))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	rc, err := u.ReadRange(ctx, "big", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := io.ReadFull(rc, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if n, err := io.Copy(io.Discard, rc); err == nil {
		t.Errorf("reading on after the context was cancelled: %d more bytes and no error", n)
	}
}

// testConcurrentPuts overwrites one key from several goroutines while others
// read it: every read must see one whole version.
func testConcurrentPuts(t *testing.T, u ufs.UFS) {
	const size, writers, rounds = 256 << 10, 4, 3
	version := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i)}, size) }
	put(t, u, "hot", version(0))
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for range rounds {
				if _, err := u.Put(t.Context(), "hot", bytes.NewReader(version(w)), size); err != nil {
					t.Errorf("concurrent Put: %v", err)
				}
			}
		})
	}
	for range 2 {
		wg.Go(func() {
			for range 10 {
				rc, err := u.ReadRange(t.Context(), "hot", 0, -1)
				if err != nil {
					t.Errorf("concurrent ReadRange: %v", err)
					return
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || len(got) != size || !bytes.Equal(got, bytes.Repeat(got[:1], size)) {
					t.Errorf("concurrent read saw a mixed or partial version (%d bytes, err %v)", len(got), err)
				}
			}
		})
	}
	wg.Wait()
}
