package meta

import (
	"strings"
	"sync"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// Two strengths of durability
//
// pebble offers two: a NoSync commit, which can sit in pebble's own buffer
// until a 32 KiB log block fills (a crash of the daemon loses it), and a
// Sync commit, which waits for fdatasync of the write-ahead log (about
// 250 µs here, on every close of every file). Hoard wants a third, the one
// a local file system gives close(2): once acknowledged, a change survives
// the death of the process at once, and survives a power failure after the
// next fsync(2) or within a second. That is "written to the kernel", not
// "synced to the disk".
//
// walFS gets it from pebble without patching it: every commit is a Sync
// commit, so pebble writes the log record to the file before the commit
// returns, but the log file's Sync does nothing. DB.SyncHard then makes
// everything written so far reach the disk with one real fdatasync of the
// open log files; commits that need it (Commit(true), S3 PUT, fsync(2),
// the periodic sync) call it. A log file is synced for real when pebble
// closes it (rotation), so no log but the newest can lose its tail.
//
// Only the write-ahead log is treated so: sstables, the MANIFEST and
// directories keep their real syncs, since pebble deletes a log once its
// memtable is in an sstable.
type walFS struct {
	vfs.FS

	mu   sync.Mutex
	open map[*walFile]struct{}
}

func newWALFS(fs vfs.FS) *walFS {
	return &walFS{FS: fs, open: map[*walFile]struct{}{}}
}

func isWAL(name string) bool { return strings.HasSuffix(name, ".log") }

func (w *walFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := w.FS.Create(name, category)
	return w.wrap(name, f, err)
}

func (w *walFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := w.FS.ReuseForWrite(oldname, newname, category)
	return w.wrap(newname, f, err)
}

func (w *walFS) wrap(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil || !isWAL(name) {
		return f, err
	}
	wf := &walFile{File: f, fs: w}
	w.mu.Lock()
	w.open[wf] = struct{}{}
	w.mu.Unlock()
	return wf, nil
}

// syncOpen fdatasyncs every open log file. It holds mu throughout so that
// pebble cannot close a file under it; pebble opens and closes logs rarely
// (once per memtable).
func (w *walFS) syncOpen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for f := range w.open {
		if err := f.File.SyncData(); err != nil {
			return err
		}
	}
	return nil
}

// walFile is a write-ahead log file whose syncs only mark the point where
// pebble has written its records to the kernel.
type walFile struct {
	vfs.File
	fs *walFS
}

func (f *walFile) Sync() error                       { return nil }
func (f *walFile) SyncData() error                   { return nil }
func (f *walFile) SyncTo(length int64) (bool, error) { return false, nil }

// Close syncs the log for real: once pebble moves to a new log, the old
// one must be whole on the disk.
func (f *walFile) Close() error {
	f.fs.mu.Lock()
	delete(f.fs.open, f)
	f.fs.mu.Unlock()
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	return err
}
