package local

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/hoardfs/hoard/ufs"
)

// copyChunk bounds one copy_file_range call, so that a Copy of a large file
// notices a cancelled context in between.
const copyChunk = 64 << 20

// Copy copies the file at src to dst through a staged file, like Put. When
// src carries a valid MD5 the bytes move with copy_file_range (a reflink on
// file systems that have them) and the copy keeps the MD5 as its ETag, as
// object stores do; otherwise the MD5 is computed while copying.
func (u *FS) Copy(ctx context.Context, src, dst string) (ufs.ObjectInfo, error) {
	if err := checkKey("copy", src); err != nil {
		return ufs.ObjectInfo{}, err
	}
	if err := checkKey("copy", dst); err != nil {
		return ufs.ObjectInfo{}, err
	}
	if err := ctxError(ctx, "copy", src); err != nil {
		return ufs.ObjectInfo{}, err
	}
	if isDirKey(src) {
		if _, err := u.statDir("copy", src); err != nil {
			return ufs.ObjectInfo{}, err
		}
		return u.Put(ctx, dst, nil, 0)
	}
	f, info, err := u.openRegular("copy", src)
	if err != nil {
		return ufs.ObjectInfo{}, err
	}
	defer f.Close()
	if isDirKey(dst) {
		if info.Size > 0 {
			return ufs.ObjectInfo{}, fmt.Errorf("local copy %q to %q: a directory marker must be empty, source has %d bytes", src, dst, info.Size)
		}
		return u.Put(ctx, dst, nil, 0)
	}
	var st unix.Stat_t
	if err := withFd(f, func(fd int) error { return unix.Fstat(fd, &st) }); err != nil {
		return ufs.ObjectInfo{}, opError("copy", src, err)
	}
	var known string
	_ = withFd(f, func(fd int) error { known = storedMD5(fd, &st); return nil })

	return u.commit(ctx, "copy", dst, func(tmp *os.File) (string, error) {
		sum := known
		if known != "" {
			if err := copyFileContext(ctx, tmp, f); err != nil {
				return "", err
			}
		} else {
			h := md5.New()
			if _, err := copyContext(ctx, io.MultiWriter(tmp, h), f); err != nil {
				return "", err
			}
			sum = hex.EncodeToString(h.Sum(nil))
		}
		changed, err := changedSince(f, &st)
		if err != nil {
			return "", err
		}
		if changed { // another tool wrote to src meanwhile; the copy may mix versions
			return "", ufs.Retryable(fmt.Errorf("source %q changed while being copied", src))
		}
		return sum, nil
	})
}

// copyFileContext copies all of src to dst with copy_file_range (through
// os.File.ReadFrom), chunk by chunk until ctx is done.
func copyFileContext(ctx context.Context, dst, src *os.File) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.CopyN(dst, src, copyChunk)
		if err == io.EOF || (err == nil && n < copyChunk) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// changedSince reports whether the file open as f no longer has the size and
// mtime in st.
func changedSince(f *os.File, st *unix.Stat_t) (bool, error) {
	var now unix.Stat_t
	if err := withFd(f, func(fd int) error { return unix.Fstat(fd, &now) }); err != nil {
		return false, err
	}
	return now.Size != st.Size || now.Mtim != st.Mtim, nil
}
