package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hoardfs/hoard/store/meta"
)

// crashDirEnv, when set, makes the test binary act as the process that
// crashes: see crashChild.
const crashDirEnv = "HOARD_STORE_CRASH_DIR"

// closeCrashDirEnv does the same for closeCrashChild.
const closeCrashDirEnv = "HOARD_STORE_CLOSE_CRASH_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		os.Exit(3) // "killed": no Close, no flush, no unmount
	}
	if dir := os.Getenv(closeCrashDirEnv); dir != "" {
		closeCrashChild(dir)
		os.Exit(3)
	}
	os.Exit(m.Run())
}

var (
	crashCommitted = randBytes(21, 200_000)
	crashPersisted = randBytes(22, 150_000)
)

// childFail is the error check of a test's child process, which has no
// testing.T to fail: it says what failed and exits.
func childFail(who string) func(error) {
	return func(err error) {
		if err != nil {
			fmt.Fprintln(os.Stderr, who+":", err)
			os.Exit(1)
		}
	}
}

// crashChild runs in a separate process: it commits some files, leaves
// other writes uncommitted, and exits without closing anything.
func crashChild(dir string) {
	t := &testing.T{}
	e := newEnvAt(t, dir)
	fail := childFail("crash child")
	// c reaches the UFS before the crash.
	c := e.writeFile(RootIno, "c", crashPersisted)
	fail(e.s.WaitPersisted(bg))
	// a is committed while the UFS is down: its persist is queued.
	e.faults.SetDown(true)
	e.writeFile(RootIno, "a", crashCommitted)
	// b is written but never committed.
	_, hb, err := e.s.Create(bg, RootIno, "b", 0o644, Cred{}, os.O_RDWR)
	fail(err)
	_, err = hb.Write(bg, []byte("never committed"), 0)
	fail(err)
	// c is overwritten in place, uncommitted.
	hc, err := e.s.Open(bg, c.Ino, os.O_RDWR)
	fail(err)
	_, err = hc.Write(bg, bytes.Repeat([]byte("X"), 1000), 0)
	fail(err)
}

// TestCrashRecovery kills a store mid-work and reopens it: what was
// committed is there and reaches the UFS, uncommitted writes to a persisted
// file are dropped in favour of the UFS copy, and nothing reads garbage.
func TestCrashRecovery(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("crash child: %v\n%s", err, out)
	}
	e := newEnvAt(t, dir)
	mustEqual(t, e.readPath("/a"), crashCommitted)
	mustEqual(t, e.readPath("/c"), crashPersisted)
	if b, err := e.s.Resolve(bg, "/b"); err == nil {
		if got := e.readAll(b.Ino); len(got) != 0 {
			t.Fatalf("uncommitted b reads %q", got)
		}
	}
	e.waitPersisted()
	got, err := e.ufsBytes("a")
	if err != nil {
		t.Fatal(err)
	}
	mustEqual(t, got, crashCommitted)
	got, _ = e.ufsBytes("c")
	mustEqual(t, got, crashPersisted)
}

var (
	closedPersisted = randBytes(23, 300_000)
	closedLocal     = randBytes(24, 100_000)
)

// closeCrashChild closes files (no fsync) in boot "boot-A" and dies before
// the background sync: p reaches the UFS, u does not (the UFS is down).
func closeCrashChild(dir string) {
	e := newEnvAt(&testing.T{}, dir, func(o *Options) {
		o.BootID = "boot-A"
		o.BackgroundSync = time.Hour // the crash comes first, however slow the machine
	})
	e.writeFile(RootIno, "p", closedPersisted)
	if err := e.s.WaitPersisted(bg); err != nil {
		fmt.Fprintln(os.Stderr, "close crash child:", err)
		os.Exit(1)
	}
	e.faults.SetDown(true)
	e.writeFile(RootIno, "u", closedLocal)
}

// runCloseCrashChild runs closeCrashChild in dir and checks that its cache
// records say Unsynced: it died within the background sync's second.
func runCloseCrashChild(t *testing.T, dir string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), closeCrashDirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("crash child: %v\n%s", err, out)
	}
}

// TestCloseSurvivesDaemonCrash: a close is not an fsync, yet what it
// committed survives the death of the process at once (it is in the
// kernel), and the next start puts it on the disk.
func TestCloseSurvivesDaemonCrash(t *testing.T) {
	dir := t.TempDir()
	runCloseCrashChild(t, dir)
	e := newEnvAt(t, dir, func(o *Options) { o.BootID = "boot-A" })
	for name, want := range map[string][]byte{"p": closedPersisted, "u": closedLocal} {
		n, err := e.s.Resolve(bg, "/"+name)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := e.s.DB().CacheState(n.Ino)
		if err != nil || cs.Unsynced {
			t.Errorf("%s: cache record after start-up %+v, %v: want synced", name, cs, err)
		}
		if c := e.s.CachedBytes(n); c != int64(len(want)) {
			t.Errorf("%s: %d bytes cached after a crash of the daemon, want all %d", name, c, len(want))
		}
		mustEqual(t, e.readPath("/"+name), want)
	}
}

// TestCloseAfterMachineCrash plays a crash of the machine: the same store
// reopened under another boot id after an unclean stop. Blocks recorded
// only as in the kernel are not trusted: the persisted file's cache is
// dropped and its bytes come from the UFS; the local-only file is kept
// (there is nothing better) and reported.
func TestCloseAfterMachineCrash(t *testing.T) {
	dir := t.TempDir()
	runCloseCrashChild(t, dir)
	e := newEnvAt(t, dir, func(o *Options) { o.BootID = "boot-B" })
	p, err := e.s.Resolve(bg, "/p")
	if err != nil {
		t.Fatal(err)
	}
	if c := e.s.CachedBytes(p); c != 0 {
		t.Errorf("p: %d bytes still cached after a crash of the machine, want its cache dropped", c)
	}
	mustEqual(t, e.readPath("/p"), closedPersisted) // from the UFS
	u, err := e.s.Resolve(bg, "/u")
	if err != nil {
		t.Fatal(err)
	}
	if c := e.s.CachedBytes(u); c != int64(len(closedLocal)) {
		t.Errorf("u: %d bytes cached, want the %d that were there kept", c, len(closedLocal))
	}
	// A clean stop then a start under yet another boot trusts everything.
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	e.s = nil
	if last, _, _ := openedRun(t, dir); !last.Clean || last.BootID != "boot-B" {
		t.Errorf("run record after a clean stop: %+v", last)
	}
	e2 := newEnvAt(t, dir, func(o *Options) { o.BootID = "boot-C" })
	mustEqual(t, e2.readPath("/u"), closedLocal)
	if last, _, _ := e2.s.DB().LastRun(); last.BootID != "boot-C" || last.Clean {
		t.Errorf("run record while running: %+v", last)
	}
}

// openedRun reads the run record of the closed store under dir.
func openedRun(t *testing.T, dir string) (meta.Run, bool, error) {
	t.Helper()
	db, err := meta.Open(filepath.Join(dir, "meta"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	return db.LastRun()
}

// TestCloseTwice: a second Close is harmless, as for a file.
func TestCloseTwice(t *testing.T) {
	e := newEnv(t)
	e.writeFile(RootIno, "f", []byte("x"))
	if err := e.s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	e.s = nil
	e.open()
	mustEqual(t, e.readPath("/f"), []byte("x"))
}
