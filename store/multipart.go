package store

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Multipart uploads.
//
// An upload is created for a path, receives numbered parts in any order and
// becomes the content of the path at CompleteUpload, atomically, through the
// same commit as PutObject. Until then nothing of it is visible in the
// namespace.
//
// Each part streams into its own file under <cache dir>/uploads/<id>/, in
// the cache dir the part was staged in (so that moving it there is a rename),
// named "<part>.<gen>" so that a part uploaded again never overwrites the
// one it replaces before the new one is committed. Cache quota is reserved
// for every part as it is written and released when the part goes. Complete
// turns the first part's file into the object's cache file and appends the
// others to it in the kernel (FICLONERANGE where the file system shares
// blocks, copy_file_range otherwise), so no part's bytes pass through the
// daemon again.
//
// The state is durable in the metadata store, one record per upload and one
// per part (see uploadRecord and partRecord), so uploads survive restarts;
// part files that no record names (a crash between the rename and the
// record) are deleted when the uploads are loaded. The cache reconciliation
// at start-up leaves the uploads directories alone: their entries do not
// parse as cache file names.
//
// Locking: uploadTable.mu guards the table; each upload's mu serializes the
// changes of its records, completion and abort. Parts are staged without any
// lock, so the parts of one upload arrive in parallel.

// MaxPartNumber is the highest part number, as in S3.
const MaxPartNumber = 10000

// Multipart errors. They wrap errnos so that callers without an S3 mapping
// still get a meaningful one.
var (
	// ErrNoUpload: the upload does not exist (never did, completed or
	// aborted), or belongs to another path.
	ErrNoUpload = fmt.Errorf("no such multipart upload: %w", syscall.ENOENT)
	// ErrInvalidPart: a part named by CompleteUpload was not uploaded, or
	// its ETag differs.
	ErrInvalidPart = fmt.Errorf("part not uploaded or its ETag differs: %w", syscall.EINVAL)
	// ErrPartOrder: the parts given to CompleteUpload are not in strictly
	// ascending order.
	ErrPartOrder = fmt.Errorf("parts not in ascending order: %w", syscall.EINVAL)
)

// Upload describes a multipart upload in progress.
type Upload struct {
	ID          string
	Path        string
	Initiated   time.Time
	Owner       string
	ContentType string
	Meta        map[string]string
	Tags        map[string]string
}

// Part describes an uploaded part.
type Part struct {
	Number       int
	Size         int64
	ETag         string // hex MD5 of the part
	LastModified time.Time
}

// PartOptions describe an uploaded part.
type PartOptions struct {
	MD5  []byte // when set, the digest the part must have
	Size int64  // when >= 0, the exact length the part must have
}

// CompletePart names a part to assemble and the ETag it must have ("" skips
// the check).
type CompletePart struct {
	Number int
	ETag   string
}

// uploadsDir is the directory of part files in each cache dir.
const uploadsDir = "uploads"

// uploadRecord is the value of key 'u' <id>: what the upload was created
// with. JSON, so that fields can be added; V is the record version.
type uploadRecord struct {
	V           int               `json:"v"`
	Path        string            `json:"path"`
	Initiated   int64             `json:"initiated"` // unix ns
	Uid         uint32            `json:"uid"`
	Gid         uint32            `json:"gid"`
	Owner       string            `json:"owner,omitempty"`
	Group       string            `json:"group,omitempty"`
	ContentType string            `json:"ctype,omitempty"`
	Meta        map[string]string `json:"meta,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Mode        uint32            `json:"mode,omitempty"`
	// WriteType is the write type the creator asked for (0: none), used at
	// completion unless the completing request asks for one itself.
	WriteType WriteType `json:"wt,omitempty"`
}

// partRecord is the value of key 'u' <id> '/' <part, 5 decimal digits>:
// one uploaded part and the file that holds it.
type partRecord struct {
	V      int    `json:"v"`
	Number int    `json:"n"`
	Size   int64  `json:"size"`
	MD5    string `json:"md5"` // hex
	File   string `json:"file"`
	Mtime  int64  `json:"mtime"` // unix ns
}

func partKey(id string, num int) string { return fmt.Sprintf("%s/%05d", id, num) }

type upload struct {
	id  string
	rec uploadRecord

	mu    sync.Mutex
	parts map[int]*partRecord // guarded by mu
	done  bool                // guarded by mu: completed or aborted
}

func (u *upload) info() *Upload {
	return &Upload{
		ID: u.id, Path: u.rec.Path, Initiated: time.Unix(0, u.rec.Initiated), Owner: u.rec.Owner,
		ContentType: u.rec.ContentType, Meta: u.rec.Meta, Tags: u.rec.Tags,
	}
}

// uploadTable mirrors the uploads' records in memory.
type uploadTable struct {
	once sync.Once
	err  error

	mu sync.Mutex
	m  map[string]*upload // by id
}

// uploads returns the store's upload table, loading it from the metadata
// store on first use.
func (s *Store) uploads() (*uploadTable, error) {
	t := &s.multipart
	t.once.Do(func() {
		t.m = map[string]*upload{}
		t.err = s.loadUploads(t)
	})
	return t, t.err
}

// loadUploads reads every upload record, accounts the part files against
// the cache quota, and deletes what a crash left behind: records of part
// files that are gone, and part files that no record names.
func (s *Store) loadUploads(t *uploadTable) error {
	b := s.db.NewBatch("load uploads")
	var orphanParts []string
	for key, val := range s.db.Uploads() {
		id, num, isPart := strings.Cut(key, "/")
		if !isPart {
			var rec uploadRecord
			if err := json.Unmarshal(val, &rec); err != nil {
				s.log.Warn("multipart: dropping unreadable upload record", "id", id, "err", err)
				b.DeleteUpload(key)
				continue
			}
			t.m[id] = &upload{id: id, rec: rec, parts: map[int]*partRecord{}}
			continue
		}
		u := t.m[id]
		var p partRecord
		err := json.Unmarshal(val, &p)
		if err == nil && u == nil {
			err = errors.New("upload record missing")
		}
		if err == nil {
			if fi, serr := os.Stat(p.File); serr != nil {
				err = serr
			} else if fi.Size() != p.Size {
				err = fmt.Errorf("part file has %d bytes, record says %d", fi.Size(), p.Size)
			}
		}
		if err != nil {
			s.log.Warn("multipart: dropping part", "id", id, "part", num, "err", err)
			b.DeleteUpload(key)
			orphanParts = append(orphanParts, p.File)
			continue
		}
		u.parts[p.Number] = &p
		s.cache.Account(p.Size)
	}
	if err := b.Commit(true); err != nil {
		return err
	}
	for _, f := range orphanParts {
		if f != "" {
			os.Remove(f)
		}
	}
	// Part files that no record names.
	for _, cd := range s.opts.CacheDirs {
		root := filepath.Join(cd, uploadsDir)
		ids, err := os.ReadDir(root)
		if err != nil {
			continue
		}
		for _, d := range ids {
			u := t.m[d.Name()]
			if u == nil {
				os.RemoveAll(filepath.Join(root, d.Name()))
				continue
			}
			files, _ := os.ReadDir(filepath.Join(root, d.Name()))
			for _, f := range files {
				p := filepath.Join(root, d.Name(), f.Name())
				if !u.referencesFile(p) {
					os.Remove(p)
				}
			}
		}
	}
	return nil
}

func (u *upload) referencesFile(path string) bool {
	for _, p := range u.parts {
		if p.File == path {
			return true
		}
	}
	return false
}

// get finds upload id of path.
func (t *uploadTable) get(path, id string) (*upload, error) {
	t.mu.Lock()
	u := t.m[id]
	t.mu.Unlock()
	if u == nil || u.rec.Path != path {
		return nil, ErrNoUpload
	}
	return u, nil
}

func newUploadID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// CreateUpload starts a multipart upload to path. o's Cred, Mode,
// ContentType, Meta and Tags apply to the object at completion; MD5, Size
// and ETag are ignored. The path must be a valid file path; whether it can
// be created is checked at completion. The write type of ctx, if any, is
// the upload's.
func (s *Store) CreateUpload(ctx context.Context, path string, o PutOptions) (*Upload, error) {
	parts, err := SplitPath(path)
	if err != nil {
		return nil, opErr("create upload", path, err)
	}
	if len(parts) == 0 {
		return nil, opErr("create upload", path, ErrIsDir)
	}
	t, err := s.uploads()
	if err != nil {
		return nil, opErr("create upload", path, err)
	}
	cred := s.fillCred(o.Cred)
	rec := uploadRecord{
		V: 1, Path: path, Initiated: nowNs(),
		Uid: cred.Uid, Gid: cred.Gid, Owner: cred.Owner, Group: cred.Group,
		ContentType: o.ContentType, Meta: o.Meta, Tags: o.Tags, Mode: o.Mode,
	}
	if w, ok := ctx.Value(writeTypeKey{}).(WriteType); ok {
		rec.WriteType = w
	}
	val, err := json.Marshal(&rec)
	if err != nil {
		return nil, opErr("create upload", path, err)
	}
	u := &upload{id: newUploadID(), rec: rec, parts: map[int]*partRecord{}}
	b := s.db.NewBatch("create upload")
	b.PutUpload(u.id, val)
	if err := b.Commit(true); err != nil {
		return nil, opErr("create upload", path, err)
	}
	t.mu.Lock()
	t.m[u.id] = u
	t.mu.Unlock()
	return u.info(), nil
}

// GetUpload returns upload id of path.
func (s *Store) GetUpload(ctx context.Context, path, id string) (*Upload, error) {
	t, err := s.uploads()
	if err != nil {
		return nil, opErr("get upload", path, err)
	}
	u, err := t.get(path, id)
	if err != nil {
		return nil, opErr("get upload", path, err)
	}
	return u.info(), nil
}

// UploadPart streams r into part num of upload id of path, replacing a part
// of that number uploaded before. The part is durable when UploadPart
// returns; a failed or cancelled part leaves nothing behind.
func (s *Store) UploadPart(ctx context.Context, path, id string, num int, r io.Reader, o PartOptions) (*Part, error) {
	const op = "upload part"
	if num < 1 || num > MaxPartNumber {
		return nil, opErr(op, path, fmt.Errorf("part number %d is not between 1 and %d: %w", num, MaxPartNumber, ErrInvalid))
	}
	t, err := s.uploads()
	if err != nil {
		return nil, opErr(op, path, err)
	}
	u, err := t.get(path, id)
	if err != nil {
		return nil, opErr(op, path, err)
	}
	st, err := s.stage(ctx, r, PutOptions{MD5: o.MD5, Size: o.Size})
	if err != nil {
		return nil, opErr(op, path, err)
	}
	// Move the staged file among the upload's parts, in the same cache
	// dir: <cache dir>/<xx>/<ino>-<id> -> <cache dir>/uploads/<id>/...
	dir := filepath.Join(filepath.Dir(filepath.Dir(st.f.Name())), uploadsDir, id)
	file := filepath.Join(dir, fmt.Sprintf("%05d.%x", num, st.id))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		st.discard(s)
		return nil, opErr(op, path, err)
	}
	if err := os.Rename(st.f.Name(), file); err != nil {
		st.discard(s)
		return nil, opErr(op, path, err)
	}
	st.f.Close()
	syncDir(dir)
	rec := &partRecord{V: 1, Number: num, Size: st.size, MD5: hex.EncodeToString(st.md5), File: file, Mtime: nowNs()}
	drop := func() {
		os.Remove(file)
		s.cache.Release(st.reserved)
	}
	val, err := json.Marshal(rec)
	if err != nil {
		drop()
		return nil, opErr(op, path, err)
	}

	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		drop()
		return nil, opErr(op, path, ErrNoUpload)
	}
	b := s.db.NewBatch(op)
	b.PutUpload(partKey(id, num), val)
	if err := b.Commit(true); err != nil {
		drop()
		return nil, opErr(op, path, err)
	}
	if old := u.parts[num]; old != nil {
		os.Remove(old.File)
		s.cache.Release(old.Size)
	}
	u.parts[num] = rec
	return rec.part(), nil
}

func (p *partRecord) part() *Part {
	return &Part{Number: p.Number, Size: p.Size, ETag: p.MD5, LastModified: time.Unix(0, p.Mtime)}
}

// ListParts returns the parts of upload id of path, by number.
func (s *Store) ListParts(ctx context.Context, path, id string) ([]Part, error) {
	t, err := s.uploads()
	if err != nil {
		return nil, opErr("list parts", path, err)
	}
	u, err := t.get(path, id)
	if err != nil {
		return nil, opErr("list parts", path, err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return nil, opErr("list parts", path, ErrNoUpload)
	}
	return u.sortedPartsLocked(), nil
}

func (u *upload) sortedPartsLocked() []Part {
	out := make([]Part, 0, len(u.parts))
	for _, p := range u.parts {
		out = append(out, *p.part())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out
}

// ListUploads returns the uploads whose path starts with prefix, by path,
// then by initiation time and id.
func (s *Store) ListUploads(ctx context.Context, prefix string) ([]Upload, error) {
	t, err := s.uploads()
	if err != nil {
		return nil, opErr("list uploads", prefix, err)
	}
	var out []Upload
	t.mu.Lock()
	for _, u := range t.m {
		if strings.HasPrefix(u.rec.Path, prefix) {
			out = append(out, *u.info())
		}
	}
	t.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		if !a.Initiated.Equal(b.Initiated) {
			return a.Initiated.Before(b.Initiated)
		}
		return a.ID < b.ID
	})
	return out, nil
}

// AbortUpload drops upload id of path and every part of it. Parts still
// being uploaded are dropped when they arrive.
func (s *Store) AbortUpload(ctx context.Context, path, id string) error {
	t, err := s.uploads()
	if err != nil {
		return opErr("abort upload", path, err)
	}
	u, err := t.get(path, id)
	if err != nil {
		return opErr("abort upload", path, err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return opErr("abort upload", path, ErrNoUpload)
	}
	if err := s.dropUploadLocked(t, u, 0); err != nil {
		return opErr("abort upload", path, err)
	}
	return nil
}

// dropUploadLocked deletes the upload's records and part files, except the
// file of part keep (its bytes became an object), and releases their quota.
func (s *Store) dropUploadLocked(t *uploadTable, u *upload, keep int) error {
	b := s.db.NewBatch("drop upload")
	b.DeleteUpload(u.id)
	for num := range u.parts {
		b.DeleteUpload(partKey(u.id, num))
	}
	if err := b.Commit(true); err != nil {
		return err
	}
	u.done = true
	t.mu.Lock()
	delete(t.m, u.id)
	t.mu.Unlock()
	for num, p := range u.parts {
		if num == keep {
			continue
		}
		os.Remove(p.File)
		s.cache.Release(p.Size)
	}
	for _, cd := range s.opts.CacheDirs {
		os.Remove(filepath.Join(cd, uploadsDir, u.id)) // only if empty: a late part may still be moving in
	}
	u.parts = nil
	return nil
}

// CompleteUpload assembles the parts listed (nil: every uploaded part, in
// order) into the content of the upload's path, committed atomically like
// PutObject, with the ETag hex(md5(md5s of the parts))-N. The listed parts
// must be in strictly ascending order (ErrPartOrder) and uploaded with the
// ETags given (ErrInvalidPart). Parts not listed are dropped.
//
// When the commit fails before the object exists (the path is a directory,
// or its parent a file), the upload stays as it was and can be completed
// again.
func (s *Store) CompleteUpload(ctx context.Context, path, id string, list []CompletePart) (*Inode, error) {
	const op = "complete upload"
	t, err := s.uploads()
	if err != nil {
		return nil, opErr(op, path, err)
	}
	u, err := t.get(path, id)
	if err != nil {
		return nil, opErr(op, path, err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return nil, opErr(op, path, ErrNoUpload)
	}
	var chosen []*partRecord
	if list == nil {
		for _, p := range u.sortedPartsLocked() {
			chosen = append(chosen, u.parts[p.Number])
		}
	} else {
		if len(list) == 0 {
			return nil, opErr(op, path, fmt.Errorf("no part listed: %w", ErrInvalid))
		}
		for i, c := range list {
			if i > 0 && c.Number <= list[i-1].Number {
				return nil, opErr(op, path, ErrPartOrder)
			}
			p := u.parts[c.Number]
			want := strings.ToLower(strings.Trim(c.ETag, `"`))
			if p == nil || (want != "" && want != p.MD5) {
				return nil, opErr(op, path, fmt.Errorf("part %d: %w", c.Number, ErrInvalidPart))
			}
			chosen = append(chosen, p)
		}
	}

	// The ETag S3 gives a multipart object.
	sum := md5.New()
	var total int64
	for _, p := range chosen {
		b, err := hex.DecodeString(p.MD5)
		if err != nil {
			return nil, opErr(op, path, fmt.Errorf("part %d record: %w", p.Number, ErrIO))
		}
		sum.Write(b)
		total += p.Size
	}
	o := PutOptions{
		Cred:        Cred{Uid: u.rec.Uid, Gid: u.rec.Gid, Owner: u.rec.Owner, Group: u.rec.Group},
		Mode:        u.rec.Mode,
		ContentType: u.rec.ContentType, Meta: u.rec.Meta, Tags: u.rec.Tags,
		Size: -1,
		ETag: fmt.Sprintf("%s-%d", hex.EncodeToString(sum.Sum(nil)), len(chosen)),
	}
	if _, ok := ctx.Value(writeTypeKey{}).(WriteType); !ok && u.rec.WriteType != 0 {
		ctx = WithWriteType(ctx, u.rec.WriteType)
	}
	if len(chosen) == 0 {
		// Nothing was uploaded: the object is empty.
		n, err := s.PutObject(ctx, path, bytes.NewReader(nil), o)
		if err != nil {
			return nil, err
		}
		if err := s.dropUploadLocked(t, u, 0); err != nil {
			s.log.Warn("multipart: dropping completed upload", "id", id, "err", err)
		}
		return n, nil
	}

	parts, err := SplitPath(path)
	if err != nil {
		return nil, opErr(op, path, err)
	}
	parent, err := s.mkdirAll(ctx, parts[:len(parts)-1], o.Cred)
	if err != nil {
		return nil, opErr(op, path, err)
	}
	name := parts[len(parts)-1]
	if err := s.writable(parent); err != nil {
		return nil, opErr(op, path, err)
	}
	if n, err := s.lookup(ctx, parent.Ino, name); err == nil && n.Type == TypeDir {
		return nil, opErr(op, path, ErrIsDir)
	}

	st, err := s.assemble(chosen, total)
	if err != nil {
		return nil, opErr(op, path, err)
	}
	first := chosen[0]
	n, replaced, err := s.commitStaged(ctx, parent.Ino, name, st, o)
	if err != nil {
		if _, serr := os.Stat(first.File); serr == nil {
			// Not moved: give the first part its own bytes back, and keep
			// the upload for another try.
			st.f.Truncate(first.Size)
			st.f.Close()
			s.cache.Release(st.reserved - first.Size)
			return nil, opErr(op, path, err)
		}
		// The first part's file was moved and the commit failed after: the
		// upload cannot be completed any more.
		st.discard(s)
		s.cache.Account(first.Size) // dropUploadLocked releases it again
		if derr := s.dropUploadLocked(t, u, 0); derr != nil {
			s.log.Warn("multipart: dropping failed upload", "id", id, "err", derr)
		}
		return nil, opErr(op, path, err)
	}
	// The object's cache file holds the reservation of the first part and
	// of the bytes appended to it; the other parts' files go.
	if err := s.dropUploadLocked(t, u, first.Number); err != nil {
		s.log.Warn("multipart: dropping completed upload", "id", id, "err", err)
	}
	s.publishPut(ctx, parent.Ino, name, n, replaced)
	switch n.WriteType {
	case CacheThrough, Through:
		if err := s.persist.now(ctx, n.Ino); err != nil {
			return nil, opErr(op, path, err)
		}
	default:
		s.persist.kick()
	}
	return n, nil
}

// assemble appends the other parts to the first part's file and returns
// it as staged content. It reserves quota for the appended bytes (they are
// copies until the parts' files go); on failure the first part is as it was.
func (s *Store) assemble(parts []*partRecord, total int64) (*staged, error) {
	first := parts[0]
	f, err := os.OpenFile(first.File, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("part %d: %v: %w", first.Number, err, ErrIO)
	}
	extra := total - first.Size
	if err := s.cache.Reserve(extra); err != nil {
		f.Close()
		return nil, err
	}
	fail := func(err error) (*staged, error) {
		f.Truncate(first.Size)
		f.Close()
		s.cache.Release(extra)
		return nil, err
	}
	off := first.Size
	for _, p := range parts[1:] {
		src, err := os.Open(p.File)
		if err != nil {
			return fail(fmt.Errorf("part %d: %v: %w", p.Number, err, ErrIO))
		}
		err = s.writeCache(p.Size, func() error { return s.appendFile(f, src, off, p.Size) })
		src.Close()
		if err != nil {
			return fail(fmt.Errorf("part %d: %w", p.Number, err))
		}
		off += p.Size
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("sync cache file: %w", err))
	}
	// The object's inode must place its cache file in the cache dir that
	// holds the first part's file, which becomes it by a rename: cache dirs
	// may be different file systems. Each dir gets an even share of
	// numbers, so this takes as many tries as there are dirs, on average.
	var ino uint64
	for {
		if ino, err = s.db.NewIno(); err != nil {
			return fail(err)
		}
		if s.cache.SameDir(ino, first.File) {
			break
		}
	}
	id, err := s.db.NewIno()
	if err != nil {
		return fail(err)
	}
	return &staged{f: f, ino: ino, id: id, size: total, reserved: total}, nil
}

// appendFile writes the first n bytes of src at off in dst without
// bringing them into user space: FICLONERANGE shares the blocks where the
// file system can (XFS, btrfs; it wants off block-aligned), else
// copy_file_range copies them in the kernel (ext4). A plain copy is the
// last resort (cache dirs on different file systems of an old kernel).
func (s *Store) appendFile(dst, src *os.File, off, n int64) error {
	if n == 0 {
		return nil
	}
	dfd, sfd := int(dst.Fd()), int(src.Fd())
	err := unix.IoctlFileCloneRange(dfd, &unix.FileCloneRange{
		Src_fd: int64(sfd), Src_offset: 0, Src_length: uint64(n), Dest_offset: uint64(off),
	})
	if err == nil {
		return nil
	}
	soff, doff := int64(0), off
	for soff < n {
		c, err := unix.CopyFileRange(sfd, &soff, dfd, &doff, int(min(n-soff, 1<<30)), 0)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if soff == 0 && (errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.ENOSYS) ||
				errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EINVAL)) {
				break
			}
			return err
		}
		if c == 0 {
			return fmt.Errorf("part file shorter than its record: %w", ErrIO)
		}
	}
	if soff == n {
		return nil
	}
	buf := s.bufs.get(1 << 20)
	defer s.bufs.put(buf)
	_, err = io.CopyBuffer(io.NewOffsetWriter(dst, doff), io.NewSectionReader(src, soff, n-soff), buf)
	return err
}

// syncDir makes the entries of dir durable (a rename into it).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// ObjectAttrs are the S3 attributes of a file that change without new
// content; nil fields stay as they are.
//
// SetObjectAttrs belongs with the object API in object.go; it lives here
// until the store's owner moves it.
type ObjectAttrs struct {
	ContentType *string
	Meta        *map[string]string
	Tags        *map[string]string
}

// SetObjectAttrs changes the S3 attributes of the file or directory at
// path (object tagging, a copy onto itself that replaces the metadata). The
// content, its version and its ETag stay.
func (s *Store) SetObjectAttrs(ctx context.Context, path string, a ObjectAttrs) (*Inode, error) {
	n, err := s.Resolve(ctx, path)
	if err != nil {
		return nil, err
	}
	s.treeMu.Lock()
	n, err = s.inode(n.Ino)
	if err == nil {
		err = s.writable(n)
	}
	if err != nil {
		s.treeMu.Unlock()
		return nil, opErr("setattr", path, err)
	}
	if a.ContentType != nil {
		n.ContentType = *a.ContentType
	}
	if a.Meta != nil {
		n.Meta = *a.Meta
	}
	if a.Tags != nil {
		n.Tags = *a.Tags
	}
	n.Ctime = nowNs()
	b := s.db.NewBatch("set object attrs")
	b.PutInode(n)
	err = b.Commit(true)
	s.treeMu.Unlock()
	if err != nil {
		return nil, opErr("setattr", path, err)
	}
	s.feed.publish(Event{Kind: Changed, Ino: n.Ino, Origin: originOf(ctx)})
	return s.overlay(n), nil
}
