// Command benchprogress is the progress report of make bench (scripts/bench).
// It reads the output of `go test -v -bench` on its standard input and
// copies it to the file -o names, less the lines -v adds to name each
// benchmark as it starts, which are what it reports from: without -v, go
// test prints a benchmark's name only once it has run.
//
// When its standard output is a terminal it prints there a line as each
// benchmark starts and as each package with benchmarks is done: the time
// elapsed, the packages and benchmarks done out of those expected (counted
// in the packages' test files), and an ETA from those counts. Elsewhere it
// prints nothing.
//
//	go test -v -run '^$' -bench . -benchtime 1x ./... 2>&1 | benchprogress -o bench.out ./...
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	out := flag.String("o", "", "the file to copy the output to")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: go test -v -bench ... PACKAGES 2>&1 | benchprogress -o FILE PACKAGES")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(os.Stdin, *out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "benchprogress:", err)
		os.Exit(1)
	}
}

func run(in io.Reader, out string, patterns []string) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	p := &progress{w: io.Discard, start: time.Now()}
	if isTerminal(os.Stdout) {
		p.w = os.Stdout
		if err := p.expect(patterns); err != nil {
			// Progress without totals is still progress.
			fmt.Fprintf(os.Stderr, "benchprogress: no ETA: %v\n", err)
		}
	}
	p.report("starting (go test builds the packages first)")
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 16<<20) // b.Log lines can be long
	for sc.Scan() {
		if p.line(sc.Text()) {
			continue
		}
		// Line by line, so that bench.out can be followed as it grows.
		if _, err := fmt.Fprintln(f, sc.Text()); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", out, err)
		}
	}
	p.finish()
	if err := sc.Err(); err != nil {
		f.Close()
		return fmt.Errorf("read go test's output: %w", err)
	}
	return f.Close()
}

// isTerminal reports whether f is a terminal (a character device such as
// /dev/null is not).
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

var (
	// nameLine is what -v prints as a benchmark starts: its name alone.
	nameLine = regexp.MustCompile(`^Benchmark\S*$`)
	// pkgEnd is go test's last line for a package: ok, FAIL or "?" (no
	// test files), then the import path.
	pkgEnd = regexp.MustCompile(`^(ok|FAIL|\?)\s+(\S+)`)
	// benchFunc is a benchmark in a test file.
	benchFunc = regexp.MustCompile(`(?m)^func Benchmark([A-Z0-9_]\w*)?\(\w+ \*testing\.B\)`)
)

// progress counts what has run and reports it.
type progress struct {
	w     io.Writer
	start time.Time
	// module is trimmed off the import paths shown.
	module string
	// pkgs and benches are what is expected; 0 when unknown.
	pkgs, benches int
	// pkgsDone, started and finished count packages ended and top-level
	// benchmarks started and finished; ran is finished at the previous
	// package's end.
	pkgsDone, started, finished, ran int
	pkg                              string
}

// expect counts the packages and the top-level benchmarks of patterns.
func (p *progress) expect(patterns []string) error {
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	args := append([]string{"list", "-f",
		`{{with .Module}}{{.Path}}{{end}} {{range .TestGoFiles}}{{$.Dir}}/{{.}} {{end}}{{range .XTestGoFiles}}{{$.Dir}}/{{.}} {{end}}`},
		patterns...)
	cmd := exec.Command(goCmd, args...)
	cmd.Stderr = os.Stderr
	list, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("go list: %w", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		p.pkgs++
		p.module = fields[0]
		for _, name := range fields[1:] {
			src, err := os.ReadFile(name)
			if err != nil {
				return err
			}
			p.benches += len(benchFunc.FindAll(src, -1))
		}
	}
	return nil
}

// line takes one line of go test's output and reports whether it is one
// of -v's name lines, which are left out of the copy.
func (p *progress) line(s string) bool {
	switch {
	case strings.HasPrefix(s, "pkg: "):
		p.pkg = strings.TrimPrefix(s, "pkg: ")
	case nameLine.MatchString(s):
		if !strings.Contains(s, "/") { // a sub-benchmark belongs to its parent
			p.finished = p.started
			p.started++
		}
		p.report("running " + p.short(p.pkg) + " " + s)
		return true
	default:
		if m := pkgEnd.FindStringSubmatch(s); m != nil {
			p.pkgsDone++
			p.finished = p.started
			if p.finished > p.ran {
				p.report("done " + p.short(m[2]))
			}
			p.ran = p.finished
		}
	}
	return false
}

func (p *progress) finish() {
	p.report("done")
}

func (p *progress) short(pkg string) string {
	if s, ok := strings.CutPrefix(pkg, p.module+"/"); ok && p.module != "" {
		return s
	}
	return pkg
}

// report prints: elapsed, packages done, benchmarks done, ETA, then what.
func (p *progress) report(what string) {
	elapsed := time.Since(p.start)
	eta := "--"
	if p.finished > 0 && p.benches >= p.finished {
		left := elapsed / time.Duration(p.finished) * time.Duration(p.benches-p.finished)
		eta = left.Round(time.Second).String()
	}
	fmt.Fprintf(p.w, "bench %8s  packages %s  benchmarks %s  ETA %-8s %s\n",
		elapsed.Round(time.Second), count(p.pkgsDone, p.pkgs), count(p.finished, p.benches), eta, what)
}

// count is "done/total", or "done" when the total is unknown.
func count(done, total int) string {
	if total == 0 {
		return fmt.Sprint(done)
	}
	return fmt.Sprintf("%d/%d", done, total)
}
