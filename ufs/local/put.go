package local

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/hoardfs/hoard/ufs"
)

// copyBufSize is the chunk in which Put streams its reader; the context is
// checked between chunks.
const copyBufSize = 256 << 10

// Put stores what r yields at key through a staged file and a rename. With
// size >= 0, a reader that yields a different number of bytes fails the Put.
func (u *FS) Put(ctx context.Context, key string, r io.Reader, size int64) (ufs.ObjectInfo, error) {
	if err := checkKey("put", key); err != nil {
		return ufs.ObjectInfo{}, err
	}
	if err := ctxError(ctx, "put", key); err != nil {
		return ufs.ObjectInfo{}, err
	}
	if r == nil {
		r = eofReader{}
	}
	if isDirKey(key) {
		return u.putDirMarker(ctx, key, r, size)
	}
	return u.commit(ctx, "put", key, func(tmp *os.File) (string, error) {
		h := md5.New()
		src := r
		if size >= 0 {
			src = io.LimitReader(r, size+1) // one more, to notice a long reader
		}
		n, err := copyContext(ctx, io.MultiWriter(tmp, h), src)
		switch {
		case err != nil:
			return "", err
		case size >= 0 && n < size:
			return "", fmt.Errorf("reader ended after %d of %d bytes: %w", n, size, io.ErrUnexpectedEOF)
		case size >= 0 && n > size:
			return "", fmt.Errorf("reader yields more than the %d bytes announced", size)
		}
		return hex.EncodeToString(h.Sum(nil)), nil
	})
}

// putDirMarker makes the directory for marker key; r must be empty.
func (u *FS) putDirMarker(ctx context.Context, key string, r io.Reader, size int64) (ufs.ObjectInfo, error) {
	if size > 0 {
		return ufs.ObjectInfo{}, fmt.Errorf("local put %q: a directory marker must be empty, got size %d", key, size)
	}
	var one [1]byte
	if n, err := io.ReadFull(r, one[:]); n > 0 {
		return ufs.ObjectInfo{}, fmt.Errorf("local put %q: a directory marker must be empty", key)
	} else if err != io.EOF {
		return ufs.ObjectInfo{}, fmt.Errorf("local put %q: reading body: %w", key, err)
	}
	if err := ctxError(ctx, "put", key); err != nil {
		return ufs.ObjectInfo{}, err
	}
	if err := u.ensureDir(fileName(key)); err != nil {
		return ufs.ObjectInfo{}, opError("put", key, err)
	}
	return u.statDir("put", key)
}

// commit makes the file at key whatever fill writes into a staged file, which
// it then fsyncs and renames into place. fill returns the content's MD5 hex.
// Until the rename, any failure (or a done context) leaves key untouched.
func (u *FS) commit(ctx context.Context, op, key string, fill func(tmp *os.File) (string, error)) (ufs.ObjectInfo, error) {
	tmp, tmpName, err := u.createTemp()
	if err != nil {
		return ufs.ObjectInfo{}, opError(op, key, err)
	}
	renamed := false
	defer func() {
		tmp.Close()
		if !renamed {
			_ = u.root.Remove(tmpName)
		}
	}()

	sum, err := fill(tmp)
	if err != nil {
		return ufs.ObjectInfo{}, fmt.Errorf("local %s %q: %w", op, key, err)
	}
	var info ufs.ObjectInfo
	err = withFd(tmp, func(fd int) error {
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			return err
		}
		info = ufs.ObjectInfo{Key: key, Size: st.Size, ETag: sum, ModTime: mtime(&st)}
		if !storeMD5(fd, sum, &st) {
			info.ETag = derivedETag(&st) // what Stat will report too
		}
		return unix.Fsync(fd)
	})
	if err != nil {
		return ufs.ObjectInfo{}, opError(op, key, err)
	}
	if err := ctxError(ctx, op, key); err != nil {
		return ufs.ObjectInfo{}, err // the last moment a Put can still not happen
	}
	if err := u.renameIntoPlace(tmpName, key); err != nil {
		return ufs.ObjectInfo{}, opError(op, key, err)
	}
	renamed = true
	if err := u.syncDir(path.Dir(key)); err != nil {
		return ufs.ObjectInfo{}, opError(op, key, fmt.Errorf("fsync parent directory: %w", err))
	}
	return info, nil
}

// renameIntoPlace renames the staged file to name, creating parent
// directories. A concurrent Delete of an empty parent can remove it between
// the mkdir and the rename, so that case is tried again.
func (u *FS) renameIntoPlace(tmpName, name string) error {
	var err error
	for range 3 {
		if err = u.ensureDir(path.Dir(name)); err != nil {
			return err
		}
		err = u.root.Rename(tmpName, name)
		if !errors.Is(err, os.ErrNotExist) {
			break
		}
	}
	if errors.Is(err, syscall.EISDIR) || errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTEMPTY) {
		return fmt.Errorf("a directory exists at this path: %w", err)
	}
	return err
}

// createTemp creates an empty staging file with a unique name.
func (u *FS) createTemp() (*os.File, string, error) {
	name := stagingDir + "/" + rand.Text()
	f, err := u.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrNotExist) { // someone removed the staging directory
		if err := u.root.MkdirAll(stagingDir, 0o700); err != nil {
			return nil, "", err
		}
		f, err = u.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	}
	return f, name, err
}

// ensureDir makes directory dir (relative to the root, "." for the root) and
// its parents. When it creates any, it fsyncs the parents so that the new
// entries survive a crash.
func (u *FS) ensureDir(dir string) error {
	if dir == "." {
		return nil
	}
	if fi, err := u.root.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if err := u.root.MkdirAll(dir, 0o755); err != nil {
		if errors.Is(err, syscall.EEXIST) || errors.Is(err, syscall.ENOTDIR) {
			return fmt.Errorf("a file is in the way of directory %q: %w", dir, err)
		}
		return err
	}
	for d := dir; d != "."; {
		d = path.Dir(d)
		if err := u.syncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// syncDir fsyncs directory dir ("." for the root).
func (u *FS) syncDir(dir string) error {
	d, err := u.root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// copyContext copies src to dst in chunks until EOF, stopping with an error
// once ctx is done.
func copyContext(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	buf := make([]byte, copyBufSize)
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, rerr := src.Read(buf)
		if n > 0 {
			if _, err := dst.Write(buf[:n]); err != nil {
				return total, err
			}
			total += int64(n)
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, fmt.Errorf("reading body: %w", rerr)
		}
	}
}

// eofReader is the empty body of a Put called with a nil reader.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }
