package main

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// TestIsTerminal: progress bars draw only on a terminal, never into
// /dev/null (a character device too), a file or a buffer.
func TestIsTerminal(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, w := range map[string]io.Writer{"/dev/null": null, "a file": f, "a buffer": &bytes.Buffer{}} {
		if isTerminal(w) {
			t.Errorf("%s taken for a terminal", name)
		}
	}
}
