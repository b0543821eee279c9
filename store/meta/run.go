package meta

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
)

// Run describes one run of the daemon over this store: the kernel's boot
// id when it started, and whether it stopped cleanly. A run that did not
// stop cleanly under another boot id ended with the machine, and with it
// whatever was in the kernel but not yet on the disk.
type Run struct {
	BootID string
	Clean  bool
}

// LastRun returns the record of the previous run; ok is false for a new
// store.
func (d *DB) LastRun() (r Run, ok bool, err error) {
	v, closer, err := d.db.Get(sysRun)
	if errors.Is(err, pebble.ErrNotFound) {
		return Run{}, false, nil
	}
	if err != nil {
		return Run{}, false, fmt.Errorf("metadata: read last run: %w", err)
	}
	defer closer.Close()
	dc := dec{b: v}
	r = Run{BootID: dc.s(), Clean: dc.bool()}
	if dc.err != nil {
		return Run{}, false, fmt.Errorf("metadata: last run: %w", dc.err)
	}
	return r, true, nil
}

// SetRun records the current run, on the disk.
func (d *DB) SetRun(r Run) error {
	e := enc{}
	e.s(r.BootID)
	e.bool(r.Clean)
	if err := d.db.Set(sysRun, e.b, pebble.Sync); err != nil {
		return fmt.Errorf("metadata: record run: %w", err)
	}
	return d.syncHard()
}
