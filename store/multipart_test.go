package store

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func md5hex(b []byte) string { s := md5.Sum(b); return hex.EncodeToString(s[:]) }

// multipartETag is S3's ETag of an object assembled from parts.
func multipartETag(parts ...[]byte) string {
	h := md5.New()
	for _, p := range parts {
		s := md5.Sum(p)
		h.Write(s[:])
	}
	return fmt.Sprintf("%s-%d", hex.EncodeToString(h.Sum(nil)), len(parts))
}

func (e *env) uploadPart(path, id string, num int, data []byte) *Part {
	e.t.Helper()
	p, err := e.s.UploadPart(bg, path, id, num, bytes.NewReader(data), PartOptions{Size: -1})
	if err != nil {
		e.t.Fatal(err)
	}
	if p.ETag != md5hex(data) || p.Size != int64(len(data)) {
		e.t.Fatalf("part %d: got %+v", num, p)
	}
	return p
}

// uploadFiles lists the part files of every upload.
func (e *env) uploadFiles() []string {
	var out []string
	filepath.Walk(filepath.Join(e.opts.CacheDirs[0], uploadsDir), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func TestMultipartComplete(t *testing.T) {
	// Parts of odd sizes, smaller than a block and than S3's 5 MiB minimum,
	// uploaded out of order.
	p1, p2, p3 := randBytes(1, 100_000), randBytes(2, 1), randBytes(3, 200_003)
	for _, tc := range []struct {
		name string
		list func(ps []*Part) []CompletePart
		want [][]byte
	}{
		{"all parts (empty complete)", func([]*Part) []CompletePart { return nil }, [][]byte{p1, p2, p3}},
		{"listed parts", func(ps []*Part) []CompletePart {
			return []CompletePart{{1, `"` + ps[0].ETag + `"`}, {2, ps[1].ETag}, {3, ps[2].ETag}}
		}, [][]byte{p1, p2, p3}},
		{"a subset", func(ps []*Part) []CompletePart {
			return []CompletePart{{1, ps[0].ETag}, {3, ps[2].ETag}}
		}, [][]byte{p1, p3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			used := e.s.CacheStats().Used
			if _, err := e.s.MkdirAll(bg, "/b", Cred{}); err != nil {
				t.Fatal(err)
			}
			u, err := e.s.CreateUpload(bg, "/b/dir/obj", PutOptions{ContentType: "text/plain", Meta: map[string]string{"x-amz-meta-a": "1"}, Cred: Cred{Owner: "alice"}})
			if err != nil {
				t.Fatal(err)
			}
			ps := make([]*Part, 3)
			ps[2] = e.uploadPart("/b/dir/obj", u.ID, 3, p3)
			ps[0] = e.uploadPart("/b/dir/obj", u.ID, 1, p1)
			ps[1] = e.uploadPart("/b/dir/obj", u.ID, 2, p2)
			if _, err := e.s.Resolve(bg, "/b/dir/obj"); !errors.Is(err, ErrNotExist) {
				t.Fatalf("object visible before completion: %v", err)
			}
			got, err := e.s.ListParts(bg, "/b/dir/obj", u.ID)
			if err != nil || len(got) != 3 || got[0].Number != 1 || got[2].Number != 3 {
				t.Fatalf("ListParts: %+v, %v", got, err)
			}
			n, err := e.s.CompleteUpload(bg, "/b/dir/obj", u.ID, tc.list(ps))
			if err != nil {
				t.Fatal(err)
			}
			if want := multipartETag(tc.want...); n.ETag != want {
				t.Fatalf("ETag %s, want %s", n.ETag, want)
			}
			if n.ContentType != "text/plain" || n.Meta["x-amz-meta-a"] != "1" || n.Owner != "alice" {
				t.Fatalf("attributes lost: %+v", n)
			}
			mustEqual(t, e.readPath("/b/dir/obj"), bytes.Join(tc.want, nil))
			if _, err := e.s.ListParts(bg, "/b/dir/obj", u.ID); !errors.Is(err, ErrNoUpload) {
				t.Fatalf("upload still there: %v", err)
			}
			if f := e.uploadFiles(); len(f) != 0 {
				t.Fatalf("part files left: %v", f)
			}
			var size int64
			for _, b := range tc.want {
				size += int64(len(b))
			}
			if d := e.s.CacheStats().Used - used; d != size {
				t.Fatalf("cache accounts %d bytes more, want the object's %d", d, size)
			}
			e.waitPersisted()
			b, err := e.ufsBytes("b/dir/obj")
			if err != nil {
				t.Fatal(err)
			}
			mustEqual(t, b, bytes.Join(tc.want, nil))
		})
	}
}

func TestMultipartErrors(t *testing.T) {
	e := newEnv(t)
	u, err := e.s.CreateUpload(bg, "/b/k", PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p1 := e.uploadPart("/b/k", u.ID, 1, []byte("one"))
	p2 := e.uploadPart("/b/k", u.ID, 2, []byte("two"))
	for _, tc := range []struct {
		name string
		err  func() error
		want error
	}{
		{"wrong path", func() error { _, err := e.s.ListParts(bg, "/b/other", u.ID); return err }, ErrNoUpload},
		{"unknown id", func() error { _, err := e.s.ListParts(bg, "/b/k", "nope"); return err }, ErrNoUpload},
		{"part number 0", func() error {
			_, err := e.s.UploadPart(bg, "/b/k", u.ID, 0, bytes.NewReader(nil), PartOptions{Size: -1})
			return err
		}, ErrInvalid},
		{"part number 10001", func() error {
			_, err := e.s.UploadPart(bg, "/b/k", u.ID, MaxPartNumber+1, bytes.NewReader(nil), PartOptions{Size: -1})
			return err
		}, ErrInvalid},
		{"bad digest", func() error {
			_, err := e.s.UploadPart(bg, "/b/k", u.ID, 3, bytes.NewReader([]byte("x")), PartOptions{MD5: make([]byte, 16), Size: -1})
			return err
		}, ErrBadDigest},
		{"short body", func() error {
			_, err := e.s.UploadPart(bg, "/b/k", u.ID, 3, bytes.NewReader([]byte("x")), PartOptions{Size: 2})
			return err
		}, ErrInvalid},
		{"broken body", func() error {
			_, err := e.s.UploadPart(bg, "/b/k", u.ID, 3, io.MultiReader(bytes.NewReader([]byte("x")), errReader{}), PartOptions{Size: -1})
			return err
		}, errBroken},
		{"missing part", func() error {
			_, err := e.s.CompleteUpload(bg, "/b/k", u.ID, []CompletePart{{1, p1.ETag}, {4, ""}})
			return err
		}, ErrInvalidPart},
		{"wrong ETag", func() error {
			_, err := e.s.CompleteUpload(bg, "/b/k", u.ID, []CompletePart{{1, p2.ETag}})
			return err
		}, ErrInvalidPart},
		{"descending", func() error {
			_, err := e.s.CompleteUpload(bg, "/b/k", u.ID, []CompletePart{{2, p2.ETag}, {1, p1.ETag}})
			return err
		}, ErrPartOrder},
		{"repeated", func() error {
			_, err := e.s.CompleteUpload(bg, "/b/k", u.ID, []CompletePart{{1, p1.ETag}, {1, p1.ETag}})
			return err
		}, ErrPartOrder},
		{"empty list", func() error { _, err := e.s.CompleteUpload(bg, "/b/k", u.ID, []CompletePart{}); return err }, ErrInvalid},
		{"bad path", func() error { _, err := e.s.CreateUpload(bg, "/b/a//b", PutOptions{}); return err }, ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.err(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// Nothing of the failures stayed: two parts, two files.
	ps, err := e.s.ListParts(bg, "/b/k", u.ID)
	if err != nil || len(ps) != 2 {
		t.Fatalf("parts after failures: %+v %v", ps, err)
	}
	if f := e.uploadFiles(); len(f) != 2 {
		t.Fatalf("part files after failures: %v", f)
	}
	if _, err := e.s.Resolve(bg, "/b/k"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("failed completion left an object: %v", err)
	}
}

var errBroken = errors.New("connection reset")

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errBroken }

func TestMultipartReplaceAbortQuota(t *testing.T) {
	e := newEnv(t)
	used := e.s.CacheStats().Used
	u, err := e.s.CreateUpload(bg, "/b/k", PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e.uploadPart("/b/k", u.ID, 1, randBytes(1, 5000))
	e.uploadPart("/b/k", u.ID, 1, randBytes(2, 7000)) // replaces
	e.uploadPart("/b/k", u.ID, 2, randBytes(3, 1000))
	if d := e.s.CacheStats().Used - used; d != 8000 {
		t.Fatalf("parts account %d bytes, want 8000", d)
	}
	if f := e.uploadFiles(); len(f) != 2 {
		t.Fatalf("part files: %v", f)
	}
	ups, err := e.s.ListUploads(bg, "/b/")
	if err != nil || len(ups) != 1 || ups[0].ID != u.ID || ups[0].Path != "/b/k" {
		t.Fatalf("ListUploads: %+v %v", ups, err)
	}
	if err := e.s.AbortUpload(bg, "/b/k", u.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.s.AbortUpload(bg, "/b/k", u.ID); !errors.Is(err, ErrNoUpload) {
		t.Fatalf("second abort: %v", err)
	}
	if d := e.s.CacheStats().Used - used; d != 0 {
		t.Fatalf("abort left %d bytes accounted", d)
	}
	if f := e.uploadFiles(); len(f) != 0 {
		t.Fatalf("abort left part files: %v", f)
	}
	if ups, _ := e.s.ListUploads(bg, "/"); len(ups) != 0 {
		t.Fatalf("uploads after abort: %+v", ups)
	}
}

func TestMultipartSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	u, err := e.s.CreateUpload(bg, "/b/k", PutOptions{ContentType: "a/b"})
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := randBytes(1, 70_000), randBytes(2, 3)
	e.uploadPart("/b/k", u.ID, 1, p1)
	e.uploadPart("/b/k", u.ID, 2, p2)
	// What a crash between a part's rename and its record leaves.
	stray := filepath.Join(filepath.Dir(e.uploadFiles()[0]), "00003.ff")
	if err := os.WriteFile(stray, []byte("stray"), 0o600); err != nil {
		t.Fatal(err)
	}
	strayUpload := filepath.Join(e.opts.CacheDirs[0], uploadsDir, "0123")
	os.MkdirAll(strayUpload, 0o700)
	e.restart()
	ps, err := e.s.ListParts(bg, "/b/k", u.ID)
	if err != nil || len(ps) != 2 {
		t.Fatalf("parts after restart: %+v %v", ps, err)
	}
	if _, err := os.Stat(stray); !os.IsNotExist(err) {
		t.Fatalf("stray part file kept: %v", err)
	}
	if _, err := os.Stat(strayUpload); !os.IsNotExist(err) {
		t.Fatalf("stray upload dir kept: %v", err)
	}
	if st := e.s.CacheStats(); st.Used < int64(len(p1)+len(p2)) {
		t.Fatalf("parts not accounted after restart: %+v", st)
	}
	n, err := e.s.CompleteUpload(bg, "/b/k", u.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n.ContentType != "a/b" || n.ETag != multipartETag(p1, p2) {
		t.Fatalf("completed: %+v", n)
	}
	mustEqual(t, e.readPath("/b/k"), append(append([]byte{}, p1...), p2...))
	e.restart()
	mustEqual(t, e.readPath("/b/k"), append(append([]byte{}, p1...), p2...))
}

// A completion that cannot create the object keeps the upload as it was.
func TestMultipartCompleteConflict(t *testing.T) {
	e := newEnv(t)
	if _, err := e.s.MkdirAll(bg, "/b/k/sub", Cred{}); err != nil {
		t.Fatal(err)
	}
	u, err := e.s.CreateUpload(bg, "/b/k", PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p1, p2 := randBytes(1, 1000), randBytes(2, 1000)
	e.uploadPart("/b/k", u.ID, 1, p1)
	e.uploadPart("/b/k", u.ID, 2, p2)
	if _, err := e.s.CompleteUpload(bg, "/b/k", u.ID, nil); !errors.Is(err, ErrIsDir) {
		t.Fatalf("complete over a directory: %v", err)
	}
	if err := e.s.Remove(bg, "/b/k/sub"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Remove(bg, "/b/k"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.CompleteUpload(bg, "/b/k", u.ID, nil); err != nil {
		t.Fatal(err)
	}
	mustEqual(t, e.readPath("/b/k"), append(append([]byte{}, p1...), p2...))
}

// Parts of one upload arrive in parallel; a completion racing the last ones
// either takes them or they fail with ErrNoUpload and leave nothing.
func TestMultipartParallelParts(t *testing.T) {
	e := newEnv(t)
	u, err := e.s.CreateUpload(bg, "/b/k", PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 16
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := e.s.UploadPart(bg, "/b/k", u.ID, i, bytes.NewReader(randBytes(uint64(i), 30_000+i)), PartOptions{Size: -1}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	var want []byte
	for i := 1; i <= n; i++ {
		want = append(want, randBytes(uint64(i), 30_000+i)...)
	}
	// Late parts racing the completion.
	errs := make(chan error, 4)
	for i := n + 1; i <= n+4; i++ {
		go func() {
			_, err := e.s.UploadPart(bg, "/b/k", u.ID, i, bytes.NewReader(randBytes(9, 100)), PartOptions{Size: -1})
			errs <- err
		}()
	}
	list := make([]CompletePart, n)
	for i := range list {
		list[i] = CompletePart{Number: i + 1}
	}
	if _, err := e.s.CompleteUpload(bg, "/b/k", u.ID, list); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if err := <-errs; err != nil && !errors.Is(err, ErrNoUpload) {
			t.Fatal(err)
		}
	}
	mustEqual(t, e.readPath("/b/k"), want)
	if f := e.uploadFiles(); len(f) != 0 {
		t.Fatalf("part files left: %v", f)
	}
}

func TestAppendFileFallbacks(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	a, b := randBytes(1, 10_000), randBytes(2, 123_457)
	os.WriteFile(filepath.Join(dir, "a"), a, 0o600)
	os.WriteFile(filepath.Join(dir, "b"), b, 0o600)
	dst, _ := os.OpenFile(filepath.Join(dir, "a"), os.O_RDWR, 0)
	src, _ := os.Open(filepath.Join(dir, "b"))
	defer dst.Close()
	defer src.Close()
	if err := e.s.appendFile(dst, src, int64(len(a)), int64(len(b))); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "a"))
	mustEqual(t, got, append(append([]byte{}, a...), b...))
}

func TestSetObjectAttrs(t *testing.T) {
	e := newEnv(t)
	n, err := e.s.PutObject(bg, "/b/k", bytes.NewReader([]byte("data")), PutOptions{Size: -1, ContentType: "x/y", Tags: map[string]string{"a": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{"b": "2"}
	m, err := e.s.SetObjectAttrs(bg, "/b/k", ObjectAttrs{Tags: &tags})
	if err != nil {
		t.Fatal(err)
	}
	if m.Tags["b"] != "2" || m.Tags["a"] != "" || m.ContentType != "x/y" || m.ETag != n.ETag || m.Version != n.Version {
		t.Fatalf("after SetObjectAttrs: %+v", m)
	}
	if _, err := e.s.SetObjectAttrs(bg, "/b/nope", ObjectAttrs{Tags: &tags}); !errors.Is(err, ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}
