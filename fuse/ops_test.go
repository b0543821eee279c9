package fuse

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestOperations exercises every operation the mount offers through
// system calls, and the errno of each failure.
func TestOperations(t *testing.T) {
	e := newEnv(t)
	mnt := e.mnt

	t.Run("CreateOpenFlags", func(t *testing.T) {
		p := e.p("flags")
		_, err := os.Open(p)
		wantErrno(t, "open missing", err, syscall.ENOENT)
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o640)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("0123456789"))
		f.Close()
		_, err = os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o640)
		wantErrno(t, "O_EXCL on existing", err, syscall.EEXIST)

		// O_APPEND
		f, err = os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("ab"))
		f.WriteAt([]byte("x"), 0) // Go refuses WriteAt with O_APPEND
		f.Write([]byte("cd"))
		f.Close()
		mustEqual(t, "append", mustRead(t, p), []byte("0123456789abcd"))

		// O_TRUNC
		f, err = os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if fi, _ := f.Stat(); fi.Size() != 0 {
			t.Errorf("size after O_TRUNC: %d", fi.Size())
		}
		f.Write([]byte("new"))
		f.Close()
		mustEqual(t, "trunc", mustRead(t, p), []byte("new"))

		// Writing to a read-only descriptor, opening a directory for writing.
		f, _ = os.Open(p)
		_, err = f.Write([]byte("x"))
		wantErrno(t, "write O_RDONLY", err, syscall.EBADF)
		f.Close()
		_, err = os.OpenFile(mnt, os.O_WRONLY, 0)
		wantErrno(t, "open dir for writing", err, syscall.EISDIR)
		_, err = os.Open(filepath.Join(p, "x"))
		wantErrno(t, "file as directory", err, syscall.ENOTDIR)
		_, err = os.Create(filepath.Join(mnt, "nodir", "x"))
		wantErrno(t, "create in missing dir", err, syscall.ENOENT)
		_, err = os.Create(filepath.Join(mnt, strings.Repeat("n", 256)))
		wantErrno(t, "long name", err, syscall.ENAMETOOLONG)
		// 255 bytes is allowed.
		if err := os.WriteFile(filepath.Join(mnt, strings.Repeat("n", 255)), nil, 0o644); err != nil {
			t.Errorf("255-byte name: %v", err)
		}
	})

	t.Run("RandomWritesTruncate", func(t *testing.T) {
		p := e.p("rw")
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		model := make([]byte, 0)
		put := func(off int, b []byte) {
			if _, err := f.WriteAt(b, int64(off)); err != nil {
				t.Fatal(err)
			}
			if end := off + len(b); end > len(model) {
				model = append(model, make([]byte, end-len(model))...)
			}
			copy(model[off:], b)
		}
		put(5<<20, randBytes(3, 1000)) // a hole before
		put(100, randBytes(4, 3<<20))
		put(0, []byte("head"))
		if err := f.Truncate(2 << 20); err != nil {
			t.Fatal(err)
		}
		model = model[:2<<20]
		if err := f.Truncate(3 << 20); err != nil {
			t.Fatal(err)
		}
		model = append(model, make([]byte, 1<<20)...)
		got := make([]byte, len(model)+10)
		n, err := f.ReadAt(got, 0)
		if err != io.EOF {
			t.Fatalf("read: %d %v", n, err)
		}
		mustEqual(t, "random writes", got[:n], model)
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, 10); err != nil { // truncate by path
			t.Fatal(err)
		}
		if fi, _ := os.Stat(p); fi.Size() != 10 {
			t.Errorf("size after truncate(2): %d", fi.Size())
		}
		wantErrno(t, "truncate missing", os.Truncate(e.p("nope"), 0), syscall.ENOENT)
		wantErrno(t, "truncate dir", os.Truncate(mnt, 0), syscall.EISDIR)
	})

	t.Run("ChmodChownUtimens", func(t *testing.T) {
		p := e.p("attrs")
		mustWrite(t, p, []byte("x"))
		for _, mode := range []os.FileMode{0o4755, 0o2755, 0o1777, 0o6711, 0o600} {
			// os.Chmod takes Go's mode bits; use the syscall for the
			// POSIX ones.
			if err := syscall.Chmod(p, uint32(mode)); err != nil {
				t.Fatal(err)
			}
			var st syscall.Stat_t
			syscall.Stat(p, &st)
			if st.Mode&0o7777 != uint32(mode) {
				t.Errorf("chmod %o: got %o", mode, st.Mode&0o7777)
			}
		}
		if err := os.Chown(p, 1234, 5678); err != nil {
			t.Fatal(err)
		}
		var st syscall.Stat_t
		syscall.Stat(p, &st)
		if st.Uid != 1234 || st.Gid != 5678 {
			t.Errorf("chown: %d:%d", st.Uid, st.Gid)
		}
		at := time.Date(2001, 2, 3, 4, 5, 6, 7000, time.UTC)
		mt := time.Date(2002, 3, 4, 5, 6, 7, 8000, time.UTC)
		if err := os.Chtimes(p, at, mt); err != nil {
			t.Fatal(err)
		}
		syscall.Stat(p, &st)
		if got := time.Unix(st.Mtim.Unix()); !got.Equal(mt) {
			t.Errorf("mtime %v, want %v", got, mt)
		}
		if got := time.Unix(st.Atim.Unix()); !got.Equal(at) {
			t.Errorf("atime %v, want %v", got, at)
		}
		// utimensat(UTIME_NOW)
		before := time.Now().Add(-time.Second)
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{{Nsec: unix.UTIME_NOW}, {Nsec: unix.UTIME_NOW}}, 0); err != nil {
			t.Fatal(err)
		}
		syscall.Stat(p, &st)
		if time.Unix(st.Mtim.Unix()).Before(before) {
			t.Errorf("UTIME_NOW left mtime at %v", time.Unix(st.Mtim.Unix()))
		}
		wantErrno(t, "chmod missing", os.Chmod(e.p("nope"), 0o644), syscall.ENOENT)
	})

	t.Run("Directories", func(t *testing.T) {
		d := e.p("dir")
		if err := os.Mkdir(d, 0o750); err != nil {
			t.Fatal(err)
		}
		wantErrno(t, "mkdir existing", os.Mkdir(d, 0o755), syscall.EEXIST)
		wantErrno(t, "mkdir in missing", os.Mkdir(e.p("no/dir"), 0o755), syscall.ENOENT)
		mustWrite(t, filepath.Join(d, "f"), nil)
		wantErrno(t, "rmdir non-empty", syscall.Rmdir(d), syscall.ENOTEMPTY)
		wantErrno(t, "rmdir file", syscall.Rmdir(filepath.Join(d, "f")), syscall.ENOTDIR)
		wantErrno(t, "unlink dir", syscall.Unlink(d), syscall.EISDIR)
		wantErrno(t, "rmdir missing", syscall.Rmdir(e.p("nope")), syscall.ENOENT)
		wantErrno(t, "unlink missing", syscall.Unlink(e.p("nope")), syscall.ENOENT)
		var st syscall.Stat_t
		syscall.Stat(d, &st)
		if st.Mode&0o7777 != 0o750 || st.Nlink != 2 {
			t.Errorf("dir mode %o nlink %d", st.Mode, st.Nlink)
		}
		os.Mkdir(filepath.Join(d, "sub"), 0o755)
		syscall.Stat(d, &st)
		if st.Nlink != 3 {
			t.Errorf("nlink with a subdirectory: %d", st.Nlink)
		}
		names, err := readNames(d)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names, []string{".", "..", "f", "sub"}) {
			t.Errorf("readdir: %v", names)
		}
		for _, n := range []string{"f"} {
			if err := os.Remove(filepath.Join(d, n)); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Remove(filepath.Join(d, "sub")); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(d); err != nil {
			t.Fatal(err)
		}
		_, err = os.Stat(d)
		wantErrno(t, "stat removed", err, syscall.ENOENT)
	})

	t.Run("Rename", func(t *testing.T) {
		d := e.p("ren")
		os.Mkdir(d, 0o755)
		a, b := filepath.Join(d, "a"), filepath.Join(d, "b")
		mustWrite(t, a, []byte("A"))
		mustWrite(t, b, []byte("B"))
		var sa syscall.Stat_t
		syscall.Stat(a, &sa)
		if err := os.Rename(a, b); err != nil { // over an existing file
			t.Fatal(err)
		}
		var sb syscall.Stat_t
		syscall.Stat(b, &sb)
		if sb.Ino != sa.Ino {
			t.Errorf("rename changed the inode number: %d -> %d", sa.Ino, sb.Ino)
		}
		mustEqual(t, "renamed", mustRead(t, b), []byte("A"))
		_, err := os.Stat(a)
		wantErrno(t, "old name", err, syscall.ENOENT)
		wantErrno(t, "rename missing", os.Rename(a, b), syscall.ENOENT)

		sub := filepath.Join(d, "sub")
		os.MkdirAll(filepath.Join(sub, "deep"), 0o755)
		wantErrno(t, "dir into itself", os.Rename(sub, filepath.Join(sub, "deep", "x")), syscall.EINVAL)
		wantErrno(t, "file over dir", syscall.Rename(b, sub), syscall.EISDIR)
		wantErrno(t, "dir over file", syscall.Rename(sub, b), syscall.ENOTDIR)
		other := filepath.Join(d, "other")
		os.Mkdir(other, 0o755)
		wantErrno(t, "dir over non-empty dir", syscall.Rename(other, sub), syscall.ENOTEMPTY)
		if err := syscall.Rename(sub, other); err != nil { // over an empty dir (os.Rename refuses)
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(other, "deep")); err != nil {
			t.Errorf("moved tree: %v", err)
		}

		// renameat2
		c := filepath.Join(d, "c")
		mustWrite(t, c, []byte("C"))
		wantErrno(t, "RENAME_NOREPLACE", unix.Renameat2(unix.AT_FDCWD, c, unix.AT_FDCWD, b, unix.RENAME_NOREPLACE), syscall.EEXIST)
		if err := unix.Renameat2(unix.AT_FDCWD, c, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "exchanged b", mustRead(t, b), []byte("C"))
		mustEqual(t, "exchanged c", mustRead(t, c), []byte("A"))
		if err := unix.Renameat2(unix.AT_FDCWD, c, unix.AT_FDCWD, b, unix.RENAME_EXCHANGE); err != nil {
			t.Fatal(err)
		}
		wantErrno(t, "RENAME_EXCHANGE missing", unix.Renameat2(unix.AT_FDCWD, c, unix.AT_FDCWD, filepath.Join(d, "zz"), unix.RENAME_EXCHANGE), syscall.ENOENT)
		if err := unix.Renameat2(unix.AT_FDCWD, c, unix.AT_FDCWD, filepath.Join(d, "zz"), unix.RENAME_NOREPLACE); err != nil {
			t.Fatal(err)
		}
		// Another file system: the kernel says EXDEV before we are asked.
		wantErrno(t, "rename out of the mount", os.Rename(b, filepath.Join(e.dir, "out")), syscall.EXDEV)
	})

	t.Run("SymlinkHardlink", func(t *testing.T) {
		d := e.p("links")
		os.Mkdir(d, 0o755)
		f := filepath.Join(d, "f")
		mustWrite(t, f, []byte("data"))
		l := filepath.Join(d, "l")
		if err := os.Symlink("f", l); err != nil {
			t.Fatal(err)
		}
		if got, err := os.Readlink(l); err != nil || got != "f" {
			t.Errorf("readlink: %q %v", got, err)
		}
		mustEqual(t, "through symlink", mustRead(t, l), []byte("data"))
		var st syscall.Stat_t
		syscall.Lstat(l, &st)
		if st.Mode&syscall.S_IFMT != syscall.S_IFLNK || st.Size != 1 {
			t.Errorf("lstat symlink: mode %o size %d", st.Mode, st.Size)
		}
		_, err := os.Readlink(f)
		wantErrno(t, "readlink on a file", err, syscall.EINVAL)
		wantErrno(t, "symlink existing", os.Symlink("x", l), syscall.EEXIST)
		dangling := filepath.Join(d, "dangling")
		os.Symlink("nowhere", dangling)
		_, err = os.Stat(dangling)
		wantErrno(t, "dangling", err, syscall.ENOENT)

		h := filepath.Join(d, "h")
		if err := os.Link(f, h); err != nil {
			t.Fatal(err)
		}
		var s1, s2 syscall.Stat_t
		syscall.Stat(f, &s1)
		syscall.Stat(h, &s2)
		if s1.Ino != s2.Ino || s1.Nlink != 2 {
			t.Errorf("hard link: ino %d/%d nlink %d", s1.Ino, s2.Ino, s1.Nlink)
		}
		mustWrite(t, h, []byte("changed"))
		mustEqual(t, "through the other link", mustRead(t, f), []byte("changed"))
		os.Remove(f)
		syscall.Stat(h, &s2)
		if s2.Nlink != 1 {
			t.Errorf("nlink after unlink: %d", s2.Nlink)
		}
		wantErrno(t, "link to dir", os.Link(d, filepath.Join(mnt, "dirlink")), syscall.EPERM)
		wantErrno(t, "link existing", os.Link(h, l), syscall.EEXIST)
		wantErrno(t, "link missing", os.Link(f, filepath.Join(d, "x")), syscall.ENOENT)
	})

	t.Run("Xattr", func(t *testing.T) {
		p := e.p("xa")
		mustWrite(t, p, nil)
		buf := make([]byte, 100)
		_, err := unix.Getxattr(p, "user.a", buf)
		wantErrno(t, "get missing", err, syscall.ENODATA)
		if err := unix.Setxattr(p, "user.a", []byte("1"), 0); err != nil {
			t.Fatal(err)
		}
		wantErrno(t, "XATTR_CREATE existing", unix.Setxattr(p, "user.a", []byte("2"), unix.XATTR_CREATE), syscall.EEXIST)
		wantErrno(t, "XATTR_REPLACE missing", unix.Setxattr(p, "user.b", []byte("2"), unix.XATTR_REPLACE), syscall.ENODATA)
		if err := unix.Setxattr(p, "user.a", []byte("22"), unix.XATTR_REPLACE); err != nil {
			t.Fatal(err)
		}
		unix.Setxattr(p, "user.b", []byte("3"), unix.XATTR_CREATE)
		if n, err := unix.Getxattr(p, "user.a", buf); err != nil || string(buf[:n]) != "22" {
			t.Errorf("get: %q %v", buf[:n], err)
		}
		_, err = unix.Getxattr(p, "user.a", buf[:1])
		wantErrno(t, "small buffer", err, syscall.ERANGE)
		n, err := unix.Listxattr(p, buf)
		if err != nil || string(buf[:n]) != "user.a\x00user.b\x00" {
			t.Errorf("list: %q %v", buf[:n], err)
		}
		if err := unix.Removexattr(p, "user.a"); err != nil {
			t.Fatal(err)
		}
		wantErrno(t, "remove missing", unix.Removexattr(p, "user.a"), syscall.ENODATA)
		// On directories and symlinks too.
		if err := unix.Setxattr(mnt, "user.dir", []byte("d"), 0); err != nil {
			t.Errorf("xattr on a directory: %v", err)
		}
	})

	t.Run("StatfsFallocateLseek", func(t *testing.T) {
		var s syscall.Statfs_t
		if err := syscall.Statfs(mnt, &s); err != nil {
			t.Fatal(err)
		}
		if s.Blocks == 0 || s.Bsize == 0 || s.Namelen != 255 {
			t.Errorf("statfs: %+v", s)
		}
		if got := uint64(s.Blocks) * uint64(s.Bsize); got != uint64(e.sopts.Quota) {
			t.Errorf("statfs size %d, want the cache quota %d", got, e.sopts.Quota)
		}
		p := e.p("falloc")
		f, _ := os.Create(p)
		defer f.Close()
		f.Write([]byte("abc"))
		if err := unix.Fallocate(int(f.Fd()), 0, 0, 1<<20); err != nil {
			t.Fatal(err)
		}
		if fi, _ := f.Stat(); fi.Size() != 1<<20 {
			t.Errorf("size after fallocate: %d", fi.Size())
		}
		if err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, 0, 2<<20); err != nil {
			t.Fatal(err)
		}
		wantErrno(t, "punch hole", unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, 10), syscall.EOPNOTSUPP)
		if off, err := unix.Seek(int(f.Fd()), 10, unix.SEEK_DATA); err != nil || off != 10 {
			t.Errorf("SEEK_DATA: %d %v", off, err)
		}
		if off, err := unix.Seek(int(f.Fd()), 10, unix.SEEK_HOLE); err != nil || off != 1<<20 {
			t.Errorf("SEEK_HOLE: %d %v", off, err)
		}
		_, err := unix.Seek(int(f.Fd()), 2<<20, unix.SEEK_DATA)
		wantErrno(t, "SEEK_DATA past the end", err, syscall.ENXIO)
	})

	t.Run("OpenUnlinked", func(t *testing.T) {
		p := e.p("unlinked")
		data := randBytes(5, 2<<20)
		mustWrite(t, p, data)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		w, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		_, err = os.Stat(p)
		wantErrno(t, "stat unlinked", err, syscall.ENOENT)
		got, err := io.ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		mustEqual(t, "read after unlink", got, data)
		if _, err := w.WriteAt([]byte("still"), 0); err != nil {
			t.Errorf("write after unlink: %v", err)
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(int(f.Fd()), &st); err != nil || st.Nlink != 0 {
			t.Errorf("fstat unlinked: nlink %d, %v", st.Nlink, err)
		}
	})

	t.Run("Mmap", func(t *testing.T) {
		p := e.p("mmap")
		mustWrite(t, p, bytes.Repeat([]byte("m"), 8192))
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b, err := unix.Mmap(int(f.Fd()), 0, 8192, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			t.Fatal(err)
		}
		copy(b[4096:], "shared writable mmap")
		if err := unix.Msync(b, unix.MS_SYNC); err != nil {
			t.Fatal(err)
		}
		unix.Munmap(b)
		f.Close()
		got := mustRead(t, p)
		if !bytes.Equal(got[4096:4096+20], []byte("shared writable mmap")) {
			t.Errorf("mmap write not in the file: %q", got[4096:4116])
		}
	})

	t.Run("Locks", func(t *testing.T) {
		p := e.p("lock")
		mustWrite(t, p, []byte("x"))
		f1, _ := os.OpenFile(p, os.O_RDWR, 0)
		defer f1.Close()
		f2, _ := os.OpenFile(p, os.O_RDWR, 0)
		defer f2.Close()
		// flock(2) locks belong to the open file: two opens conflict.
		if err := unix.Flock(int(f1.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			t.Fatal(err)
		}
		wantErrno(t, "second flock", unix.Flock(int(f2.Fd()), unix.LOCK_EX|unix.LOCK_NB), syscall.EWOULDBLOCK)
		unix.Flock(int(f1.Fd()), unix.LOCK_UN)
		if err := unix.Flock(int(f2.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
			t.Errorf("flock after unlock: %v", err)
		}
		unix.Flock(int(f2.Fd()), unix.LOCK_UN)
		// Open file description locks (fcntl F_OFD_SETLK).
		lk := unix.Flock_t{Type: unix.F_WRLCK, Start: 0, Len: 0}
		if err := unix.FcntlFlock(f1.Fd(), unix.F_OFD_SETLK, &lk); err != nil {
			t.Fatal(err)
		}
		rl := unix.Flock_t{Type: unix.F_RDLCK}
		wantErrno(t, "conflicting OFD lock", unix.FcntlFlock(f2.Fd(), unix.F_OFD_SETLK, &rl), syscall.EAGAIN)
		// POSIX record locks between processes: flock(1) and a
		// subprocess holding fcntl's lock.
		unix.FcntlFlock(f1.Fd(), unix.F_OFD_SETLK, &unix.Flock_t{Type: unix.F_UNLCK})
		if out, err := shErr(mnt, "flock -n -x lock -c 'flock -n -x lock -c true'", nil); err == nil {
			t.Errorf("nested flock(1) on the same file succeeded: %s", out)
		}
	})

	t.Run("Umask", func(t *testing.T) {
		sh(t, mnt, "umask 027 && touch umaskf && mkdir umaskd && echo x > umaskg")
		for name, want := range map[string]uint32{"umaskf": 0o640, "umaskd": 0o750, "umaskg": 0o640} {
			var st syscall.Stat_t
			syscall.Stat(e.p(name), &st)
			if st.Mode&0o7777 != want {
				t.Errorf("%s: mode %o, want %o (umask applied once)", name, st.Mode&0o7777, want)
			}
		}
	})

	t.Run("SetgidDirectory", func(t *testing.T) {
		d := e.p("sgid")
		os.Mkdir(d, 0o755)
		os.Chown(d, 0, 4321)
		syscall.Chmod(d, 0o2775)
		mustWrite(t, filepath.Join(d, "f"), nil)
		os.Mkdir(filepath.Join(d, "sub"), 0o755)
		var st syscall.Stat_t
		syscall.Stat(filepath.Join(d, "f"), &st)
		if st.Gid != 4321 {
			t.Errorf("file in setgid dir: gid %d", st.Gid)
		}
		syscall.Stat(filepath.Join(d, "sub"), &st)
		if st.Gid != 4321 || st.Mode&syscall.S_ISGID == 0 {
			t.Errorf("dir in setgid dir: gid %d mode %o", st.Gid, st.Mode)
		}
	})

	t.Run("Fsync", func(t *testing.T) {
		f, _ := os.Create(e.p("fsync"))
		defer f.Close()
		f.Write([]byte("durable"))
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			t.Fatal(err)
		}
		d, _ := os.Open(mnt)
		defer d.Close()
		if err := d.Sync(); err != nil {
			t.Errorf("fsync on a directory: %v", err)
		}
	})
}

// readNames lists a directory with getdents64, "." and ".." included.
func readNames(dir string) ([]string, error) {
	fd, err := syscall.Open(dir, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	var names []string
	buf := make([]byte, 8192)
	for {
		n, err := syscall.Getdents(fd, buf)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		for b := buf[:n]; len(b) > 0; {
			// struct linux_dirent64: ino, off, reclen, type, name
			reclen := int(b[16]) | int(b[17])<<8
			name := b[19:reclen]
			names = append(names, string(name[:bytes.IndexByte(name, 0)]))
			b = b[reclen:]
		}
	}
	slices.Sort(names)
	return names, nil
}
