package local_test

import (
	"testing"

	"github.com/hoardfs/hoard/ufs"
	"github.com/hoardfs/hoard/ufs/local"
	"github.com/hoardfs/hoard/ufs/ufstest"
)

func TestConformance(t *testing.T) {
	ufstest.Run(t, func(t *testing.T) ufs.UFS {
		u, err := local.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return u
	})
}
