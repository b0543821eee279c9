package store

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hoardfs/hoard/store/cache"
	"github.com/hoardfs/hoard/store/meta"
	"github.com/hoardfs/hoard/ufs"
)

// persister runs the durable persist queue: a dispatcher scans the queue in
// order and hands runnable tasks to a pool of workers. Tasks of one inode run
// one at a time in queue order (a delete of an old key waits for the persist
// that copies from it). A failed task stays queued and is retried with
// exponential backoff; nothing is ever dropped because of a UFS fault.
type persister struct {
	s      *Store
	wake   chan struct{}
	work   chan *meta.Task
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu struct {
		sync.Mutex
		busy    map[uint64]bool   // inodes with a task running (0: none)
		running map[uint64]bool   // task seqs running
		failing map[uint64]string // task seq -> last error, while it fails
		done    chan struct{}     // closed and replaced whenever a task finishes
	}
}

func newPersister(s *Store) *persister {
	p := &persister{s: s, wake: make(chan struct{}, 1), work: make(chan *meta.Task)}
	p.ctx, p.cancel = context.WithCancel(s.closeCtx)
	p.mu.busy = map[uint64]bool{}
	p.mu.running = map[uint64]bool{}
	p.mu.failing = map[uint64]string{}
	p.mu.done = make(chan struct{})
	return p
}

func (p *persister) start() {
	for range p.s.opts.PersistWorkers {
		p.wg.Add(1)
		go p.worker()
	}
	p.wg.Add(1)
	go p.dispatch()
	p.kick()
}

func (p *persister) stop() {
	p.cancel()
	p.wg.Wait()
}

// kick wakes the dispatcher: new tasks are queued.
func (p *persister) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *persister) dispatch() {
	defer p.wg.Done()
	for {
		next := p.scan()
		timer := time.NewTimer(next)
		select {
		case <-p.ctx.Done():
			timer.Stop()
			return
		case <-p.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// scan hands every runnable task to the workers and returns how long to
// sleep before the earliest backed-off task is due.
func (p *persister) scan() time.Duration {
	next := time.Minute
	now := time.Now().UnixNano()
	blocked := map[uint64]bool{} // inodes with an earlier task pending
	for t, err := range p.s.db.Tasks(0) {
		if err != nil {
			p.s.log.Error("persist queue: unreadable task", "err", err)
			return time.Second
		}
		if t.Ino != 0 && blocked[t.Ino] {
			continue
		}
		if t.Ino != 0 {
			blocked[t.Ino] = true
		}
		p.mu.Lock()
		skip := p.mu.running[t.Seq] || (t.Ino != 0 && p.mu.busy[t.Ino])
		p.mu.Unlock()
		if skip {
			continue
		}
		if t.NextAttempt > now {
			next = min(next, time.Duration(t.NextAttempt-now))
			continue
		}
		p.mu.Lock()
		p.mu.running[t.Seq] = true
		if t.Ino != 0 {
			p.mu.busy[t.Ino] = true
		}
		p.mu.Unlock()
		select {
		case p.work <- t:
		case <-p.ctx.Done():
			return 0
		}
	}
	return next
}

func (p *persister) worker() {
	defer p.wg.Done()
	for {
		select {
		case <-p.ctx.Done():
			return
		case t := <-p.work:
			err := p.s.runTask(p.ctx, t)
			p.finish(t, err)
		}
	}
}

// finish records the outcome of a task: done tasks leave the queue, failed
// ones are rescheduled with backoff.
func (p *persister) finish(t *meta.Task, err error) {
	s := p.s
	if err != nil && p.ctx.Err() == nil {
		t.Attempts++
		t.LastError = err.Error()
		backoff := s.opts.RetryBase << min(t.Attempts-1, 20)
		if backoff > s.opts.RetryMax || backoff <= 0 {
			backoff = s.opts.RetryMax
		}
		backoff = backoff/2 + rand.N(backoff/2+1)
		t.NextAttempt = time.Now().Add(backoff).UnixNano()
		s.log.Warn("persist task failed; will retry", "task", t.Kind, "ino", t.Ino, "key", t.Key,
			"attempt", t.Attempts, "retry_in", backoff.Round(time.Millisecond), "err", err)
		b := s.db.NewBatch("task retry")
		if _, gerr := s.db.Task(t.Seq); gerr == nil {
			b.UpdateTask(t)
		}
		if cerr := b.Commit(false); cerr != nil {
			s.log.Error("persist queue", "err", cerr)
		}
	}
	p.mu.Lock()
	if err != nil {
		p.mu.failing[t.Seq] = t.LastError
	} else {
		delete(p.mu.failing, t.Seq)
	}
	delete(p.mu.running, t.Seq)
	if t.Ino != 0 {
		delete(p.mu.busy, t.Ino)
	}
	close(p.mu.done)
	p.mu.done = make(chan struct{})
	p.mu.Unlock()
	p.kick()
}

// now persists ino's queued tasks at once, in the caller's goroutine, for
// CACHE_THROUGH and THROUGH commits; the first failure is returned (the
// task stays queued and the workers retry it).
func (p *persister) now(ctx context.Context, ino uint64) error {
	for {
		p.mu.Lock()
		if p.mu.busy[ino] {
			done := p.mu.done
			p.mu.Unlock()
			select {
			case <-done:
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		var task *meta.Task
		for t, err := range p.s.db.Tasks(0) {
			if err == nil && t.Ino == ino {
				task = t
				break
			}
		}
		if task == nil {
			p.mu.Unlock()
			return nil
		}
		p.mu.busy[ino] = true
		p.mu.running[task.Seq] = true
		p.mu.Unlock()
		err := p.s.runTask(ctx, task)
		p.finish(task, err)
		if err != nil {
			return mapUFSErr(err)
		}
	}
}

// runTask executes one task and, when it succeeded, removes it from the
// queue in the same batch that records its effect.
func (s *Store) runTask(ctx context.Context, t *meta.Task) error {
	switch t.Kind {
	case meta.TaskPersist:
		return s.runPersist(ctx, t)
	case meta.TaskMarker:
		return s.runMarker(ctx, t)
	case meta.TaskDelete:
		return s.runDelete(ctx, t)
	}
	s.log.Error("persist queue: unknown task kind; dropping", "kind", t.Kind, "seq", t.Seq)
	return s.finishTask(t, nil)
}

// finishTask removes t from the queue, applying fn's changes in the same
// batch (under treeMu).
func (s *Store) finishTask(t *meta.Task, fn func(b *meta.Batch) error) error {
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	b := s.db.NewBatch("task done")
	if fn != nil {
		if err := fn(b); err != nil {
			b.Discard()
			return err
		}
	}
	b.DeleteTask(t)
	return b.Commit(true)
}

// linkKeys is every UFS key that file n must be persisted under: one per
// link. A file whose last link is gone has none.
func (s *Store) linkKeys(m *mountEntry, n *Inode) ([]string, error) {
	var keys []string
	for _, l := range s.db.Links(n.Ino) {
		k, err := s.ufsKey(m, l.Parent, l.Name, false)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func (s *Store) runPersist(ctx context.Context, t *meta.Task) error {
	n, err := s.db.Inode(t.Ino)
	if errors.Is(err, meta.ErrNotFound) {
		return s.finishTask(t, nil) // deleted since
	}
	if err != nil {
		return err
	}
	if n.Nlink == 0 || n.Type != TypeFile {
		return s.finishTask(t, nil)
	}
	m, err := s.mounts.get(n.Mount)
	if err != nil {
		return err
	}
	if m.ReadOnly {
		return s.finishTask(t, nil)
	}
	keys, err := s.linkKeys(m, n)
	if err != nil {
		return err
	}
	if len(keys) == 0 {
		return s.finishTask(t, nil)
	}
	// Writers of one key take turns: otherwise an upload to a path the file
	// was just renamed away from could land after the upload of the file
	// that took the path.
	locked := keys
	if n.DataInUFS && n.UFS.Key != "" {
		locked = append(slices.Clone(keys), n.UFS.Key)
	}
	unlock := s.keyLocks.lock(m.ID, locked)
	defer unlock()
	if n, err = s.db.Inode(t.Ino); err != nil {
		return ufs.Retryable(err)
	}
	if now, err := s.linkKeys(m, n); err != nil || !slices.Equal(now, keys) ||
		(n.DataInUFS && n.UFS.Key != "" && !slices.Contains(locked, n.UFS.Key)) {
		return ufs.Retryable(fmt.Errorf("inode %d moved while its persist started", n.Ino))
	}
	if n.State == Persisted && n.DataInUFS && len(keys) == 1 && keys[0] == n.UFS.Key {
		return s.finishTask(t, nil) // already there
	}
	for _, k := range keys {
		if err := s.protectSource(ctx, m, k, n.Ino, false); err != nil {
			return err
		}
	}
	if n, err = s.db.Inode(t.Ino); err != nil {
		return ufs.Retryable(err)
	}

	var info ufs.ObjectInfo
	var etag string
	version := n.Version
	primary := keys[0]
	if n.DataInUFS && n.UFS.Key != "" && !s.isDirty(n.Ino) {
		// The bytes are in the UFS already, under an old key: copy there.
		info = ufs.ObjectInfo{ETag: n.UFS.ETag, Size: n.UFS.Size, ModTime: time.Unix(0, n.UFS.Mtime)}
		for _, k := range keys {
			if k == n.UFS.Key {
				continue
			}
			if info, err = m.ufs.Copy(ctx, n.UFS.Key, k); err != nil {
				return fmt.Errorf("copy %s to %s: %w", n.UFS.Key, k, err)
			}
		}
		etag = n.ETag
	} else if info, etag, version, err = s.upload(ctx, m, n.Ino, keys); err != nil {
		return err
	}
	info.Key = primary
	var through, markers bool
	err = s.finishTask(t, func(b *meta.Batch) error {
		cur, err := s.db.Inode(t.Ino)
		if err != nil {
			return nil // deleted while uploading; a delete task follows
		}
		if now, err := s.linkKeys(m, cur); cur.Version != version || err != nil || !slices.Equal(now, keys) {
			return nil // changed or moved while uploading; its own task follows
		}
		if src, err := s.db.Source(cur.Mount, cur.UFS.Key); err == nil && src == cur.Ino {
			b.DeleteSource(cur.Mount, cur.UFS.Key)
		}
		cur.State = Persisted
		cur.DataInUFS = true
		cur.UFS = meta.Fingerprint{Key: info.Key, ETag: info.ETag, Size: info.Size, Mtime: info.ModTime.UnixNano()}
		if cur.ETag == "" {
			cur.ETag = etag
		}
		b.PutInode(cur)
		through = cur.WriteType == Through
		markers, err = s.persistAncestorsLocked(b, cur)
		return err
	})
	if err != nil {
		return err
	}
	if markers {
		s.persist.kick()
	}
	s.markPersisted(t.Ino, version, info, through)
	s.feed.publish(Event{Kind: Uploaded, Ino: t.Ino, Origin: "persist"})
	return nil
}

// persistAncestorsLocked queues a marker for each directory above file n,
// in its mount, that was made by a MUST_CACHE write and so was never
// persisted: n reaching the UFS makes it exist there, and Alluxio persists
// a file's ancestors with it. It reports whether it queued any.
func (s *Store) persistAncestorsLocked(b *meta.Batch, n *Inode) (bool, error) {
	queued := false
	for p := n.Parent; p != 0 && p != RootIno; {
		d, err := s.db.Inode(p)
		if err != nil || d.Mount != n.Mount || d.State != NotPersisted {
			return queued, nil // the directories above it are persisted already
		}
		d.State = ToBePersisted
		b.PutInode(d)
		if err := b.AddTask(&meta.Task{Kind: meta.TaskMarker, Ino: d.Ino, Mount: d.Mount}); err != nil {
			return queued, err
		}
		queued = true
		p = d.Parent
	}
	return queued, nil
}

func (s *Store) isDirty(ino uint64) bool {
	s.files.Lock()
	fd := s.files.m[ino]
	s.files.Unlock()
	if fd == nil {
		return false
	}
	fd.mu.RLock()
	defer fd.mu.RUnlock()
	return fd.dirty
}

// upload streams the file's content from the cache to every key. It returns
// the version it uploaded: if a writer changes the file meanwhile, the
// upload may be torn, so the caller only records it when the version is
// still current (the writer's commit queues a new upload).
func (s *Store) upload(ctx context.Context, m *mountEntry, ino uint64, keys []string) (ufs.ObjectInfo, string, uint64, error) {
	n, err := s.db.Inode(ino)
	if err != nil {
		return ufs.ObjectInfo{}, "", 0, err
	}
	h, err := s.Open(ctx, ino, 0)
	if err != nil {
		return ufs.ObjectInfo{}, "", 0, err
	}
	defer h.Release(ctx)
	h.readType = CachePromote
	size := n.Size
	var info ufs.ObjectInfo
	var etag string
	for _, k := range keys {
		r := &hashingReader{sr: io.NewSectionReader(ctxReaderAt{ctx, h}, 0, size), sum: md5.New()}
		if fn, ok := s.uploadProgress.Load(ino); ok {
			r.progress = fn.(func(int64))
		}
		info, err = m.ufs.Put(ctx, k, r, size)
		if err != nil {
			return ufs.ObjectInfo{}, "", 0, fmt.Errorf("upload %s: %w", k, err)
		}
		etag = r.etag()
	}
	return info, etag, n.Version, nil
}

// hashingReader is an upload body that computes its MD5 as it is read and
// can be rewound (io.Seeker), so that the retry decorator can send it again
// after a transient failure; a rewind to the start restarts the digest.
type hashingReader struct {
	sr       *io.SectionReader
	sum      hash.Hash
	valid    bool // the digest covers everything read since the start
	pos      int64
	progress func(sent int64) // nil, or told how far the body was read
}

func (r *hashingReader) Read(p []byte) (int, error) {
	if r.pos == 0 {
		r.sum.Reset()
		r.valid = true
	}
	n, err := r.sr.Read(p)
	r.sum.Write(p[:n])
	r.pos += int64(n)
	if r.progress != nil && n > 0 {
		r.progress(r.pos)
	}
	return n, err
}

func (r *hashingReader) Seek(off int64, whence int) (int64, error) {
	pos, err := r.sr.Seek(off, whence)
	if err == nil && pos != r.pos {
		r.valid = pos == 0
		r.pos = pos
	}
	return pos, err
}

// etag is the hex MD5 of the body, "" if it was not read in one pass.
func (r *hashingReader) etag() string {
	if !r.valid || r.pos != r.sr.Size() {
		return ""
	}
	return hex.EncodeToString(r.sum.Sum(nil))
}

type ctxReaderAt struct {
	ctx context.Context
	h   *Handle
}

func (r ctxReaderAt) ReadAt(p []byte, off int64) (int, error) { return r.h.Read(r.ctx, p, off) }

// markPersisted makes an open file's blocks clean once its content is in
// the UFS; THROUGH files drop them at once.
func (s *Store) markPersisted(ino, version uint64, info ufs.ObjectInfo, through bool) {
	s.files.Lock()
	fd := s.files.m[ino]
	if fd != nil {
		fd.refs++
	}
	s.files.Unlock()
	if fd == nil {
		if through {
			s.dropCache(ino)
		} else {
			s.cleanClosed(ino)
		}
		return
	}
	defer s.release(fd)
	fd.mu.Lock()
	defer fd.mu.Unlock()
	n, err := s.db.Inode(ino)
	if err != nil || n.Version != version || fd.dirty {
		return
	}
	fd.persisted = true
	fd.src.ok, fd.src.ufsSource = true, ufsSource{mount: n.Mount, key: info.Key, size: info.Size, etag: info.ETag}
	if through && fd.exposed > 0 {
		// The kernel or sendfile reads the cache file: drop it when the
		// last handle goes (release).
		fd.dropWhenClosed = true
	}
	if through && fd.exposed == 0 {
		fd.dropCacheLocked()
		b := s.db.NewBatch("drop cache")
		b.DeleteCacheState(ino)
		if err := b.Commit(false); err != nil {
			s.log.Error("drop cache", "ino", ino, "err", err)
		}
		return
	}
	fd.makeCleanLocked()
}

// cleanClosed registers the blocks of a file that is not open as clean.
func (s *Store) cleanClosed(ino uint64) {
	fd, err := s.acquire(ino)
	if err != nil {
		return
	}
	defer s.release(fd)
	fd.mu.Lock()
	fd.makeCleanLocked()
	fd.mu.Unlock()
}

// dropCache removes the cached bytes of a persisted file that is not open.
func (s *Store) dropCache(ino uint64) {
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	s.files.Lock()
	defer s.files.Unlock()
	if _, open := s.files.m[ino]; open {
		return
	}
	n, err := s.db.Inode(ino)
	if err != nil || n.State != Persisted {
		return
	}
	s.dropCacheFileLocked(ino)
	b := s.db.NewBatch("drop cache")
	b.DeleteCacheState(ino)
	if err := b.Commit(false); err != nil {
		s.log.Error("drop cache", "ino", ino, "err", err)
	}
}

func (s *Store) runMarker(ctx context.Context, t *meta.Task) error {
	n, err := s.db.Inode(t.Ino)
	if errors.Is(err, meta.ErrNotFound) || (err == nil && n.Type != TypeDir) {
		return s.finishTask(t, nil)
	}
	if err != nil {
		return err
	}
	m, err := s.mounts.get(n.Mount)
	if err != nil {
		return err
	}
	if n.Parent == 0 || m.ReadOnly {
		return s.finishTask(t, nil)
	}
	key, err := s.ufsKey(m, n.Parent, n.Name, true)
	if err != nil {
		if errors.Is(err, ErrStale) {
			return s.finishTask(t, nil)
		}
		return err
	}
	if key != "/" && key != "" {
		if _, err := m.ufs.Put(ctx, key, strings.NewReader(""), 0); err != nil {
			return fmt.Errorf("marker %s: %w", key, err)
		}
	}
	return s.finishTask(t, func(b *meta.Batch) error {
		cur, err := s.db.Inode(t.Ino)
		if err == nil && cur.State != Persisted {
			cur.State = Persisted
			b.PutInode(cur)
		}
		return nil
	})
}

func (s *Store) runDelete(ctx context.Context, t *meta.Task) error {
	m, err := s.mounts.get(t.Mount)
	if err != nil {
		return s.finishTask(t, nil) // the mount is gone; its UFS is not ours to touch
	}
	unlock := s.keyLocks.lock(m.ID, []string{t.Key})
	defer unlock()
	if s.keyIsLive(ctx, m, t.Key) {
		return s.finishTask(t, nil)
	}
	if err := s.protectSource(ctx, m, t.Key, t.Ino, true); err != nil {
		return err
	}
	if err := m.ufs.Delete(ctx, t.Key); err != nil {
		return fmt.Errorf("delete %s: %w", t.Key, err)
	}
	if m.ufs.Capabilities().ImplicitDirs {
		s.pruneEmptyParents(ctx, m, t.Key)
	}
	return s.finishTask(t, nil)
}

// protectSource is called before key is overwritten or deleted by a task of
// inode self. If another file (or, for a delete, self) still has its only
// copy of its bytes at key (it was renamed away and not yet persisted under
// its new key), those bytes are fetched into the cache first, where they are
// pinned until that file's persist uploads them: a rename chain such as
// a->tmp, b->a, tmp->b never loses data, whatever order the workers run in.
func (s *Store) protectSource(ctx context.Context, m *mountEntry, key string, self uint64, deleting bool) error {
	dep, err := s.db.Source(m.ID, key)
	switch {
	case errors.Is(err, meta.ErrNotFound) || (err == nil && dep == self && !deleting):
		dep = 0
	case err != nil:
		return err
	}
	if dep == 0 && deleting {
		if n, err := s.db.Inode(self); err == nil && n.DataInUFS && n.UFS.Key == key {
			dep = self
		}
	}
	if dep == 0 {
		return nil
	}
	fd, err := s.acquire(dep)
	if err != nil {
		// The file is gone: nothing depends on key any more.
		return s.dropSource(m.ID, key, dep)
	}
	defer s.release(fd)
	fd.mu.RLock()
	missing, _ := fd.missingLocked(0, fd.size)
	fd.mu.RUnlock()
	if len(missing) > 0 {
		if err := fd.fetch(ctx, missing); err != nil {
			return fmt.Errorf("save bytes of inode %d from %s before overwriting it: %w", dep, key, err)
		}
	}
	fd.mu.RLock()
	missing, wait := fd.missingLocked(0, fd.size)
	fd.mu.RUnlock()
	if len(missing)+len(wait) > 0 {
		return ufs.Retryable(fmt.Errorf("inode %d still reads from %s", dep, key))
	}
	// Now wholly cached and pinned: it no longer needs key.
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	fd.mu.Lock()
	defer fd.mu.Unlock()
	b := s.db.NewBatch("protect source")
	if d, err := s.db.Source(m.ID, key); err == nil && d == dep {
		b.DeleteSource(m.ID, key)
	}
	if n, err := s.db.Inode(dep); err == nil && n.DataInUFS && n.UFS.Key == key {
		n.DataInUFS = false
		if n.State == Persisted {
			n.State = ToBePersisted // its bytes are about to leave the UFS
		}
		b.PutInode(n)
		fd.src.ok = false
		fd.persisted = false
		bs := s.cache.BlockSize()
		for i := range nblocks(fd.size, bs) {
			s.cache.Forget(cache.Block{Ino: fd.ino, CacheID: fd.cacheID, Index: i})
		}
	}
	return b.Commit(true)
}

func (s *Store) dropSource(mount uint32, key string, ino uint64) error {
	s.treeMu.Lock()
	defer s.treeMu.Unlock()
	b := s.db.NewBatch("drop source")
	if dep, err := s.db.Source(mount, key); err == nil && dep == ino {
		b.DeleteSource(mount, key)
	}
	return b.Commit(false)
}

// pruneEmptyParents removes the directories above a deleted key that are
// left empty, on a UFS where every directory is a marker (a local disk):
// there an empty directory would come back as a directory at the next
// listing. Directories still in the namespace stay; a non-empty directory's
// marker delete is a no-op.
func (s *Store) pruneEmptyParents(ctx context.Context, m *mountEntry, key string) {
	k := strings.TrimSuffix(key, "/")
	for {
		i := strings.LastIndexByte(k, '/')
		if i < 0 {
			return
		}
		k = k[:i]
		dir := k + "/"
		unlock := s.keyLocks.lock(m.ID, []string{dir})
		live := s.keyIsLive(ctx, m, dir)
		if !live {
			if err := m.ufs.Delete(ctx, dir); err != nil {
				s.log.Debug("prune empty UFS directory", "key", dir, "err", err)
			}
		}
		unlock()
		if live {
			return
		}
	}
}

// keyIsLive reports whether the namespace has an entry at key in mount m
// again (a file for a plain key, a directory for a key ending in "/"), in
// which case its old object must not be deleted: the entry's own persist
// writes it.
func (s *Store) keyIsLive(ctx context.Context, m *mountEntry, key string) bool {
	dir := strings.HasSuffix(key, "/")
	p := strings.TrimSuffix(m.Path, "/") + "/" + strings.TrimSuffix(key, "/")
	parts, err := SplitPath(p)
	if err != nil {
		return false
	}
	cur := RootIno
	var de meta.Dentry
	for _, name := range parts {
		if de, err = s.db.Lookup(cur, name); err != nil {
			return false
		}
		cur = de.Ino
	}
	if dir {
		return de.Type == TypeDir
	}
	return de.Type == TypeFile
}

// QueueStats describes the persist queue.
type QueueStats struct {
	Depth      int
	OldestAge  time.Duration
	Failing    int      // tasks whose last attempt failed
	LastErrors []string // a few of their errors
}

// Queue reports the persist queue's depth and failures; it costs one
// lookup, whatever the depth.
func (s *Store) Queue() QueueStats {
	var q QueueStats
	for _, n := range s.db.QueueDepth() {
		q.Depth += n
	}
	if t := s.db.OldestTask(); t != nil {
		q.OldestAge = time.Since(time.Unix(0, t.Created))
	}
	s.persist.mu.Lock()
	q.Failing = len(s.persist.mu.failing)
	for _, e := range s.persist.mu.failing {
		if len(q.LastErrors) == 10 {
			break
		}
		q.LastErrors = append(q.LastErrors, e)
	}
	s.persist.mu.Unlock()
	return q
}

// WaitPersisted blocks until the persist queue is empty or ctx ends.
func (s *Store) WaitPersisted(ctx context.Context) error {
	for {
		empty := true
		for range s.db.Tasks(0) {
			empty = false
			break
		}
		// A task leaves the queue before its worker has finished with the
		// file (markPersisted): wait for the workers too.
		s.persist.mu.Lock()
		done := s.persist.mu.done
		running := len(s.persist.mu.running)
		s.persist.mu.Unlock()
		if empty && running == 0 {
			return nil
		}
		s.persist.kick()
		select {
		case <-done:
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// keyLocks serializes the tasks that write or delete one UFS key.
type keyLocks struct {
	mu sync.Mutex
	m  map[string]*keyLock
}

type keyLock struct {
	sync.Mutex
	refs int
}

// lock takes the locks of keys in mount, in sorted order so that two
// callers never deadlock, and returns the function that releases them.
func (k *keyLocks) lock(mount uint32, keys []string) func() {
	ids := make([]string, 0, len(keys))
	for _, key := range keys {
		ids = append(ids, fmt.Sprintf("%d\x00%s", mount, key))
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	locks := make([]*keyLock, len(ids))
	k.mu.Lock()
	if k.m == nil {
		k.m = map[string]*keyLock{}
	}
	for i, id := range ids {
		l := k.m[id]
		if l == nil {
			l = &keyLock{}
			k.m[id] = l
		}
		l.refs++
		locks[i] = l
	}
	k.mu.Unlock()
	for _, l := range locks {
		l.Lock()
	}
	return func() {
		for _, l := range locks {
			l.Unlock()
		}
		k.mu.Lock()
		for i, id := range ids {
			if locks[i].refs--; locks[i].refs == 0 {
				delete(k.m, id)
			}
		}
		k.mu.Unlock()
	}
}

// Persist uploads file ino to the UFS now, whatever its write type (the
// `fs persist` command), and returns once it is there.
func (s *Store) Persist(ctx context.Context, ino uint64) error {
	s.treeMu.Lock()
	n, err := s.inode(ino)
	if err == nil && n.Type != TypeFile {
		err = ErrIsDir
	}
	if err != nil {
		s.treeMu.Unlock()
		return opErr("persist", inoStr(ino), err)
	}
	if n.State == Persisted {
		s.treeMu.Unlock()
		return nil
	}
	b := s.db.NewBatch("persist")
	n.State = ToBePersisted
	b.PutInode(n)
	err = b.AddTask(&meta.Task{Kind: meta.TaskPersist, Ino: n.Ino, Version: n.Version, Mount: n.Mount})
	if err == nil {
		err = b.Commit(true)
	} else {
		b.Discard()
	}
	s.treeMu.Unlock()
	if err != nil {
		return opErr("persist", inoStr(ino), err)
	}
	return opErr("persist", inoStr(ino), s.persist.now(ctx, ino))
}
