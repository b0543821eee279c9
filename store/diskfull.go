package store

import (
	"errors"
	"fmt"
	"syscall"
)

// writeCache runs write, a write into a cache file. When the disk under
// the cache fills before the quota does (other files share the disk, or the
// quota is set larger than it), it evicts clean blocks to make room for
// need bytes and tries again, until nothing clean is left: then the write
// fails with ErrNoSpace, and what is committed stays as it was. write must
// be safe to repeat: a WriteAt, not a Write at the file's offset.
func (s *Store) writeCache(need int64, write func() error) error {
	for {
		err := write()
		if err == nil || !errors.Is(err, syscall.ENOSPC) {
			return err
		}
		freed := s.cache.Free(max(need, s.cache.BlockSize()))
		if freed == 0 {
			return fmt.Errorf("cache disk full and no clean block left to evict: %w", ErrNoSpace)
		}
		s.log.Warn("cache disk full before the quota: evicted clean blocks", "bytes", freed)
	}
}
