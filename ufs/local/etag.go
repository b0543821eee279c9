package local

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hoardfs/hoard/ufs"
)

// etagAttr is the extended attribute that keeps a Put's MD5. Its value is
// "<md5 hex> <size> <mtime unix ns>"; it counts only while size and mtime
// still match the file, so an in-place rewrite by another tool invalidates it.
const etagAttr = "user.hoard.etag"

// emptyMD5 is the MD5 of no bytes: the ETag of every directory marker.
const emptyMD5 = "d41d8cd98f00b204e9800998ecf8427e"

// errNotRegular says an open file is a directory, device, FIFO or socket.
var errNotRegular = errors.New("not a regular file")

// fileInfo is the ObjectInfo of the regular file open as fd.
func fileInfo(fd int, key string) (ufs.ObjectInfo, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return ufs.ObjectInfo{}, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return ufs.ObjectInfo{}, errNotRegular
	}
	return ufs.ObjectInfo{Key: key, Size: st.Size, ETag: etagOf(fd, &st), ModTime: mtime(&st)}, nil
}

// etagOf is the stored MD5 when it is still valid, else the derived ETag.
func etagOf(fd int, st *unix.Stat_t) string {
	if sum := storedMD5(fd, st); sum != "" {
		return sum
	}
	return derivedETag(st)
}

// derivedETag fingerprints a file whose MD5 is unknown. It is not an MD5
// (it has dashes), so nobody mistakes it for one.
func derivedETag(st *unix.Stat_t) string {
	return fmt.Sprintf("%x-%x-%x", st.Ino, st.Mtim.Nano(), st.Size)
}

// storedMD5 returns the MD5 kept in etagAttr if it still describes the file.
func storedMD5(fd int, st *unix.Stat_t) string {
	var buf [128]byte
	n, err := unix.Fgetxattr(fd, etagAttr, buf[:])
	if err != nil {
		return ""
	}
	f := strings.Fields(string(buf[:n]))
	if len(f) != 3 || len(f[0]) != 32 {
		return ""
	}
	size, err1 := strconv.ParseInt(f[1], 10, 64)
	ns, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil || size != st.Size || ns != st.Mtim.Nano() {
		return ""
	}
	return f[0]
}

// storeMD5 records sum for the file open as fd, whose current state is st.
// It reports false when the file system keeps no user xattrs; the file then
// has a derived ETag.
func storeMD5(fd int, sum string, st *unix.Stat_t) bool {
	v := fmt.Sprintf("%s %d %d", sum, st.Size, st.Mtim.Nano())
	return unix.Fsetxattr(fd, etagAttr, []byte(v), 0) == nil
}

func mtime(st *unix.Stat_t) time.Time { return time.Unix(st.Mtim.Sec, st.Mtim.Nsec) }

// withFd runs fn with the descriptor of f, without switching f to blocking
// mode as f.Fd would.
func withFd(f *os.File, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// openInfo is fileInfo for an *os.File.
func openInfo(f *os.File, key string) (info ufs.ObjectInfo, err error) {
	err = withFd(f, func(fd int) error {
		info, err = fileInfo(fd, key)
		return err
	})
	return info, err
}
