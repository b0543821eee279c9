package integration

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHungCommandFailsAtDeadline: the harness kills a command that hangs
// and says so. The "daemon" here accepts connections and never answers,
// so `hoard fs ls` waits for its first answer (the admin client allows a
// long time for that); with a deadline of 2s the harness must come back
// within a few seconds with an error naming the command and the hang, not
// at go test's global timeout.
func TestHungCommandFailsAtDeadline(t *testing.T) {
	fastExit(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var (
		mu    sync.Mutex
		conns []net.Conn
	)
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, never answered
			mu.Unlock()
		}
	}()
	dir := t.TempDir()
	conf := filepath.Join(dir, "hoard-site.properties")
	props := "hoard.home=" + filepath.Join(dir, "data") + "\nhoard.web.address=" + ln.Addr().String() + "\n"
	if err := os.WriteFile(conf, []byte(props), 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	out, err := runHoard(dir, 2*time.Second, "fs", "--conf", conf, "ls", "/")
	took := time.Since(start)
	hung, ok := err.(*errHung)
	if !ok {
		t.Fatalf("fs ls against a silent daemon: %v, want a hang killed at the deadline\n%s", err, out)
	}
	if took > 15*time.Second {
		t.Fatalf("the hung command came back after %v, deadline 2s", took)
	}
	if msg := hung.Error(); !strings.Contains(msg, "hoard fs --conf "+conf+" ls / hung") || !strings.Contains(msg, "2s") {
		t.Fatalf("the message does not name the command and the deadline: %q", msg)
	}
	if _, ok := any(hung).(interface{ ExitCode() int }); ok {
		t.Fatal("a hang could pass for an expected refusal (it has an exit code)")
	}
	t.Logf("killed after %v: %v", took.Round(time.Millisecond), hung)
}
