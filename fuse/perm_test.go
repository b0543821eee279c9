package fuse

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/hoardfs/hoard/store"
)

// TestPermissions runs system calls as an unprivileged user (the mount is
// allow_other with default_permissions) and checks the EACCES and EPERM
// answers, and the setuid/setgid rules of FUSE_HANDLE_KILLPRIV_V2.
func TestPermissions(t *testing.T) {
	e := newEnv(t)
	mnt := e.mnt
	// A world-writable sticky directory, as /tmp.
	tmp := e.p("tmp")
	os.Mkdir(tmp, 0o755)
	syscall.Chmod(tmp, 0o1777)
	mustWrite(t, e.p("secret"), []byte("s"))
	os.Chmod(e.p("secret"), 0o600)
	mustWrite(t, filepath.Join(tmp, "roots"), []byte("r"))
	os.Chmod(filepath.Join(tmp, "roots"), 0o666)

	as := func(script string) (string, syscall.Errno) {
		out, err := shErr(mnt, script+" 2>&1", nobody)
		if err == nil {
			return out, 0
		}
		switch {
		case strings.Contains(out, "Permission denied"):
			return out, syscall.EACCES
		case strings.Contains(out, "Operation not permitted"):
			return out, syscall.EPERM
		}
		return out, syscall.EIO
	}
	for _, c := range []struct {
		name, script string
		want         syscall.Errno
	}{
		{"create in a root directory", "touch newfile", syscall.EACCES},
		{"mkdir in a root directory", "mkdir newdir", syscall.EACCES},
		{"read a 0600 file", "cat secret", syscall.EACCES},
		{"write a 0600 file", "echo x >> secret", syscall.EACCES},
		{"unlink in a root directory", "rm -f secret", syscall.EACCES},
		{"chmod another's file", "chmod 777 tmp/roots", syscall.EPERM},
		{"chown", "chown 65534 tmp/roots", syscall.EPERM},
		{"delete another's file in a sticky dir", "rm -f tmp/roots", syscall.EPERM},
		{"utimes another's file", "touch -d 2001-01-01 tmp/roots", syscall.EPERM},
		{"create in a sticky dir", "echo mine > tmp/mine && cat tmp/mine", 0},
		{"write a 0666 file", "echo more >> tmp/roots", 0},
	} {
		out, got := as(c.script)
		if got != c.want {
			t.Errorf("%s: got %v, want %v\n%s", c.name, got, c.want, out)
		}
	}
	var st syscall.Stat_t
	syscall.Stat(filepath.Join(tmp, "mine"), &st)
	if st.Uid != 65534 || st.Gid != 65534 {
		t.Errorf("owner of a file made by nobody: %d:%d", st.Uid, st.Gid)
	}

	// setuid/setgid: a write or truncate by an unprivileged user clears
	// them, a chown clears them, chmod by the owner keeps them.
	sx := filepath.Join(tmp, "suid")
	mustWrite(t, sx, []byte("#!/bin/sh\n"))
	if err := syscall.Chmod(sx, 0o6777); err != nil {
		t.Fatal(err)
	}
	mode := func() uint32 {
		var st syscall.Stat_t
		if err := syscall.Stat(sx, &st); err != nil {
			t.Fatal(err)
		}
		return st.Mode & 0o7777
	}
	if m := mode(); m != 0o6777 {
		t.Fatalf("chmod 6777: %o", m)
	}
	if out, errno := as("echo x >> tmp/suid"); errno != 0 {
		t.Fatalf("write as nobody: %v %s", errno, out)
	}
	if m := mode(); m != 0o777 {
		t.Errorf("after an unprivileged write: mode %o, want 0777", m)
	}
	syscall.Chmod(sx, 0o6777)
	if out, errno := as("truncate -s 0 tmp/suid"); errno != 0 {
		t.Fatalf("truncate as nobody: %v %s", errno, out)
	}
	if m := mode(); m != 0o777 {
		t.Errorf("after an unprivileged truncate: mode %o, want 0777", m)
	}
	syscall.Chmod(sx, 0o6777)
	os.Chown(sx, 65534, 65534)
	if m := mode(); m != 0o777 {
		t.Errorf("after chown: mode %o, want 0777", m)
	}
	// The owner may set them again, and root writing keeps them.
	if out, errno := as("chmod 6755 tmp/suid"); errno != 0 {
		t.Fatalf("chmod by the owner: %v %s", errno, out)
	}
	if m := mode(); m != 0o6755 {
		t.Errorf("chmod 6755 by the owner: %o", m)
	}
	f, _ := os.OpenFile(sx, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte("root\n"))
	f.Close()
	if m := mode(); m != 0o6755 {
		t.Errorf("after a write by root: mode %o, want 6755", m)
	}
}

// TestReadOnly mounts read-only: reads work, every change is EROFS.
func TestReadOnly(t *testing.T) {
	e := newEnv(t)
	mustWrite(t, e.p("f"), []byte("data"))
	os.Mkdir(e.p("d"), 0o755)
	e.unmount()
	e.opts.ReadOnly = true
	e.mount()
	mustEqual(t, "read", mustRead(t, e.p("f")), []byte("data"))
	_, err := os.OpenFile(e.p("f"), os.O_WRONLY, 0)
	wantErrno(t, "open for writing", err, syscall.EROFS)
	wantErrno(t, "create", os.WriteFile(e.p("g"), nil, 0o644), syscall.EROFS)
	wantErrno(t, "mkdir", os.Mkdir(e.p("e"), 0o755), syscall.EROFS)
	wantErrno(t, "unlink", os.Remove(e.p("f")), syscall.EROFS)
	wantErrno(t, "rmdir", os.Remove(e.p("d")), syscall.EROFS)
	wantErrno(t, "chmod", os.Chmod(e.p("f"), 0o600), syscall.EROFS)
	wantErrno(t, "rename", os.Rename(e.p("f"), e.p("g")), syscall.EROFS)
	if st := e.srv.Stats(); st.PassthroughOpens == 0 {
		t.Errorf("a read-only mount should still read cached files through passthrough: %+v", st)
	}
}

// TestStale checks that a node removed behind the kernel's back answers
// ESTALE (so that the kernel looks the path up again), not ENOENT.
func TestStale(t *testing.T) {
	e := newEnv(t)
	d := e.p("gone")
	os.Mkdir(d, 0o755)
	fd, err := syscall.Open(d, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	if err := e.st.Remove(store.WithOrigin(bg, "s3"), "/gone"); err != nil {
		t.Fatal(err)
	}
	var st syscall.Stat_t
	eventually(t, "fstat of a removed directory", func() error {
		return wantErr(syscall.Fstat(fd, &st), syscall.ESTALE)
	})
	_, err = syscall.Openat(fd, "x", syscall.O_CREAT|syscall.O_WRONLY, 0o644)
	wantErrno(t, "create in a removed directory", err, syscall.ESTALE)
	// The path itself is simply gone.
	_, err = os.Stat(d)
	wantErrno(t, "stat by path", err, syscall.ENOENT)
}
