package store

import (
	"fmt"
	"os"
	"testing"
)

func TestZZProbeRenameDirty(t *testing.T) {
	e := newEnv(t)
	for i := range 3000 {
		a, b := fmt.Sprintf("e%d", i), fmt.Sprintf("f%d", i)
		n, h, err := e.s.Create(bg, RootIno, a, 0o644, Cred{}, os.O_RDWR|os.O_EXCL)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := h.Write(bg, randBytes(1, 2872), 46280); err != nil {
			t.Fatal(err)
		}
		if _, err := h.Write(bg, randBytes(1, 16241), 49152); err != nil {
			t.Fatal(err)
		}
		if err := e.s.Rename(bg, RootIno, a, RootIno, b, 0); err != nil {
			t.Fatal(err)
		}
		at, _ := e.s.GetAttr(bg, n.Ino)
		if at.Size != 49152+16241 {
			t.Fatalf("iteration %d: size %d", i, at.Size)
		}
		h.Release(bg)
	}
}
