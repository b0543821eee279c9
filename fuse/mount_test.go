package fuse

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hoardfs/hoard/store"
	"github.com/hoardfs/hoard/ufs/local"
)

// TestMain doubles as a daemon for TestStaleMount: with
// HOARD_FUSE_TEST_DAEMON set, the test binary mounts a store there and
// serves it until killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("HOARD_FUSE_TEST_DAEMON"); dir != "" {
		os.Exit(testDaemon(dir))
	}
	os.Exit(m.Run())
}

func testDaemon(dir string) int {
	u, err := local.New(filepath.Join(dir, "ufs"))
	if err != nil {
		fmt.Println(err)
		return 1
	}
	st, err := store.Open(store.Options{
		MetaDir: filepath.Join(dir, "meta"), CacheDirs: []string{filepath.Join(dir, "cache")},
		Quota: 1 << 30, RootUFS: u, RootURI: "file://" + dir + "/ufs", SyncInterval: -1,
	})
	if err != nil {
		fmt.Println(err)
		return 1
	}
	if _, err := Mount(st, filepath.Join(dir, "mnt"), DefaultOptions()); err != nil {
		fmt.Println(err)
		return 1
	}
	fmt.Println("ready")
	select {}
}

// TestStaleMount kills a daemon with its mount up, as a crash does, and
// checks that the next Mount clears the dead mount and serves again.
func TestStaleMount(t *testing.T) {
	requireFUSE(t)
	dir := t.TempDir()
	mnt := filepath.Join(dir, "mnt")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HOARD_FUSE_TEST_DAEMON="+dir)
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("test daemon: %q", line)
	}
	if err := os.WriteFile(filepath.Join(mnt, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	var st syscall.Stat_t
	err := syscall.Stat(mnt, &st)
	wantErrno(t, "stat of the dead mount", err, syscall.ENOTCONN)

	e := &env{t: t, dir: dir, ufsDir: filepath.Join(dir, "ufs2"), mnt: mnt, opts: DefaultOptions()}
	e.sopts = store.Options{MetaDir: filepath.Join(dir, "meta2"), CacheDirs: []string{filepath.Join(dir, "cache2")},
		Quota: 1 << 30, SyncInterval: -1}
	e.open()
	e.mount()
	t.Cleanup(e.close)
	mustWrite(t, e.p("g"), []byte("alive"))
	mustEqual(t, "after clearing", mustRead(t, e.p("g")), []byte("alive"))
	if fstype, ok := mountedAt(mnt); !ok || fstype != "fuse.hoard" {
		t.Errorf("mountinfo: %q %v", fstype, ok)
	}

	// A live mount is not cleared: mounting again there is an error.
	if _, err := Mount(e.st, mnt, DefaultOptions()); err == nil {
		t.Errorf("mounting over a live mount succeeded")
	}
}

// TestUnmountBusy unmounts with a file open: the mount is detached lazily
// and Unmount returns.
func TestUnmountBusy(t *testing.T) {
	e := newEnv(t)
	mustWrite(t, e.p("f"), []byte("x"))
	f, err := os.Open(e.p("f"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.srv.Unmount() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("unmount: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("unmount hung with a file open")
	}
	e.srv = nil
	f.Close()
	if _, ok := mountedAt(e.mnt); ok {
		t.Errorf("still mounted after Unmount")
	}
}

// TestMountOptions checks what the kernel was told: the mount flags, the
// read-ahead, and the capabilities negotiated.
func TestMountOptions(t *testing.T) {
	e := newEnv(t)
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var line string
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == e.mnt {
			line = l
		}
	}
	for _, want := range []string{"nosuid", "nodev", "fuse.hoard", "default_permissions", "allow_other", "max_read=1048576"} {
		if !strings.Contains(line, want) {
			t.Errorf("mountinfo lacks %s: %s", want, line)
		}
	}
	var st syscall.Stat_t
	syscall.Stat(e.mnt, &st)
	ra, err := os.ReadFile(fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev)))
	if err != nil || strings.TrimSpace(string(ra)) != "4096" {
		t.Errorf("read_ahead_kb: %q %v", ra, err)
	}
}

// TestKillprivSavesGetxattr writes through passthrough with and without
// FUSE_HANDLE_KILLPRIV_V2 and counts the GETXATTR security.capability
// requests: one per inode with it, one per write without.
func TestKillprivSavesGetxattr(t *testing.T) {
	for _, kp := range []bool{true, false} {
		e := newEnv(t, func(e *env) { e.opts.HandleKillpriv = kp })
		f, err := os.Create(e.p("f"))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		for i := range 1000 {
			f.WriteAt(buf, int64(i%100)*4096)
		}
		f.Close()
		n := e.srv.Stats().Getxattrs
		t.Logf("killpriv_v2=%v: %d GETXATTR for 1000 writes", kp, n)
		if kp && n > 5 || !kp && n < 500 {
			t.Errorf("killpriv_v2=%v: %d GETXATTR for 1000 writes", kp, n)
		}
		e.close()
	}
}
