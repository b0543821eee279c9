package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/hoardfs/hoard/ufs"
)

// Stat returns the file or directory marker at key.
func (u *FS) Stat(ctx context.Context, key string) (ufs.ObjectInfo, error) {
	if err := checkKey("stat", key); err != nil {
		return ufs.ObjectInfo{}, err
	}
	if err := ctxError(ctx, "stat", key); err != nil {
		return ufs.ObjectInfo{}, err
	}
	if isDirKey(key) {
		return u.statDir("stat", key)
	}
	f, info, err := u.openRegular("stat", key)
	if err != nil {
		return ufs.ObjectInfo{}, err
	}
	f.Close()
	return info, nil
}

// statDir is the ObjectInfo of the directory marker key ("a/").
func (u *FS) statDir(op, key string) (ufs.ObjectInfo, error) {
	fi, err := u.root.Stat(fileName(key))
	switch {
	case isMissing(err):
		return ufs.ObjectInfo{}, notExist(op, key)
	case err != nil:
		return ufs.ObjectInfo{}, opError(op, key, err)
	case !fi.IsDir():
		return ufs.ObjectInfo{}, notExist(op, key)
	}
	return ufs.ObjectInfo{Key: key, ETag: emptyMD5, ModTime: fi.ModTime()}, nil
}

// openRegular opens the regular file at key for reading. Anything else at
// that path (a directory, a FIFO) is not an object: IsNotExist. O_NONBLOCK
// keeps a FIFO from blocking the open; it changes nothing for regular files.
func (u *FS) openRegular(op, key string) (*os.File, ufs.ObjectInfo, error) {
	f, err := u.root.OpenFile(key, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if isMissing(err) {
		return nil, ufs.ObjectInfo{}, notExist(op, key)
	}
	if err != nil {
		return nil, ufs.ObjectInfo{}, opError(op, key, err)
	}
	info, err := openInfo(f, key)
	if err != nil {
		f.Close()
		if errors.Is(err, errNotRegular) {
			return nil, ufs.ObjectInfo{}, notExist(op, key)
		}
		return nil, ufs.ObjectInfo{}, opError(op, key, err)
	}
	return f, info, nil
}

// ReadRange returns a reader of [off, off+length) of the file at key, cut
// at its size when it was opened.
func (u *FS) ReadRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if err := checkKey("read", key); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("local read %q: negative offset %d", key, off)
	}
	if err := ctxError(ctx, "read", key); err != nil {
		return nil, err
	}
	if isDirKey(key) {
		if _, err := u.statDir("read", key); err != nil {
			return nil, err
		}
		return io.NopCloser(strings.NewReader("")), nil
	}
	f, info, err := u.openRegular("read", key)
	if err != nil {
		return nil, err
	}
	if err := ufs.CheckETag(ctx, strconv.Quote(key), info.ETag); err != nil {
		f.Close()
		return nil, fmt.Errorf("local %w", err)
	}
	if off >= info.Size {
		f.Close()
		return io.NopCloser(strings.NewReader("")), nil
	}
	n := info.Size - off
	if length >= 0 && length < n {
		n = length
	}
	return &rangeReader{ctx: ctx, key: key, f: f, r: io.NewSectionReader(f, off, n)}, nil
}

// rangeReader reads a section of an open file until its context is done.
type rangeReader struct {
	ctx context.Context
	key string
	f   *os.File
	r   *io.SectionReader
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, fmt.Errorf("local read %q: %w", r.key, err)
	}
	return r.r.Read(p)
}

func (r *rangeReader) Close() error { return r.f.Close() }
