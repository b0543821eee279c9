package store

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// crashDirEnv, when set, makes the test binary act as the process that
// crashes: see crashChild.
const crashDirEnv = "HOARD_STORE_CRASH_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		os.Exit(3) // "killed": no Close, no flush, no unmount
	}
	os.Exit(m.Run())
}

var (
	crashCommitted = randBytes(21, 200_000)
	crashPersisted = randBytes(22, 150_000)
)

// crashChild runs in a separate process: it commits some files, leaves
// other writes uncommitted, and exits without closing anything.
func crashChild(dir string) {
	t := &testing.T{}
	e := newEnvAt(t, dir)
	fail := func(err error) {
		if err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			os.Exit(1)
		}
	}
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
