package gateway

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hoardfs/hoard/store"
	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/backends"
	"github.com/hoardfs/hoard/ufs/local"
)

// adminEnv is the web server (admin API included) over a real store whose
// root UFS is a local directory; nested mounts open any backend.
type adminEnv struct {
	t     *testing.T
	dir   string
	st    *store.Store
	url   string
	token string
}

func newAdminEnv(t *testing.T, token string) *adminEnv {
	t.Helper()
	dir := t.TempDir()
	u, err := local.New(filepath.Join(dir, "ufs"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(store.Options{
		MetaDir:   filepath.Join(dir, "meta"),
		CacheDirs: []string{filepath.Join(dir, "cache")},
		Quota:     1 << 30, BlockSize: 64 << 10,
		RootUFS: u, RootURI: "file://" + filepath.Join(dir, "ufs"),
		OpenUFS: func(ctx context.Context, uri string, opts map[string]string) (ufs.UFS, error) {
			return backends.Open(ctx, uri, opts)
		},
		SyncInterval: -1,
		RetryBase:    10 * time.Millisecond, RetryMax: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(NewWeb(st, WebOptions{Token: token, Ready: func() bool { return true }}))
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	return &adminEnv{t: t, dir: dir, st: st, url: srv.URL, token: token}
}

// call sends one admin request and returns the status and body.
func (e *adminEnv) call(method, op string, q url.Values, body io.Reader) (int, []byte) {
	e.t.Helper()
	u := e.url + AdminPrefix + op
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, op, err)
	}
	return resp.StatusCode, b
}

// ok sends a request that must succeed and decodes its answer into out.
func (e *adminEnv) ok(method, op string, q url.Values, body io.Reader, out any) {
	e.t.Helper()
	code, b := e.call(method, op, q, body)
	if code/100 != 2 {
		e.t.Fatalf("%s %s %v: %d %s", method, op, q, code, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, op, err, b)
		}
	}
}

// fails sends a request that must fail with status and code.
func (e *adminEnv) fails(status int, code, method, op string, q url.Values, body io.Reader) string {
	e.t.Helper()
	got, b := e.call(method, op, q, body)
	var ae AdminError
	if err := json.Unmarshal(b, &ae); err != nil || got != status || ae.Code != code {
		e.t.Fatalf("%s %s %v: got %d %s, want %d %s", method, op, q, got, b, status, code)
	}
	return ae.Error
}

func (e *adminEnv) put(p, writeType string, data []byte, extra ...string) AdminEntry {
	e.t.Helper()
	q := url.Values{"path": {p}, "writetype": {writeType}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	var ent AdminEntry
	e.ok("PUT", "write", q, bytes.NewReader(data), &ent)
	return ent
}

// lines decodes a JSON-lines answer.
func (e *adminEnv) lines(method, op string, q url.Values) ([]json.RawMessage, int) {
	e.t.Helper()
	code, b := e.call(method, op, q, nil)
	var out []json.RawMessage
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		out = append(out, json.RawMessage(bytes.Clone(sc.Bytes())))
	}
	return out, code
}

func (e *adminEnv) ls(p string, kv ...string) []AdminEntry {
	e.t.Helper()
	q := url.Values{"path": {p}}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	raw, code := e.lines("GET", "ls", q)
	if code != 200 {
		e.t.Fatalf("ls %v: %d %s", q, code, raw)
	}
	var out []AdminEntry
	for _, l := range raw {
		if bytes.Contains(l, []byte(`"error"`)) {
			e.t.Fatalf("ls %v: error line %s", q, l)
		}
		var ent AdminEntry
		if err := json.Unmarshal(l, &ent); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, ent)
	}
	return out
}

func paths(es []AdminEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Path)
	}
	return out
}

func q(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func TestAdminModeString(t *testing.T) {
	for _, c := range []struct {
		typ  string
		mode uint32
		want string
	}{
		{"file", 0o644, "-rw-r--r--"},
		{"dir", 0o755, "drwxr-xr-x"},
		{"symlink", 0o777, "lrwxrwxrwx"},
		{"file", 0o4755, "-rwsr-xr-x"},
		{"file", 0o2644, "-rw-r-Sr--"},
		{"dir", 0o1777, "drwxrwxrwt"},
		{"dir", 0o1770, "drwxrwx--T"},
		{"file", 0, "----------"},
	} {
		if got := AdminModeString(c.typ, c.mode); got != c.want {
			t.Errorf("AdminModeString(%s, %o) = %s, want %s", c.typ, c.mode, got, c.want)
		}
	}
}

// TestAdminLs: name order, recursion in pre-order, files and empty
// directories, paging, and the entry fields ls prints.
func TestAdminLs(t *testing.T) {
	e := newAdminEnv(t, "")
	e.put("/b/x", "MUST_CACHE", []byte("hello"))
	e.put("/b/sub/y", "CACHE_THROUGH", []byte("world!"))
	e.put("/a", "CACHE_THROUGH", nil)
	e.ok("POST", "mkdir", q("path", "/b/empty"), nil, nil)

	if got := paths(e.ls("/")); strings.Join(got, " ") != "/a /b" {
		t.Fatalf("ls / = %v", got)
	}
	got := paths(e.ls("/", "recursive", "true"))
	if want := "/a /b /b/empty /b/sub /b/sub/y /b/x"; strings.Join(got, " ") != want {
		t.Fatalf("ls -R / = %v, want %s", got, want)
	}
	ents := e.ls("/b/x")
	if len(ents) != 1 {
		t.Fatalf("ls of a file: %v", ents)
	}
	x := ents[0]
	if x.Type != "file" || x.Size != 5 || x.State != "NOT_PERSISTED" || x.ModeString != "-rw-r--r--" ||
		x.CachedPercent != 100 || x.CachedBytes != 5 || x.WriteType != "MUST_CACHE" || x.Owner == "" || x.MtimeNs == 0 {
		t.Fatalf("ls /b/x = %+v", x)
	}
	y := e.ls("/b/sub")[0]
	if y.State != "PERSISTED" {
		t.Fatalf("CACHE_THROUGH file: %+v", y)
	}
	if a := e.ls("/a")[0]; a.CachedPercent != 100 || a.Size != 0 {
		t.Fatalf("an empty file is 100%% cached, as in Alluxio: %+v", a)
	}
	if d := e.ls("/b", "directory", "true"); len(d) != 1 || d[0].Type != "dir" || d[0].ModeString != "drwxr-xr-x" {
		t.Fatalf("ls -d /b = %+v", d)
	}
	if got := e.ls("/b/empty"); len(got) != 0 {
		t.Fatalf("empty directory: %v", got)
	}
	// Paging through one directory.
	if got := paths(e.ls("/b", "limit", "2")); strings.Join(got, " ") != "/b/empty /b/sub" {
		t.Fatalf("limit 2: %v", got)
	}
	if got := paths(e.ls("/b", "after", "empty", "limit", "5")); strings.Join(got, " ") != "/b/sub /b/x" {
		t.Fatalf("after empty: %v", got)
	}
	e.fails(400, "EINVAL", "GET", "ls", q("path", "/b", "after", "x", "recursive", "true"), nil)
	e.fails(404, "ENOENT", "GET", "ls", q("path", "/nope"), nil)
	e.fails(400, "EINVAL", "GET", "ls", q("path", "relative"), nil)
	e.fails(400, "EINVAL", "GET", "ls", q("path", "/", "recursive", "yes"), nil)
	e.fails(400, "EINVAL", "GET", "ls", q("path", "/", "bogus", "1"), nil)
	e.fails(400, "EINVAL", "GET", "ls", nil, nil)
}

// TestAdminLsStreamsLargeDirectory lists more entries than any buffer
// holds and checks they all arrive in order.
func TestAdminLsStreamsLargeDirectory(t *testing.T) {
	e := newAdminEnv(t, "")
	ctx := context.Background()
	d, err := e.st.MkdirAll(ctx, "/big", store.Cred{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000
	for i := range n {
		if _, err := e.st.Mkdir(ctx, d.Ino, fmt.Sprintf("d%05d", i), 0o755, store.Cred{}); err != nil {
			t.Fatal(err)
		}
	}
	got := e.ls("/big")
	if len(got) != n || got[0].Path != "/big/d00000" || got[n-1].Path != fmt.Sprintf("/big/d%05d", n-1) {
		t.Fatalf("got %d entries", len(got))
	}
}

// TestAdminSyncSeesUFSChanges: with the interval at "never", only sync (or
// ls --sync) shows objects added, changed and removed behind Hoard's back.
func TestAdminSyncSeesUFSChanges(t *testing.T) {
	e := newAdminEnv(t, "")
	e.put("/d/keep", "CACHE_THROUGH", []byte("v1"))
	if len(e.ls("/d")) != 1 {
		t.Fatal("setup")
	}
	ufsDir := filepath.Join(e.dir, "ufs", "d")
	if err := os.WriteFile(filepath.Join(ufsDir, "new"), []byte("from outside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := paths(e.ls("/d")); len(got) != 1 {
		t.Fatalf("without sync the listing is the last one: %v", got)
	}
	if got := paths(e.ls("/d", "sync", "true")); strings.Join(got, " ") != "/d/keep /d/new" {
		t.Fatalf("ls --sync: %v", got)
	}
	time.Sleep(10 * time.Millisecond) // a new mtime for the changed object
	if err := os.WriteFile(filepath.Join(ufsDir, "keep"), []byte("version two"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(ufsDir, "new")); err != nil {
		t.Fatal(err)
	}
	var res AdminResult
	e.ok("POST", "sync", q("path", "/d"), nil, &res)
	if res.Directories != 2 {
		t.Fatalf("sync /d: %+v", res)
	}
	got := e.ls("/d")
	if len(got) != 1 || got[0].Size != int64(len("version two")) {
		t.Fatalf("after sync: %+v", got)
	}
	_, b := e.call("GET", "cat", q("path", "/d/keep"), nil)
	if string(b) != "version two" {
		t.Fatalf("cat after sync: %q", b)
	}
	// A file that appears in a directory only the UFS knows, found by ls
	// --sync of the file itself.
	if err := os.MkdirAll(filepath.Join(ufsDir, "deep"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ufsDir, "deep", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ok("POST", "sync", q("path", "/d", "recursive", "true"), nil, nil)
	if got := paths(e.ls("/d", "recursive", "true")); strings.Join(got, " ") != "/d/deep /d/deep/f /d/keep" {
		t.Fatalf("after sync -R: %v", got)
	}
	if err := os.WriteFile(filepath.Join(ufsDir, "deep", "g"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := paths(e.ls("/d", "recursive", "true", "sync", "true")); strings.Join(got, " ") != "/d/deep /d/deep/f /d/deep/g /d/keep" {
		t.Fatalf("ls -R --sync: %v", got)
	}
	e.fails(404, "ENOENT", "POST", "sync", q("path", "/nope/x"), nil)
}

// TestAdminWriteReadTypes writes through both paths with every write type
// and checks the persistence state each promises.
func TestAdminWriteReadTypes(t *testing.T) {
	e := newAdminEnv(t, "")
	data := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320000 bytes: several blocks
	sum := md5.Sum(data)
	for _, via := range []string{"object", "handle"} {
		for _, wt := range []string{"MUST_CACHE", "CACHE_THROUGH", "THROUGH", "ASYNC_THROUGH"} {
			p := "/t/" + via + "_" + wt
			ent := e.put(p, wt, data, "via", via, "chunk", "4099")
			if ent.Size != int64(len(data)) || ent.WriteType != wt || ent.UFS == nil {
				t.Fatalf("%s: %+v", p, ent)
			}
			var st AdminEntry
			switch wt {
			case "MUST_CACHE":
				e.ok("GET", "persistence", q("path", p), nil, &st)
				if st.State != "NOT_PERSISTED" || st.UFS.InUFS {
					t.Fatalf("%s: %+v", p, st)
				}
			case "CACHE_THROUGH", "THROUGH":
				if ent.State != "PERSISTED" || !ent.UFS.InUFS || ent.UFS.Size != int64(len(data)) {
					t.Fatalf("%s right after the write: %+v %+v", p, ent, ent.UFS)
				}
			default:
				e.ok("GET", "persistence", q("path", p, "wait", "PERSISTED", "timeout", "20s"), nil, &st)
				if !st.UFS.InUFS || st.UFS.URI != "file://"+filepath.Join(e.dir, "ufs")+p {
					t.Fatalf("%s: %+v", p, st.UFS)
				}
			}
			for _, rt := range []string{"CACHE_PROMOTE", "CACHE", "NO_CACHE"} {
				code, b := e.call("GET", "cat", q("path", p, "readtype", rt), nil)
				if code != 200 || !bytes.Equal(b, data) {
					t.Fatalf("cat %s with %s: %d, %d bytes", p, rt, code, len(b))
				}
			}
			var ck AdminChecksum
			e.ok("GET", "checksum", q("path", p), nil, &ck)
			if ck.MD5 != hex.EncodeToString(sum[:]) {
				t.Fatalf("checksum %s = %s", p, ck.MD5)
			}
		}
	}
	// The object in the UFS is the file.
	b, err := os.ReadFile(filepath.Join(e.dir, "ufs", "t", "handle_ASYNC_THROUGH"))
	if err != nil || !bytes.Equal(b, data) {
		t.Fatalf("UFS object: %v, %d bytes", err, len(b))
	}
	if _, err := os.Stat(filepath.Join(e.dir, "ufs", "t", "object_MUST_CACHE")); !os.IsNotExist(err) {
		t.Fatalf("a MUST_CACHE file reached the UFS: %v", err)
	}
	e.fails(400, "EINVAL", "PUT", "write", q("path", "/t/x", "writetype", "FAST"), strings.NewReader("x"))
	e.fails(400, "EINVAL", "GET", "cat", q("path", "/t/object_THROUGH", "readtype", "SLOW"), nil)
	e.fails(400, "EINVAL", "PUT", "write", q("path", "/t/x", "via", "pigeon"), strings.NewReader("x"))
	e.fails(400, "EISDIR", "GET", "cat", q("path", "/t"), nil)
	e.fails(400, "EINVAL", "GET", "persistence", q("path", "/t/object_THROUGH", "wait", "DONE"), nil)
	msg := e.fails(504, "ETIMEDOUT", "GET", "persistence", q("path", "/t/object_MUST_CACHE", "wait", "PERSISTED", "timeout", "100ms"), nil)
	if !strings.Contains(msg, "still NOT_PERSISTED") {
		t.Fatalf("timeout message: %s", msg)
	}
	var st AdminEntry
	e.ok("GET", "stat", q("path", "/t/object_THROUGH"), nil, &st)
	if st.UFS == nil || st.UFS.Mount != "/" || st.ETag != hex.EncodeToString(sum[:]) {
		t.Fatalf("stat: %+v", st)
	}
}

// TestAdminNamespaceOps: mkdir, rm, mv with their errors; nothing changes
// on a refused request.
func TestAdminNamespaceOps(t *testing.T) {
	e := newAdminEnv(t, "")
	e.fails(404, "ENOENT", "POST", "mkdir", q("path", "/a/b"), nil)
	e.ok("POST", "mkdir", q("path", "/a/b", "parents", "true"), nil, nil)
	e.ok("POST", "mkdir", q("path", "/a/b", "parents", "true"), nil, nil) // mkdir -p: fine
	msg := e.fails(409, "EEXIST", "POST", "mkdir", q("path", "/a/b"), nil)
	if !strings.Contains(msg, "/a/b") {
		t.Fatalf("the error names inodes, not the path: %s", msg)
	}
	e.put("/a/b/f", "MUST_CACHE", []byte("f"))
	e.fails(400, "ENOTDIR", "POST", "mkdir", q("path", "/a/b/f/g", "parents", "true"), nil)

	e.fails(400, "EISDIR", "POST", "rm", q("path", "/a"), nil)
	e.fails(400, "EINVAL", "POST", "rm", q("path", "/", "recursive", "true"), nil)
	e.fails(404, "ENOENT", "POST", "rm", q("path", "/nope"), nil)

	// mv into a directory, onto a new name, and not over a file.
	e.ok("POST", "mkdir", q("path", "/c"), nil, nil)
	var res AdminResult
	e.ok("POST", "mv", q("src", "/a/b/f", "dst", "/c"), nil, &res)
	if res.Dst != "/c/f" {
		t.Fatalf("mv into a directory: %+v", res)
	}
	e.ok("POST", "mv", q("src", "/c/f", "dst", "/c/g"), nil, nil)
	e.put("/c/h", "MUST_CACHE", []byte("h"))
	e.fails(409, "EEXIST", "POST", "mv", q("src", "/c/g", "dst", "/c/h"), nil)
	e.fails(404, "ENOENT", "POST", "mv", q("src", "/c/nope", "dst", "/c/i"), nil)
	e.fails(404, "ENOENT", "POST", "mv", q("src", "/c/g", "dst", "/c/nope/i"), nil)
	e.ok("POST", "mkdir", q("path", "/c/sub"), nil, nil)
	e.fails(400, "EINVAL", "POST", "mv", q("src", "/c", "dst", "/c/sub"), nil) // into itself
	e.ok("POST", "rm", q("path", "/c/sub", "recursive", "true"), nil, nil)
	if got := paths(e.ls("/c")); strings.Join(got, " ") != "/c/g /c/h" {
		t.Fatalf("after refused mvs: %v", got)
	}

	// rm -R of a tree bigger than one page of names.
	for i := range 300 {
		e.put(fmt.Sprintf("/a/b/many/%03d", i), "CACHE_THROUGH", []byte{byte(i)})
	}
	e.ok("POST", "rm", q("path", "/a", "recursive", "true"), nil, nil)
	e.fails(404, "ENOENT", "GET", "stat", q("path", "/a"), nil)
	if err := e.st.WaitPersisted(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "ufs", "a", "b", "many", "000")); !os.IsNotExist(err) {
		t.Fatalf("rm -R left the UFS object: %v", err)
	}
	e.ok("POST", "rm", q("path", "/c/g"), nil, nil)
	if got := paths(e.ls("/c")); strings.Join(got, " ") != "/c/h" {
		t.Fatalf("after rm: %v", got)
	}
}

// TestAdminMounts: mount with options (secrets never echoed), the mount
// table, writes landing in the mounted UFS, refusals, unmount.
func TestAdminMounts(t *testing.T) {
	e := newAdminEnv(t, "")
	other := filepath.Join(e.dir, "other")
	const secret = "s3cr3t-value-never-shown"
	body := func(v any) io.Reader {
		b, _ := json.Marshal(v)
		return bytes.NewReader(b)
	}
	req := AdminMountRequest{Path: "/mnt/other", URI: "file://" + other,
		Options: map[string]string{"fs.oss.accessKeySecret": secret, "fs.oss.accessKeyId": "id"}, WriteType: "CACHE_THROUGH", ReadType: "no_cache"}
	e.ok("POST", "mkdir", q("path", "/mnt"), nil, nil) // a mount point's parent must exist
	code, b := e.call("POST", "mount", nil, body(req))
	if code != 201 || strings.Contains(string(b), secret) {
		t.Fatalf("mount: %d %s", code, b)
	}
	var table []AdminMount
	code, b = e.call("GET", "mounts", nil, nil)
	if code != 200 || strings.Contains(string(b), secret) {
		t.Fatalf("mounts: %d %s", code, b)
	}
	json.Unmarshal(b, &table)
	if len(table) != 2 || table[1].Path != "/mnt/other" || table[1].Options["fs.oss.accessKeySecret"] != "******" ||
		table[1].Options["fs.oss.accessKeyId"] != "id" || table[1].WriteType != "CACHE_THROUGH" ||
		table[1].ReadType != "NO_CACHE" || table[0].ReadType != "CACHE_PROMOTE" {
		t.Fatalf("mount table: %+v", table)
	}
	_, b = e.call("GET", "report", nil, nil)
	if strings.Contains(string(b), secret) {
		t.Fatalf("report shows the secret: %s", b)
	}

	// A file under the mount lands in its UFS, with the mount's write type.
	ent := e.put("/mnt/other/dir/f", "", []byte("in other"))
	if ent.State != "PERSISTED" || ent.UFS.Mount != "/mnt/other" || ent.UFS.URI != "file://"+other+"/dir/f" {
		t.Fatalf("write under the mount: %+v %+v", ent, ent.UFS)
	}
	if b, err := os.ReadFile(filepath.Join(other, "dir", "f")); err != nil || string(b) != "in other" {
		t.Fatalf("in the mounted UFS: %q %v", b, err)
	}
	if ls := e.ls("/mnt"); len(ls) != 1 || !ls[0].MountPoint {
		t.Fatalf("the mount point: %+v", ls)
	}

	// Refusals, each changing nothing.
	e.put("/full/f", "MUST_CACHE", []byte("x"))
	e.fails(409, "ENOTEMPTY", "POST", "mount", nil, body(AdminMountRequest{Path: "/full", URI: "file://" + other + "2"}))
	e.fails(400, "EINVAL", "POST", "mount", nil, body(AdminMountRequest{Path: "/mnt/other/in", URI: "file://" + other + "3"}))
	e.fails(400, "EINVAL", "POST", "mount", nil, body(AdminMountRequest{Path: "/x", URI: "ftp://host/dir"}))
	e.fails(400, "EINVAL", "POST", "mount", nil, body(AdminMountRequest{Path: "/x", URI: "oss://bucket/dir"}))
	e.fails(400, "EINVAL", "POST", "mount", nil, body(AdminMountRequest{Path: "/x", URI: "file://" + other, Options: map[string]string{"bogus": "1"}}))
	e.fails(400, "EINVAL", "POST", "mount", nil, body(AdminMountRequest{Path: "/x", URI: "file://" + other + "4", WriteType: "FAST"}))
	e.fails(400, "EINVAL", "POST", "mount", nil, body(AdminMountRequest{Path: "/x", URI: "file://" + other + "4", ReadType: "SOMETIMES"}))
	if msg := e.fails(400, "EINVAL", "POST", "mount", nil, body(AdminMountRequest{Path: "/x", URI: "file://" + other + "/dir"})); !strings.Contains(msg, "overlaps") {
		t.Fatalf("a mount inside another mount's UFS: %s", msg)
	}
	e.fails(400, "EINVAL", "POST", "mount", nil, body(AdminMountRequest{Path: "/x"}))
	e.fails(400, "EINVAL", "POST", "mount", nil, strings.NewReader(`{"path": "/x", "uri": "file:///tmp", "secret": 1}`))
	e.fails(400, "EINVAL", "POST", "mount", q("path", "/x"), body(AdminMountRequest{Path: "/x", URI: "file://" + other}))
	e.fails(404, "ENOENT", "GET", "stat", q("path", "/x"), nil)
	msg := e.fails(409, "EBUSY", "POST", "rm", q("path", "/mnt", "recursive", "true"), nil)
	if !strings.Contains(msg, "unmount it first") {
		t.Fatalf("rm over a mount: %s", msg)
	}
	e.fails(400, "EINVAL", "POST", "unmount", q("path", "/full"), nil)
	e.fails(404, "ENOENT", "POST", "unmount", q("path", "/nope"), nil)

	e.ok("POST", "unmount", q("path", "/mnt/other"), nil, nil)
	e.fails(404, "ENOENT", "GET", "stat", q("path", "/mnt/other/dir/f"), nil)
	if _, err := os.Stat(filepath.Join(other, "dir", "f")); err != nil {
		t.Fatalf("unmount deleted UFS data: %v", err)
	}
}

// TestAdminManage: load and persist stream progress to a finished line;
// free, pin, du and report agree with each other.
func TestAdminManage(t *testing.T) {
	e := newAdminEnv(t, "")
	data := bytes.Repeat([]byte{7}, 1<<20)
	e.put("/m/a", "CACHE_THROUGH", data)
	e.put("/m/b", "MUST_CACHE", data[:1000])

	e.fails(409, "EBUSY", "POST", "free", q("path", "/m"), nil) // /m/b is not persisted
	e.ok("POST", "free", q("path", "/m/a"), nil, nil)
	if a := e.ls("/m/a")[0]; a.CachedBytes != 0 || a.CachedPercent != 0 {
		t.Fatalf("after free: %+v", a)
	}
	raw, code := e.lines("POST", "load", q("path", "/m"))
	var last AdminProgress
	if code != 200 || len(raw) == 0 || json.Unmarshal(raw[len(raw)-1], &last) != nil || !last.Finished || last.Done != last.Total || last.Total != 1<<20 {
		t.Fatalf("load: %d %s", code, raw)
	}
	if a := e.ls("/m/a")[0]; a.CachedPercent != 100 {
		t.Fatalf("after load: %+v", a)
	}
	raw, code = e.lines("POST", "persist", q("path", "/m"))
	if code != 200 || json.Unmarshal(raw[len(raw)-1], &last) != nil || !last.Finished || last.Total != 1000 {
		t.Fatalf("persist: %d %s", code, raw)
	}
	if b := e.ls("/m/b")[0]; b.State != "PERSISTED" {
		t.Fatalf("after persist: %+v", b)
	}

	e.ok("POST", "pin", q("path", "/m"), nil, nil)
	var u AdminUsage
	e.ok("GET", "du", q("path", "/m"), nil, &u)
	if u.Files != 2 || u.Bytes != 1<<20+1000 || u.Cached != u.Bytes || u.Pinned != u.Bytes {
		t.Fatalf("du: %+v", u)
	}
	e.fails(409, "EBUSY", "POST", "free", q("path", "/m/a"), nil)
	e.ok("POST", "unpin", q("path", "/m"), nil, nil)
	e.ok("POST", "free", q("path", "/m"), nil, nil)
	var rep AdminReport
	e.ok("GET", "report", nil, nil, &rep)
	if rep.Cache.Capacity != 1<<30 || rep.Cache.Used != 0 || rep.Queue.Depth != 0 || len(rep.Mounts) != 1 {
		t.Fatalf("report: %+v", rep)
	}
	for _, op := range []string{"load", "persist"} {
		e.fails(404, "ENOENT", "POST", op, q("path", "/nope"), nil)
	}
	for _, op := range []string{"free", "pin", "unpin"} {
		e.fails(404, "ENOENT", "POST", op, q("path", "/nope"), nil)
	}
	e.fails(404, "ENOENT", "GET", "du", q("path", "/nope"), nil)
	e.fails(404, "ENOENT", "GET", "checksum", q("path", "/nope"), nil)
	e.fails(400, "EINVAL", "GET", "report", q("x", "1"), nil)
}

// TestAdminRouting: wrong methods, unknown operations and the token.
func TestAdminRouting(t *testing.T) {
	e := newAdminEnv(t, "")
	e.fails(405, "EINVAL", "GET", "rm", q("path", "/x"), nil)
	e.fails(404, "ENOSYS", "GET", "nope", nil, nil)

	e = newAdminEnv(t, "tok")
	e.ok("GET", "report", nil, nil, nil)
	e.token = "wrong"
	if code, _ := e.call("GET", "report", nil, nil); code != 401 {
		t.Fatalf("wrong token: %d", code)
	}
	e.token = ""
	if code, _ := e.call("POST", "mkdir", q("path", "/x"), nil); code != 401 {
		t.Fatalf("no token: %d", code)
	}
	resp, err := http.Get(e.url + "/api/v1/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health without token: %v %v", resp, err)
	}
	resp.Body.Close()
	e.token = "tok"
	e.fails(404, "ENOENT", "GET", "stat", q("path", "/x"), nil)
}
