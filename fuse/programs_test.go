package fuse

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// makeTree writes a small tree of files, directories, symlinks and hard
// links with assorted modes and times at dir.
func makeTree(t *testing.T, dir string) {
	t.Helper()
	for i := range 40 {
		d := filepath.Join(dir, fmt.Sprintf("d%d", i%5), fmt.Sprintf("e%d", i%3))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(d, fmt.Sprintf("f%d", i))
		mustWrite(t, p, randBytes(uint64(i), i*i*97+i))
		os.Chmod(p, os.FileMode(0o600+i%3*0o44))
	}
	mustWrite(t, filepath.Join(dir, "big"), randBytes(99, 5<<20+3))
	mustWrite(t, filepath.Join(dir, "empty"), nil)
	os.Symlink("d0/e0/f0", filepath.Join(dir, "link"))
	os.Symlink("/nonexistent", filepath.Join(dir, "dangling"))
	os.Link(filepath.Join(dir, "big"), filepath.Join(dir, "hard"))
	syscall.Chmod(filepath.Join(dir, "empty"), 0o4755)
	os.Mkdir(filepath.Join(dir, "emptydir"), 0o700)
}

// treeDigest describes a tree: every path with its type, mode, size,
// mtime, link target and content hash.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %o", rel, st.Mode)
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFREG:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %d %x mtime=%d nlink=%d", st.Size, sha256.Sum256(data), st.Mtim.Sec, st.Nlink)
		case syscall.S_IFLNK:
			target, _ := os.Readlink(p)
			fmt.Fprintf(&b, " -> %s", target)
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func need(t *testing.T, prog string) {
	t.Helper()
	if _, err := exec.LookPath(prog); err != nil {
		t.Fatalf("%s is not installed: .ci/run installs it (apt-get install %s)", prog, prog)
	}
}

// TestPrograms runs ordinary programs on the mount.
func TestPrograms(t *testing.T) {
	e := newEnv(t)
	src := filepath.Join(e.dir, "src")
	makeTree(t, src)
	want := treeDigest(t, src)

	t.Run("Tar", func(t *testing.T) {
		need(t, "tar")
		sh(t, e.dir, "tar -C src -cf src.tar .")
		os.Mkdir(e.p("tar"), 0o755)
		sh(t, e.mnt, "tar -xpf ../src.tar -C tar")
		if got := treeDigest(t, e.p("tar")); got != want {
			t.Fatalf("tar -x into the mount differs:\n%s", diffLines(got, want))
		}
		// tar -c back out of the mount, extract on local disk, compare.
		sh(t, e.mnt, "tar -C tar -cf ../back.tar .")
		os.Mkdir(filepath.Join(e.dir, "back"), 0o755)
		sh(t, e.dir, "tar -xpf back.tar -C back")
		if got := treeDigest(t, filepath.Join(e.dir, "back")); got != want {
			t.Fatalf("tar -c out of the mount differs:\n%s", diffLines(got, want))
		}
	})

	t.Run("CpA", func(t *testing.T) {
		sh(t, e.dir, "cp -a src "+shellQuote(e.p("cp")))
		if got := treeDigest(t, e.p("cp")); got != want {
			t.Fatalf("cp -a into the mount differs:\n%s", diffLines(got, want))
		}
		sh(t, e.dir, "cp -a "+shellQuote(e.p("cp"))+" cpback")
		if got := treeDigest(t, filepath.Join(e.dir, "cpback")); got != want {
			t.Fatalf("cp -a out of the mount differs:\n%s", diffLines(got, want))
		}
	})

	t.Run("Rsync", func(t *testing.T) {
		need(t, "rsync")
		sh(t, e.dir, "rsync -aH src/ "+shellQuote(e.p("rsync")+"/"))
		if got := treeDigest(t, e.p("rsync")); got != want {
			t.Fatalf("rsync -aH into the mount differs:\n%s", diffLines(got, want))
		}
		// A second run finds nothing to do; then a changed file is sent.
		out := sh(t, e.dir, "rsync -aHi src/ "+shellQuote(e.p("rsync")+"/"))
		if strings.TrimSpace(out) != "" {
			t.Errorf("second rsync transferred:\n%s", out)
		}
		sh(t, e.dir, "rsync -aH "+shellQuote(e.p("rsync")+"/")+" rsyncback/")
		if got := treeDigest(t, filepath.Join(e.dir, "rsyncback")); got != want {
			t.Fatalf("rsync -aH out of the mount differs:\n%s", diffLines(got, want))
		}
	})

	t.Run("Git", func(t *testing.T) {
		need(t, "git")
		g := e.p("repo")
		os.Mkdir(g, 0o755)
		sh(t, g, `git init -q -b main . &&
			git config user.email t@example.com && git config user.name t &&
			for i in 1 2 3 4 5; do echo "line $i" >> file.txt; mkdir -p dir$i; echo $i > dir$i/x; git add -A; git commit -q -m "commit $i"; done &&
			git mv file.txt moved.txt && git commit -q -m move &&
			git gc -q && git fsck --strict`)
		log := sh(t, g, "git log --format=%s")
		if want := "move\ncommit 5\ncommit 4\ncommit 3\ncommit 2\ncommit 1\n"; log != want {
			t.Errorf("git log:\n%s", log)
		}
		if st := sh(t, g, "git status --porcelain"); st != "" {
			t.Errorf("git status not clean:\n%s", st)
		}
		clone := sh(t, e.mnt, "git clone -q repo clone && cat clone/moved.txt")
		if !strings.Contains(clone, "line 5") {
			t.Errorf("clone: %s", clone)
		}
	})

	t.Run("Sqlite", func(t *testing.T) {
		need(t, "sqlite3")
		os.Mkdir(e.p("db"), 0o755)
		sh(t, e.p("db"), `sqlite3 test.db "create table t(k integer primary key, v text);
			with recursive c(x) as (select 1 union all select x+1 from c where x < 5000) insert into t select x, hex(randomblob(50)) from c;
			create index tv on t(v);"`)
		sh(t, e.p("db"), `sqlite3 test.db "pragma journal_mode=wal; update t set v = 'x' where k % 7 = 0; delete from t where k > 4000;"`)
		out := sh(t, e.p("db"), `sqlite3 test.db "pragma integrity_check; select count(*), sum(v = 'x') from t;"`)
		if out != "ok\n4000|571\n" {
			t.Errorf("sqlite3: %q", out)
		}
	})
}

func diffLines(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b bytes.Buffer
	ws := map[string]bool{}
	for _, l := range w {
		ws[l] = true
	}
	gs := map[string]bool{}
	for _, l := range g {
		gs[l] = true
		if !ws[l] {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	for _, l := range w {
		if !gs[l] {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	return b.String()
}
