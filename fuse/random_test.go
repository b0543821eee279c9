package fuse

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hoardfs/hoard/store"
	"time"
)

// TestRandomOps drives the mount with random reads, writes, truncates,
// renames, unlinks and reopens of a few small files, and checks every read
// against an in-memory model; at the end the whole content, again after
// unmounting and reopening the store, and in the UFS once persisted. Of the
// 100,000 operations (HOARD_RANDOM_OPS), 85% run with
// passthrough (the kernel does the I/O) and MUST_CACHE, so that the
// persister's commits do not slow them down; the rest go through the store
// for every read and write, with ASYNC_THROUGH, racing the persister.
func TestRandomOps(t *testing.T) {
	ops := 100_000
	if s := os.Getenv("HOARD_RANDOM_OPS"); s != "" {
		ops, _ = strconv.Atoi(s)
	}
	t.Run("passthrough", func(t *testing.T) {
		randomOps(t, true, store.MustCache, ops*85/100, 1)
	})
	t.Run("daemon", func(t *testing.T) {
		randomOps(t, false, store.AsyncThrough, ops*15/100, 2)
	})
}

const (
	randMaxSize  = 100 << 10
	randMaxWrite = 20 << 10
)

func randomOps(t *testing.T, passthrough bool, wt store.WriteType, ops int, seed uint64) {
	// In memory: the commits (an fsync of the cache file and of the
	// metadata each) would make this a disk benchmark.
	e := newEnvIn(t, memDir(t), func(e *env) {
		e.sopts.BlockSize = 16 << 10 // files span blocks
		e.opts.Passthrough = passthrough
		e.opts.WriteType = wt
	})
	os.Mkdir(e.p("sub"), 0o755)
	names := []string{"a", "b", "c", "d", "sub/e", "sub/f"}
	model := map[string][]byte{}
	fds := map[string]*os.File{}
	// Close what is open before the mount goes, even when the test fails:
	// a process exiting with files open on its own mount hangs in FLUSH.
	t.Cleanup(func() {
		for _, f := range fds {
			f.Close()
		}
	})
	rng := rand.New(rand.NewPCG(seed, 42))
	buf := make([]byte, randMaxWrite+100)
	pool := randBytes(seed, 1<<20)
	var history []string // the last ops, for the failure message
	logOp := func(format string, args ...any) {
		if len(history) == 30 {
			history = history[1:]
		}
		history = append(history, fmt.Sprintf(format, args...))
	}
	fail := func(i int, format string, args ...any) {
		t.Helper()
		t.Fatalf("op %d: "+format+"\nlast ops:\n%s", append(append([]any{i}, args...), strings.Join(history, "\n"))...)
	}
	fd := func(i int, name string) *os.File {
		if f := fds[name]; f != nil {
			return f
		}
		f, err := os.OpenFile(e.p(name), os.O_RDWR, 0)
		if err != nil {
			fail(i, "open %s: %v", name, err)
		}
		fds[name] = f
		return f
	}
	closeFd := func(i int, name string) {
		if f := fds[name]; f != nil {
			if err := f.Close(); err != nil {
				fail(i, "close %s: %v", name, err)
			}
			delete(fds, name)
		}
	}
	readAll := func(f *os.File) ([]byte, error) {
		var out []byte
		for off := int64(0); ; {
			n, err := f.ReadAt(buf[:randMaxWrite], off)
			out = append(out, buf[:n]...)
			off += int64(n)
			if err == io.EOF {
				return out, nil
			}
			if err != nil {
				return out, err
			}
		}
	}
	counts := map[string]int{}
	durs := map[string]time.Duration{}
	for i := range ops {
		opStart := time.Now()
		kind := ""
		name := names[rng.IntN(len(names))]
		data, exists := model[name]
		r := rng.IntN(1000)
		switch {
		case r < 430 || !exists && r < 730: // write, creating if needed
			if exists {
				kind = "write"
			} else {
				kind = "create+write"
				f, err := os.OpenFile(e.p(name), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
				if err != nil {
					fail(i, "create %s: %v", name, err)
				}
				fds[name] = f
			}
			off := rng.IntN(randMaxSize)
			n := 1 + rng.IntN(randMaxWrite)
			if rng.IntN(4) == 0 {
				n = 1 + rng.IntN(64)
			}
			// A slice of a random pool: filling bytes one by one costs
			// more than the write under the race detector.
			p := rng.IntN(len(pool) - n)
			w := pool[p : p+n]
			logOp("write %s [%d,+%d) size %d", name, off, n, max(len(data), off+n))
			if _, err := fd(i, name).WriteAt(w, int64(off)); err != nil {
				fail(i, "write %s [%d,+%d): %v", name, off, n, err)
			}
			if end := off + n; end > len(data) {
				data = append(data, make([]byte, end-len(data))...)
			}
			copy(data[off:], w)
			model[name] = data
		case !exists:
			// Everything below needs the file.
			kind = "missing"
			_, err := os.Stat(e.p(name))
			if !errors.Is(err, syscall.ENOENT) {
				fail(i, "stat of missing %s: %v", name, err)
			}
		case r < 730: // read a range
			kind = "read"
			off := rng.IntN(len(data) + 100)
			n := 1 + rng.IntN(randMaxWrite)
			logOp("read %s [%d,+%d)", name, off, n)
			got, err := fd(i, name).ReadAt(buf[:n], int64(off))
			if err != nil && err != io.EOF {
				fail(i, "read %s: %v", name, err)
			}
			var want []byte
			if off < len(data) {
				want = data[off:min(off+n, len(data))]
			}
			if !bytes.Equal(buf[:got], want) {
				fail(i, "read %s [%d,+%d): got %d bytes, want %d (file %d bytes)", name, off, n, got, len(want), len(data))
			}
		case r < 770: // truncate
			kind = "truncate"
			size := rng.IntN(randMaxSize)
			logOp("truncate %s %d", name, size)
			if err := fd(i, name).Truncate(int64(size)); err != nil {
				fail(i, "truncate %s %d: %v", name, size, err)
			}
			if size < len(data) {
				data = data[:size]
			} else {
				data = append(data, make([]byte, size-len(data))...)
			}
			model[name] = data
		case r < 800: // rename over another name, maybe existing
			kind = "rename"
			to := names[rng.IntN(len(names))]
			if to == name {
				continue
			}
			logOp("rename %s %s", name, to)
			closeFd(i, to)
			if err := os.Rename(e.p(name), e.p(to)); err != nil {
				fail(i, "rename %s %s: %v", name, to, err)
			}
			model[to] = data
			delete(model, name)
			if f := fds[name]; f != nil {
				fds[to] = f
				delete(fds, name)
			}
		case r < 815: // unlink
			kind = "unlink"
			logOp("unlink %s", name)
			closeFd(i, name)
			if err := os.Remove(e.p(name)); err != nil {
				fail(i, "unlink %s: %v", name, err)
			}
			delete(model, name)
		case r < 845: // close: a commit point
			kind = "close"
			logOp("close %s", name)
			closeFd(i, name)
		case r < 965: // whole file through the open descriptor
			kind = "readall"
			logOp("readall %s", name)
			got, err := readAll(fd(i, name))
			if err != nil {
				fail(i, "read %s: %v", name, err)
			}
			if !bytes.Equal(got, data) {
				fail(i, "content of %s: got %d bytes, want %d", name, len(got), len(data))
			}
		case r < 975: // fsync
			kind = "fsync"
			logOp("fsync %s", name)
			if err := fd(i, name).Sync(); err != nil {
				fail(i, "fsync %s: %v", name, err)
			}
		default: // a fresh open reads it all
			kind = "reopen"
			logOp("reopen %s", name)
			closeFd(i, name)
			got, err := os.ReadFile(e.p(name))
			if err != nil {
				fail(i, "read %s: %v", name, err)
			}
			if !bytes.Equal(got, data) {
				fail(i, "content of %s after reopen: got %d bytes, want %d", name, len(got), len(data))
			}
		}
		counts[kind]++
		durs[kind] += time.Since(opStart)
	}
	for n := range fds {
		closeFd(ops, n)
	}
	t.Logf("%d ops: %v; time %v; mount %+v", ops, counts, durs, e.srv.Stats())

	check := func(when string, read func(string) ([]byte, error)) {
		t.Helper()
		for _, n := range names {
			want, exists := model[n]
			got, err := read(n)
			switch {
			case !exists && !errors.Is(err, os.ErrNotExist):
				t.Errorf("%s: %s should not exist: %v", when, n, err)
			case exists && err != nil:
				t.Errorf("%s: %s: %v", when, n, err)
			case exists && !bytes.Equal(got, want):
				t.Errorf("%s: %s: got %d bytes, want %d", when, n, len(got), len(want))
			}
		}
	}
	stat := func(n string) ([]byte, error) {
		b, err := os.ReadFile(e.p(n))
		if err == nil {
			if fi, _ := os.Stat(e.p(n)); fi.Size() != int64(len(b)) {
				return b, fmt.Errorf("stat size %d, read %d bytes", fi.Size(), len(b))
			}
		}
		return b, err
	}
	check("after closing", stat)
	e.restart()
	check("after restart", stat)
	if wt == store.MustCache {
		return
	}
	e.waitPersisted()
	check("in the UFS", func(n string) ([]byte, error) { return os.ReadFile(filepath.Join(e.ufsDir, n)) })
	if ents, _ := os.ReadDir(e.mnt); !slices.ContainsFunc(ents, func(d os.DirEntry) bool { return d.Name() == "sub" }) {
		t.Errorf("sub missing after restart: %v", ents)
	}
}
