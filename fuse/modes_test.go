package fuse

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/hoardfs/hoard/store"
)

// TestIOModes walks a file through the kernel's I/O modes: a file only in
// the UFS is read through the daemon (page cache) while it is fetched;
// opens beside page-cached ones stay page-cached even once it is wholly
// cached (the kernel would refuse passthrough); once they close, opens go
// passthrough; O_DIRECT beside passthrough shares the backing file.
func TestIOModes(t *testing.T) {
	e := newEnv(t)
	data := randBytes(7, 9<<20+5)
	if err := os.WriteFile(filepath.Join(e.ufsDir, "remote"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := e.st.SyncDir(bg, store.RootIno); err != nil {
		t.Fatal(err)
	}
	p := e.p("remote")
	stats := func() Stats { return e.srv.Stats() }

	a, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if s := stats(); s.CachedOpens != 1 || s.PassthroughOpens != 0 {
		t.Fatalf("a file only in the UFS: %+v", s)
	}
	got, err := io.ReadAll(a) // fetches every block
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read through the daemon: %d bytes, %v", len(got), err)
	}
	b, err := os.Open(p) // wholly cached now, but a is page-cached
	if err != nil {
		t.Fatal(err)
	}
	if s := stats(); s.CachedOpens != 2 || s.PassthroughOpens != 0 {
		t.Fatalf("open beside a page-cached one: %+v", s)
	}
	got, _ = io.ReadAll(b)
	mustEqual(t, "second reader", got, data)
	a.Close()
	b.Close()
	// RELEASE reaches us after close(2) returns; until it does, a new open
	// is page-cached beside the old ones.
	e.waitReleases(2)

	c, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if s := stats(); s.PassthroughOpens != 1 {
		t.Fatalf("open of a wholly cached file: %+v", s)
	}
	fd, err := syscall.Open(p, syscall.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		t.Fatalf("O_DIRECT beside passthrough: %v", err)
	}
	syscall.Close(fd)
	if s := stats(); s.PassthroughOpens != 2 {
		t.Errorf("O_DIRECT beside passthrough should share the backing file: %+v", s)
	}
	c.WriteAt([]byte("changed"), 0)
	c.Close()
	copy(data, "changed")
	mustEqual(t, "after a passthrough write", mustRead(t, p), data)

	// O_DIRECT alone goes through the daemon without the page cache, and
	// needs no alignment. Wait for the releases of c, the O_DIRECT handle
	// and mustRead's: beside passthrough O_DIRECT shares the backing file,
	// whose own alignment rules apply.
	e.waitReleases(5)
	fd, err = syscall.Open(p, syscall.O_RDWR|syscall.O_DIRECT, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := syscall.Pwrite(fd, []byte("odd"), 3); err != nil {
		t.Errorf("unaligned O_DIRECT write: %v", err)
	}
	syscall.Close(fd)
	copy(data[3:], "odd")
	mustEqual(t, "after O_DIRECT", mustRead(t, p), data)
	if s := stats(); s.DirectOpens != 1 {
		t.Errorf("O_DIRECT alone: %+v", s)
	}
}

// TestConcurrentHandles opens one file many times at once, in every mode
// the kernel allows together, writing disjoint ranges and reading them back.
func TestConcurrentHandles(t *testing.T) {
	e := newEnv(t)
	p := e.p("shared")
	const n, chunk = 8, 256 << 10
	mustWrite(t, p, make([]byte, n*chunk))
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Add(2)
		go func() {
			defer wg.Done()
			flags := os.O_RDWR
			if i%3 == 0 {
				flags |= syscall.O_DIRECT
			}
			f, err := os.OpenFile(p, flags, 0)
			if err != nil {
				errs <- err
				return
			}
			defer f.Close()
			want := bytes.Repeat([]byte{byte('a' + i)}, chunk)
			for range 20 {
				if _, err := f.WriteAt(want, int64(i*chunk)); err != nil {
					errs <- fmt.Errorf("writer %d: %w", i, err)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range 20 {
				f, err := os.Open(p)
				if err != nil {
					errs <- err
					return
				}
				buf := make([]byte, n*chunk)
				if _, err := io.ReadFull(f, buf); err != nil {
					errs <- fmt.Errorf("reader %d: %w", i, err)
				}
				f.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := mustRead(t, p)
	for i := range n {
		if !bytes.Equal(got[i*chunk:(i+1)*chunk], bytes.Repeat([]byte{byte('a' + i)}, chunk)) {
			t.Errorf("range %d lost its writes", i)
		}
	}
	t.Logf("%+v", e.srv.Stats())
}
