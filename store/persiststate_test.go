package store

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/faults"
	"github.com/hoardfs/hoard/ufs/local"
)

// TestMustCacheNeverEvicted: with the UFS up, MUST_CACHE files stay in the
// cache whatever the pressure from persisted files: never evicted, never
// uploaded, NOT_PERSISTED, before and after a restart.
func TestMustCacheNeverEvicted(t *testing.T) {
	const bs = 64 << 10
	e := newEnv(t, func(o *Options) { o.BlockSize = bs; o.Quota = 8 * bs })
	mc := WithWriteType(bg, MustCache)
	must := map[string][]byte{"m1": randBytes(81, 2*bs), "m2": randBytes(82, bs+99)}
	for name, data := range must {
		e.writeFileCtx(mc, RootIno, name, data)
	}
	pressure := func(round string) {
		t.Helper()
		before := e.s.CacheStats().Evictions
		// 4 blocks at most fit beside the 3 of MUST_CACHE; write 12.
		for i := range 6 {
			e.writeFile(RootIno, fmt.Sprintf("%s%d", round, i), randBytes(uint64(90+i), 2*bs))
			e.waitPersisted()
		}
		st := e.s.CacheStats()
		if st.Evictions == before || st.Used > st.Capacity {
			t.Fatalf("%s: the cache was not pressed, or overflowed: %+v", round, st)
		}
		if st.Dirty < 3*bs {
			t.Errorf("%s: %d dirty bytes, want at least the %d of MUST_CACHE", round, st.Dirty, 3*bs)
		}
	}
	check := func(when string) {
		t.Helper()
		for name, data := range must {
			n, err := e.s.Resolve(bg, "/"+name)
			if err != nil {
				t.Fatal(err)
			}
			if n.State != NotPersisted || n.WriteType != MustCache || n.DataInUFS {
				t.Errorf("%s %s: state %v, write type %v, in UFS %v; want NOT_PERSISTED MUST_CACHE", when, name, n.State, n.WriteType, n.DataInUFS)
			}
			if c := e.s.CachedBytes(n); c != int64(len(data)) {
				t.Errorf("%s %s: %d of %d bytes cached", when, name, c, len(data))
			}
			if _, err := e.ufsBytes(name); !os.IsNotExist(err) {
				t.Errorf("%s %s: in the UFS (%v)", when, name, err)
			}
			e.faults.SetDown(true) // from the cache or not at all
			mustEqual(t, e.readPath("/"+name), data)
			e.faults.SetDown(false)
		}
	}
	pressure("a")
	check("under pressure")
	e.restart()
	check("after a restart")
	pressure("b")
	check("under pressure after a restart")
	if q := e.s.Queue(); q.Depth != 0 {
		t.Errorf("queue %+v: MUST_CACHE queues nothing", q)
	}
}

// gateFS holds every Put until its gate opens.
type gateFS struct {
	ufs.UFS
	mu      sync.Mutex
	gate    chan struct{}
	started chan string // the key of each Put that reached the gate
}

func (g *gateFS) Put(ctx context.Context, key string, r io.Reader, size int64) (ufs.ObjectInfo, error) {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	select {
	case g.started <- key:
	default:
	}
	select {
	case <-gate:
	case <-ctx.Done():
		return ufs.ObjectInfo{}, ctx.Err()
	}
	return g.UFS.Put(ctx, key, r, size)
}

// TestAsyncThroughToBePersisted: an ASYNC_THROUGH file is TO_BE_PERSISTED
// from its commit until its upload is done, while the upload is held in
// flight and while it keeps failing, and PERSISTED with the object's
// fingerprint once the UFS lets it through.
func TestAsyncThroughToBePersisted(t *testing.T) {
	dir := t.TempDir()
	u, err := local.New(filepath.Join(dir, "ufs"))
	if err != nil {
		t.Fatal(err)
	}
	fl := faults.New(u)
	g := &gateFS{UFS: fl, gate: make(chan struct{}), started: make(chan string, 16)}
	s, err := Open(Options{
		MetaDir: filepath.Join(dir, "meta"), CacheDirs: []string{filepath.Join(dir, "cache")},
		Quota: 1 << 30, BlockSize: 64 << 10, RootUFS: g, RootURI: "file://" + filepath.Join(dir, "ufs"),
		SyncInterval: -1, PersistWorkers: 2, RetryBase: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		WriteType: AsyncThrough,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := &env{t: t, dir: dir, ufsDir: filepath.Join(dir, "ufs"), faults: fl, s: s}
	state := func(ino uint64) *Inode {
		t.Helper()
		n, err := s.GetAttr(bg, ino)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// Held in flight.
	data := randBytes(85, 200_000)
	n := e.writeFile(RootIno, "held", data)
	select {
	case key := <-g.started:
		if key != "held" {
			t.Fatalf("upload of %q", key)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the upload never started")
	}
	if got := state(n.Ino); got.State != ToBePersisted || got.DataInUFS {
		t.Fatalf("while its upload is in flight: state %v, in UFS %v; want TO_BE_PERSISTED", got.State, got.DataInUFS)
	}
	if q := s.Queue(); q.Depth < 1 {
		t.Fatalf("queue %+v while an upload is in flight", q)
	}
	if _, err := e.ufsBytes("held"); !os.IsNotExist(err) {
		t.Fatalf("in the UFS before the upload was let through: %v", err)
	}
	sub := s.Subscribe()
	defer sub.Close()
	close(g.gate)
	e.waitPersisted()
	got := state(n.Ino)
	if got.State != Persisted || !got.DataInUFS || got.UFS.Key != "held" || got.UFS.Size != int64(len(data)) || got.ETag != md5hex(data) {
		t.Fatalf("after the upload: %+v; want PERSISTED with the object's fingerprint", got)
	}
	if b, err := e.ufsBytes("held"); err != nil {
		t.Fatal(err)
	} else {
		mustEqual(t, b, data)
	}
	select {
	case ev := <-sub.C:
		if ev.Kind != Uploaded || ev.Ino != n.Ino {
			t.Fatalf("event %+v, want Uploaded for inode %d", ev, n.Ino)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no Uploaded event")
	}

	// Failing: the UFS is down; the task is retried, the state stays.
	fl.SetDown(true)
	data2 := randBytes(86, 1000)
	n2 := e.writeFile(RootIno, "failing", data2)
	deadline := time.Now().Add(10 * time.Second)
	for s.Queue().Failing == 0 || fl.Calls(faults.MethodPut) < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("no failed attempts: %+v, %d puts", s.Queue(), fl.Calls(faults.MethodPut))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := state(n2.Ino); got.State != ToBePersisted {
		t.Fatalf("while its upload fails: state %v, want TO_BE_PERSISTED", got.State)
	}
	// A rewrite while it waits keeps it TO_BE_PERSISTED, of the new content.
	h, err := s.Open(bg, n2.Ino, os.O_RDWR)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Write(bg, []byte("NEW"), 0); err != nil {
		t.Fatal(err)
	}
	if err := h.Release(bg); err != nil {
		t.Fatal(err)
	}
	if got := state(n2.Ino); got.State != ToBePersisted {
		t.Fatalf("after a rewrite: state %v", got.State)
	}
	fl.SetDown(false)
	e.waitPersisted()
	copy(data2, "NEW")
	if got := state(n2.Ino); got.State != Persisted || got.ETag != md5hex(data2) {
		t.Fatalf("after the UFS came back: %+v", got)
	}
	if b, err := e.ufsBytes("failing"); err != nil {
		t.Fatal(err)
	} else {
		mustEqual(t, b, data2)
	}
	if q := s.Queue(); q.Depth != 0 || q.Failing != 0 {
		t.Fatalf("queue after the drain: %+v", q)
	}
}

// slowPutUFS reads the bodies of its Puts 64 KiB at a time, 30 ms apart,
// as a slow link does.
type slowPutUFS struct{ ufs.UFS }

func (u slowPutUFS) Put(ctx context.Context, key string, r io.Reader, size int64) (ufs.ObjectInfo, error) {
	var buf bytes.Buffer
	chunk := make([]byte, 64<<10)
	for {
		n, err := r.Read(chunk)
		buf.Write(chunk[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return ufs.ObjectInfo{}, err
		}
		time.Sleep(30 * time.Millisecond)
	}
	return u.UFS.Put(ctx, key, &buf, int64(buf.Len()))
}

// TestPersistProgressWithinAFile persists one file of 1 MiB over a slow
// link: the progress moves while it uploads, not only when it is done.
func TestPersistProgressWithinAFile(t *testing.T) {
	e := newEnv(t)
	e.wrap = func(u ufs.UFS) ufs.UFS { return slowPutUFS{u} }
	e.restart()
	data := randBytes(8, 1<<20)
	e.writeFileCtx(WithWriteType(bg, MustCache), RootIno, "f", data)
	var reports [][2]int64
	if err := e.s.PersistPath(bg, "/f", func(done, total int64) { reports = append(reports, [2]int64{done, total}) }); err != nil {
		t.Fatal(err)
	}
	within := 0
	for _, r := range reports {
		if r[1] != int64(len(data)) {
			t.Fatalf("progress total %d, want %d", r[1], len(data))
		}
		if r[0] > 0 && r[0] < r[1] {
			within++
		}
	}
	if within == 0 || reports[len(reports)-1][0] != int64(len(data)) {
		t.Fatalf("progress reports %v: want some within the file and the last at its end", reports)
	}
	got, err := e.ufsBytes("f")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, got, data)
}

// TestPersistedFileMakesItsDirectoriesPersisted: directories made by a
// MUST_CACHE put stay NOT_PERSISTED, until a file under them reaches the
// UFS: then they are persisted with it, as Alluxio persists a file's
// ancestors; the MUST_CACHE file itself stays where it was.
func TestPersistedFileMakesItsDirectoriesPersisted(t *testing.T) {
	e := newEnv(t)
	if _, err := e.s.PutObject(WithWriteType(bg, MustCache), "/d/sub/local", bytes.NewReader([]byte("x")), PutOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	e.waitPersisted()
	for _, p := range []string{"/d", "/d/sub", "/d/sub/local"} {
		if n, err := e.s.Resolve(bg, p); err != nil || n.State != NotPersisted {
			t.Fatalf("%s after a MUST_CACHE put: %v %v", p, n, err)
		}
	}
	if _, err := e.s.PutObject(bg, "/d/sub/shared", bytes.NewReader([]byte("y")), PutOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	e.waitPersisted()
	for p, want := range map[string]PersistState{"/d": Persisted, "/d/sub": Persisted, "/d/sub/shared": Persisted, "/d/sub/local": NotPersisted} {
		if n, err := e.s.Resolve(bg, p); err != nil || n.State != want {
			t.Fatalf("%s after a file under it was persisted: %v %v, want %v", p, n.State, err, want)
		}
	}
	if st, err := os.Stat(filepath.Join(e.ufsDir, "d", "sub")); err != nil || !st.IsDir() {
		t.Fatalf("the UFS has no d/sub: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.ufsDir, "d", "sub", "local")); !os.IsNotExist(err) {
		t.Fatalf("the MUST_CACHE file reached the UFS: %v", err)
	}
}
