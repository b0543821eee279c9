// Package integration runs the real hoard binary: started as a user would,
// in its own process, reached through its ports, stopped with signals.
package integration

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var hoardBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hoard-integration-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hoardBin = filepath.Join(dir, "hoard")
	build := exec.Command("go", "build", "-race", "-o", hoardBin, "../cmd/hoard")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build hoard:", err)
		os.Exit(1)
	}
	// The -race binary otherwise sleeps a second at every exit.
	os.Setenv("GORACE", "atexit_sleep_ms=0")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freeAddr returns a loopback address with a port nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// hoard is one started daemon.
type hoard struct {
	t    *testing.T
	dir  string // working directory
	conf string // path of its configuration file, "" for none
	web  string
	s3   string
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan error
}

// newHoard prepares a daemon in a fresh directory with free ports; props
// are extra configuration lines.
func newHoard(t *testing.T, props ...string) *hoard {
	t.Helper()
	h := &hoard{t: t, dir: t.TempDir(), web: freeAddr(t), s3: freeAddr(t)}
	lines := append([]string{
		"hoard.home=" + filepath.Join(h.dir, "data"),
		"hoard.web.address=" + h.web,
		"hoard.s3.address=" + h.s3,
		"hoard.fuse.mount.point=" + filepath.Join(h.dir, "mnt"),
	}, props...)
	h.conf = filepath.Join(h.dir, "hoard-site.properties")
	if err := os.WriteFile(h.conf, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *hoard) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.out.Write(p)
}

func (h *hoard) output() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.out.String()
}

// commandTimeout bounds every hoard command a test runs: a command that
// hangs (a read that never returns, a daemon that never answers) fails its
// test with a message that says so, rather than running into go test's
// global timeout with nothing but a goroutine dump.
const commandTimeout = 2 * time.Minute

// testHTTP is the client of the tests' own admin API and S3 calls: bounded
// too (beyond the longest wait a test asks the daemon for), so that a
// request the daemon never answers fails its test.
var testHTTP = &http.Client{Timeout: 3 * time.Minute}

// errHung is the error of a command killed at its deadline. It has no
// ExitCode method, so that no caller takes it for an expected refusal.
type errHung struct {
	args    []string
	timeout time.Duration
}

func (e *errHung) Error() string {
	return fmt.Sprintf("hoard %s hung: still running after %v, killed", strings.Join(e.args, " "), e.timeout)
}

// runHoard runs the hoard binary in dir with a deadline and returns its
// combined output; at the deadline it is killed and the error is *errHung.
func runHoard(dir string, timeout time.Duration, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, hoardBin, args...)
	cmd.Dir = dir
	// A child that keeps the output pipe open (a detached daemon) must not
	// keep the command from returning once it is killed.
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() == context.DeadlineExceeded {
		return string(out), &errHung{args: args, timeout: timeout}
	}
	return string(out), err
}

// command runs a hoard subcommand to completion in the daemon's directory.
// A command still running after commandTimeout is killed and fails the
// test (from any goroutine), whatever the caller expected of it.
func (h *hoard) command(args ...string) (string, error) {
	if h.conf != "" {
		args = append([]string{args[0], "--conf", h.conf}, args[1:]...)
	}
	out, err := runHoard(h.dir, commandTimeout, args...)
	if _, hung := err.(*errHung); hung {
		h.t.Errorf("%v\noutput so far:\n%s\ndaemon output:\n%s", err, out, h.output())
	}
	return out, err
}

// start runs `hoard start` in the foreground and waits for its health check.
func (h *hoard) start() {
	h.t.Helper()
	args := []string{"start"}
	if h.conf != "" {
		args = append(args, "--conf", h.conf)
	}
	h.cmd = exec.Command(hoardBin, args...)
	h.cmd.Dir = h.dir
	h.cmd.Stdout, h.cmd.Stderr = h, h
	if err := h.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	h.done = make(chan error, 1)
	go func() { h.done <- h.cmd.Wait() }()
	h.t.Cleanup(func() {
		if h.cmd != nil && h.cmd.ProcessState == nil {
			h.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-h.done:
			case <-time.After(30 * time.Second):
				h.cmd.Process.Kill()
				<-h.done
			}
		}
		// A killed daemon leaves a dead mount behind; detach it so that
		// the temp dir can go.
		syscall.Unmount(filepath.Join(h.dir, "mnt"), syscall.MNT_DETACH)
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-h.done:
			h.t.Fatalf("hoard exited during start-up: %v\n%s", err, h.output())
		default:
		}
		if h.healthy() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	h.t.Fatalf("hoard not healthy after 30s\n%s", h.output())
}

func (h *hoard) healthy() bool {
	cl := http.Client{Timeout: time.Second}
	resp, err := cl.Get("http://" + h.web + "/api/v1/health")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// stop sends sig and waits for a clean exit.
func (h *hoard) stop(sig syscall.Signal) {
	h.t.Helper()
	if err := h.cmd.Process.Signal(sig); err != nil {
		h.t.Fatal(err)
	}
	select {
	case err := <-h.done:
		if sig != syscall.SIGKILL && err != nil {
			h.t.Fatalf("hoard exited with %v after %v\n%s", err, sig, h.output())
		}
	case <-time.After(60 * time.Second):
		h.t.Fatalf("hoard still running 60s after %v\n%s", sig, h.output())
	}
	h.cmd = nil
}
