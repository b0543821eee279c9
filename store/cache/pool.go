package cache

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Pools of unnamed files
//
// Creating a file is the dearest thing a small write does here: ext4 spends
// 150-500 µs of kernel time allocating an inode (measured on this kind of
// VM), against ~10 µs to give an existing inode a name. So each cache dir
// keeps a few unnamed files ready (O_TMPFILE), made in the background, and
// a new cache file is one of them linked into place. They take no directory
// lock while they are made, so the background work does not stall the
// creates it serves; and they vanish with the process, so a crash leaves
// nothing behind. A create beyond what the pool holds makes its own file,
// and the pool grows so as to keep up next time.

const (
	poolInitial = 16  // files kept ready once a dir has made a new file
	poolMax     = 256 // the most kept ready per dir (each is a descriptor)
)

// filePool is one cache dir's pool.
type filePool struct {
	dir string

	mu     sync.Mutex
	ready  []*os.File // unnamed, empty, open read-write
	target int        // how many to keep ready; 0 until the first take
	taken  int        // files handed out (tests)
	broken bool       // O_TMPFILE or linking failed: no pool for this dir
}

// take hands out an unnamed file, if one is ready, and raises the target
// when the pool ran dry.
func (p *filePool) take() (*os.File, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken {
		return nil, false
	}
	switch {
	case p.target == 0:
		p.target = poolInitial
	case len(p.ready) == 0:
		p.target = min(2*p.target, poolMax)
	}
	if len(p.ready) == 0 {
		return nil, false
	}
	f := p.ready[len(p.ready)-1]
	p.ready = p.ready[:len(p.ready)-1]
	p.taken++
	return f, true
}

// short is how many files the pool lacks.
func (p *filePool) short() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.broken {
		return 0
	}
	return p.target - len(p.ready)
}

// make adds one unnamed file to the pool.
func (p *filePool) make() error {
	fd, err := unix.Open(p.dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		p.fail()
		return fmt.Errorf("O_TMPFILE in %s: %w", p.dir, err)
	}
	f := os.NewFile(uintptr(fd), p.dir+"/(unnamed)")
	p.mu.Lock()
	p.ready = append(p.ready, f)
	p.mu.Unlock()
	return nil
}

// fail turns the pool off: the file system cannot do what it needs.
func (p *filePool) fail() {
	p.mu.Lock()
	p.broken = true
	p.mu.Unlock()
}

// close drops the files still ready; unnamed, they go with their inodes.
func (p *filePool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.ready {
		f.Close()
	}
	p.ready = nil
}

// link gives unnamed file f the name path.
func link(f *os.File, path string) error {
	err := unix.Linkat(int(f.Fd()), "", unix.AT_FDCWD, path, unix.AT_EMPTY_PATH)
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOENT) {
		// AT_EMPTY_PATH wants CAP_DAC_READ_SEARCH; /proc does not.
		err = unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(int(f.Fd())), unix.AT_FDCWD, path, unix.AT_SYMLINK_FOLLOW)
	}
	return err
}

// refiller keeps every pool at its target until the cache closes.
func (c *Cache) refiller(log *slog.Logger) {
	defer close(c.refill.done)
	for {
		select {
		case <-c.refill.stop:
			return
		case <-c.refill.wake:
		}
		for _, p := range c.pools {
			for p.short() > 0 {
				select {
				case <-c.refill.stop:
					return
				default:
				}
				if err := p.make(); err != nil {
					log.Info("cache: no pool of unnamed files; new cache files are created one by one", "err", err)
				}
			}
		}
	}
}

// newFile makes the empty cache file path in cache dir i: a pooled file
// linked into place, or a new one when none is ready.
func (c *Cache) newFile(i int, path string) (*os.File, error) {
	p := c.pools[i]
	f, ok := p.take()
	select {
	case c.refill.wake <- struct{}{}:
	default:
	}
	if ok {
		err := link(f, path)
		f.Close()
		if err == nil {
			// Reopened by name, so that the file says where it is.
			return os.OpenFile(path, os.O_RDWR, 0)
		}
		if !errors.Is(err, unix.EEXIST) {
			p.fail()
		}
	}
	return os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
}
