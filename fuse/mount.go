package fuse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"golang.org/x/sys/unix"

	"github.com/hoardfs/hoard/store"
	"github.com/hoardfs/hoard/store/metrics"
)

// Origin tags the store changes made through the mount, so that the change
// feed's echo of them is not turned into invalidations of our own caches.
const Origin = "fuse"

// Options configure a mount. Start from DefaultOptions: the zero value
// turns off passthrough and the kernel caches.
type Options struct {
	// ReadOnly mounts read-only (MS_RDONLY): the kernel refuses writes.
	ReadOnly bool
	// AllowOther lets users other than the daemon's use the mount; the
	// kernel checks permissions (default_permissions) either way.
	AllowOther bool

	// AttrTimeout, EntryTimeout and NegativeTimeout are how long the
	// kernel may trust attributes, name lookups and failed lookups without
	// asking again. The change feed invalidates them as soon as anything
	// changes through another door, so they bound only a lookup that races
	// an invalidation and what the store itself learns late (objects added
	// to the UFS directly). Zero asks the daemon every time, which costs a
	// round trip (about 30 µs) per path component of every system call.
	AttrTimeout, EntryTimeout, NegativeTimeout time.Duration

	// Passthrough hands wholly cached files to the kernel as their local
	// cache file (FUSE passthrough, kernel 6.9+, root), so that their
	// reads and writes never enter the daemon. It is off by itself where
	// the kernel cannot do it.
	Passthrough bool

	// HandleKillpriv asks the kernel for FUSE_HANDLE_KILLPRIV_V2: the daemon
	// clears setuid/setgid bits where a write, truncate or chown must, and
	// in exchange the kernel stops asking GETXATTR security.capability
	// before every write (27k against 372k 4 KiB writes/s here). User
	// xattrs work either way.
	HandleKillpriv bool

	// ReadAheadKB sets the mount's read_ahead_kb: how far the kernel reads
	// ahead of a sequential reader of a file served through the daemon.
	// 0 keeps the kernel's default (128).
	ReadAheadKB int

	// WriteType and ReadType override the store's defaults for everything
	// done through this mount (0: the store's, or the UFS mount's).
	WriteType store.WriteType
	ReadType  store.ReadType

	// Metrics receives the hoard_fuse_* families: every request the daemon
	// answers, its latency and the bytes read and written through it
	// (metered.go). Nil turns metrics off at no cost: the requests then go
	// to the node tree without a wrapper.
	Metrics *metrics.Registry

	// Logger receives the mount's log; nil discards it.
	Logger *slog.Logger
	// Debug logs every FUSE request and reply (very verbose).
	Debug bool
}

// DefaultOptions are the options `hoard start` mounts with.
//
// The timeouts: every change made through another door is invalidated at
// once by the change feed (well under a millisecond here), so a long
// timeout costs no coherence for those; what it bounds is the staleness
// after a lookup races an invalidation, and how late the kernel asks again
// about a name the store has not looked up in the UFS lately. 10 s for
// attributes and entries makes a hot tree cost no round trip while staying
// within one metadata sync interval; 2 s for failed lookups, because a
// name that appears in the UFS behind the store's back is invisible while
// its negative entry lives, and build tools probe many missing names.
func DefaultOptions() Options {
	return Options{
		AttrTimeout:     10 * time.Second,
		EntryTimeout:    10 * time.Second,
		NegativeTimeout: 2 * time.Second,
		Passthrough:     true,
		HandleKillpriv:  true,
		ReadAheadKB:     4096,
	}
}

// Server is a mounted namespace.
type Server struct {
	m          *mountState
	srv        *fuse.Server
	mountpoint string
	sub        *store.Subscription
	notifyDone chan struct{}

	unmountOnce sync.Once
	unmountErr  error
	stopOnce    sync.Once
}

// mountState is what every node and handle of one mount shares.
type mountState struct {
	st   *store.Store
	opts Options
	log  *slog.Logger
	srv  *fuse.Server
	// base carries the values every store call of this mount needs: the
	// origin tag and the write/read type overrides.
	base context.Context

	// passthrough is cleared when the kernel refuses a backing file (not
	// root, no CAP_PASSTHROUGH), so that we stop asking.
	passthrough atomic.Bool

	io ioTable // node_open.go

	stats stats
}

// Stats count what the mount did, for metrics and tests.
type Stats struct {
	// Opens by I/O mode (see the package comment, Caching).
	PassthroughOpens, CachedOpens, DirectOpens uint64
	// Releases counts handles closed. The kernel sends RELEASE after
	// close(2) returns, so a handle just closed may still count as open.
	Releases uint64
	// Reads and writes that reached the daemon, and their bytes:
	// passthrough ones never do.
	Reads, ReadBytes, Writes, WriteBytes uint64
	// Getxattrs counts GETXATTR requests (security.capability included).
	Getxattrs uint64
	// Invalidations counts the kernel invalidations sent for changes made
	// through other doors.
	Invalidations uint64
}

type stats struct {
	opens                                [3]atomic.Uint64 // by ioMode
	releases                             atomic.Uint64
	reads, readBytes, writes, writeBytes atomic.Uint64
	getxattrs, invalidations             atomic.Uint64
}

// Stats returns the mount's counters.
func (s *Server) Stats() Stats {
	c := &s.m.stats
	return Stats{
		PassthroughOpens: c.opens[modePassthrough].Load(),
		CachedOpens:      c.opens[modeCached].Load(),
		DirectOpens:      c.opens[modeDirect].Load(),
		Releases:         c.releases.Load(),
		Reads:            c.reads.Load(),
		ReadBytes:        c.readBytes.Load(),
		Writes:           c.writes.Load(),
		WriteBytes:       c.writeBytes.Load(),
		Getxattrs:        c.getxattrs.Load(),
		Invalidations:    c.invalidations.Load(),
	}
}

// Mount mounts the store's namespace at mountpoint and serves it until
// Unmount. A stale FUSE mount left at mountpoint by a daemon that died is
// cleared first; a live one is an error.
func Mount(st *store.Store, mountpoint string, opts Options) (*Server, error) {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return nil, fmt.Errorf("mount %s: /dev/fuse is missing (install fuse3 and load the fuse module): %w", mountpoint, err)
	}
	mnt, err := filepath.Abs(mountpoint)
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", mountpoint, err)
	}
	lg := opts.Logger
	if lg == nil {
		lg = slog.New(slog.DiscardHandler)
	}
	lg = lg.With("mountpoint", mnt)
	if err := clearStale(mnt, lg); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(mnt, 0o755); err != nil {
		return nil, fmt.Errorf("mount %s: %w", mnt, err)
	}

	base := store.WithOrigin(context.Background(), Origin)
	if opts.WriteType != 0 {
		base = store.WithWriteType(base, opts.WriteType)
	}
	if opts.ReadType != 0 {
		base = store.WithReadType(base, opts.ReadType)
	}
	m := &mountState{st: st, opts: opts, log: lg, base: base}
	m.passthrough.Store(opts.Passthrough)
	m.io.m = make(map[uint64]*ioState)

	root := &node{m: m}
	fsOpts := &fs.Options{
		MountOptions:   m.mountOptions(),
		ExternalNodeID: true,
		RootStableAttr: &fs.StableAttr{Ino: store.RootIno, Gen: 1},
		Logger:         log.New(slogWriter{lg}, "", 0),
	}
	if opts.EntryTimeout > 0 {
		fsOpts.EntryTimeout = &opts.EntryTimeout
	}
	if opts.AttrTimeout > 0 {
		fsOpts.AttrTimeout = &opts.AttrTimeout
	}
	if opts.NegativeTimeout > 0 {
		fsOpts.NegativeTimeout = &opts.NegativeTimeout
	}
	var raw fuse.RawFileSystem = &rawFS{RawFileSystem: fs.NewNodeFS(root, fsOpts), m: m}
	if opts.Metrics != nil {
		// Outermost, so that the time rawFS spends on a request counts.
		raw = newMeteredFS(raw, opts.Metrics)
	}
	srv, err := fuse.NewServer(raw, mnt, &fsOpts.MountOptions)
	if err != nil {
		return nil, fmt.Errorf("mount %s: %w", mnt, err)
	}
	m.srv = srv
	go srv.Serve()
	if err := srv.WaitMount(); err != nil {
		srv.Unmount()
		return nil, fmt.Errorf("mount %s: %w", mnt, err)
	}
	if srv.KernelSettings().Flags64()&fuse.CAP_PASSTHROUGH == 0 && m.passthrough.Load() {
		lg.Warn("fuse: the kernel offers no passthrough; every read and write goes through the daemon")
		m.passthrough.Store(false)
	}
	if opts.ReadAheadKB > 0 {
		if err := setReadAhead(mnt, opts.ReadAheadKB); err != nil {
			lg.Warn("fuse: cannot set read_ahead_kb", "err", err)
		}
	}

	s := &Server{m: m, srv: srv, mountpoint: mnt, notifyDone: make(chan struct{})}
	s.sub = st.Subscribe()
	go func() {
		defer close(s.notifyDone)
		m.notifyLoop(s.sub)
	}()
	lg.Info("fuse: mounted", "passthrough", m.passthrough.Load(), "read_only", opts.ReadOnly,
		"killpriv_v2", srv.KernelSettings().Flags64()&fuse.CAP_HANDLE_KILLPRIV_V2 != 0 && opts.HandleKillpriv)
	return s, nil
}

func (m *mountState) mountOptions() fuse.MountOptions {
	o := m.opts
	flags := uintptr(syscall.MS_NOSUID | syscall.MS_NODEV)
	if o.ReadOnly {
		flags |= syscall.MS_RDONLY
	}
	extra := uint64(fuse.CAP_ASYNC_DIO | fuse.CAP_ATOMIC_O_TRUNC | fuse.CAP_DIRECT_IO_ALLOW_MMAP |
		fuse.CAP_PARALLEL_DIROPS)
	if o.HandleKillpriv {
		extra |= fuse.CAP_HANDLE_KILLPRIV_V2
	}
	var disabled uint64
	if !o.Passthrough {
		disabled |= fuse.CAP_PASSTHROUGH
	}
	return fuse.MountOptions{
		AllowOther: o.AllowOther,
		// The kernel checks permissions against our attributes, so that
		// allow_other is safe and access(2) costs no round trip.
		Options:              []string{"default_permissions"},
		FsName:               "hoard",
		Name:                 "hoard",
		DirectMountStrict:    true, // we are root; there may be no fusermount
		DirectMountFlags:     flags,
		MaxWrite:             1 << 20,
		MaxBackground:        64, // readahead and async direct I/O in flight
		EnableSymlinkCaching: true,
		ExtraCapabilities:    extra,
		DisabledCapabilities: disabled,
		Debug:                o.Debug,
		Logger:               log.New(slogWriter{m.log}, "", 0),
	}
}

// Mountpoint is the absolute path of the mount.
func (s *Server) Mountpoint() string { return s.mountpoint }

// Unmount unmounts and stops serving. If files are still open on the
// mount, it is detached lazily (MNT_DETACH) after a few tries, so that a
// daemon on its way out is not held up; their users then get ENOTCONN.
func (s *Server) Unmount() error {
	s.unmountOnce.Do(func() {
		err := s.srv.Unmount()
		if err != nil {
			s.m.log.Warn("fuse: mount busy; detaching it lazily", "err", err)
			if derr := syscall.Unmount(s.mountpoint, syscall.MNT_DETACH); derr != nil {
				s.unmountErr = fmt.Errorf("unmount %s: %w (lazy: %w)", s.mountpoint, err, derr)
			}
		}
		s.stop()
		if s.unmountErr == nil {
			s.m.log.Info("fuse: unmounted")
		}
	})
	return s.unmountErr
}

// Wait blocks until the mount is gone: unmounted by Unmount or from
// outside (umount), and stops following the change feed.
func (s *Server) Wait() {
	s.srv.Wait()
	s.stop()
}

// stop ends the notify goroutine.
func (s *Server) stop() {
	s.stopOnce.Do(func() {
		s.sub.Close()
		<-s.notifyDone
	})
}

// clearStale lazily unmounts a dead FUSE mount at mnt (its daemon died:
// stat fails with ENOTCONN), and refuses a live one.
func clearStale(mnt string, lg *slog.Logger) error {
	var st syscall.Stat_t
	err := syscall.Stat(mnt, &st)
	switch {
	case errors.Is(err, syscall.ENOTCONN), errors.Is(err, syscall.ECONNABORTED):
		lg.Warn("fuse: clearing a stale mount left by a daemon that died")
		if err := syscall.Unmount(mnt, syscall.MNT_DETACH); err != nil {
			return fmt.Errorf("mount %s: clear stale mount: %w", mnt, err)
		}
		return nil
	case err != nil:
		return nil // missing: Mount creates it
	}
	if fstype, ok := mountedAt(mnt); ok && strings.HasPrefix(fstype, "fuse") {
		return fmt.Errorf("mount %s: a live %s file system is mounted there already: %w", mnt, fstype, syscall.EBUSY)
	}
	return nil
}

// mountedAt returns the file system type mounted exactly at mnt, from
// /proc/self/mountinfo.
func mountedAt(mnt string) (string, bool) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", false
	}
	defer f.Close()
	var fstype string
	found := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source super
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 || unescapeMountinfo(fields[4]) != mnt {
			continue
		}
		for i, f := range fields {
			if f == "-" && i+1 < len(fields) {
				fstype, found = fields[i+1], true // the last one is on top
			}
		}
	}
	return fstype, found
}

func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var c byte
			if _, err := fmt.Sscanf(s[i+1:i+4], "%03o", &c); err == nil {
				b.WriteByte(c)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// setReadAhead sets read_ahead_kb of the mount's backing device info,
// /sys/class/bdi/<major>:<minor>, which for FUSE is named after the
// anonymous device of the mount.
func setReadAhead(mnt string, kb int) error {
	var st syscall.Stat_t
	if err := syscall.Stat(mnt, &st); err != nil {
		return err
	}
	p := fmt.Sprintf("/sys/class/bdi/%d:%d/read_ahead_kb", unix.Major(st.Dev), unix.Minor(st.Dev))
	return os.WriteFile(p, []byte(fmt.Sprint(kb)), 0)
}

// slogWriter feeds go-fuse's log.Logger output into slog.
type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	w.l.Info("go-fuse: " + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
