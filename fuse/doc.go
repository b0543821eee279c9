// Package fuse presents the store's namespace as a POSIX directory: a
// go-fuse v2 node tree whose every method is a thin adapter over one store
// call. It holds no business logic: the store decides what a file is, who
// may change it and when it is durable; this package translates requests
// and answers, and keeps the kernel's caches honest.
//
// The daemon mounts with [Mount] and unmounts with [Server.Unmount]. Node
// operations live in files by family: node_lookup.go (lookup, attributes,
// statfs, readlink), node_dir.go (namespace changes and directory
// listings), node_open.go (open, create and the I/O mode of each handle),
// node_xattr.go, file.go (reads, writes, commit points), notify.go (the
// change feed), raw.go (the few protocol fields go-fuse's node API hides),
// metered.go (the hoard_fuse_* metrics of every request, when
// Options.Metrics is set).
//
// # Inode numbers
//
// The FUSE node id of a file is its store inode number (go-fuse's
// ExternalNodeID), and its generation the store's Gen. Store inode numbers
// are never reused, so they are stable for the life of the namespace, across
// restarts, and the change feed can name a node to the kernel without a
// table of its own.
//
// # Caching
//
// The kernel caches attributes, directory entries (negative ones too) and
// symlink targets for the timeouts of [Options]; every change that reaches
// the store through another door (the S3 gateway, a UFS sync, the admin
// API) comes back on the store's change feed and is turned into a kernel
// invalidation at once by one goroutine (notify.go), never from inside a
// FUSE handler, where it could deadlock against the kernel. The timeouts
// therefore bound only what the feed cannot cover: a lookup that races an
// invalidation, and objects added to the UFS behind the store's back, which
// the store sees at its next directory sync anyway.
//
// File data is served one of three ways, chosen per open (node_open.go):
//
//   - passthrough: a file whose every block is in the cache is handed to the
//     kernel as its local cache file (FUSE passthrough), so reads, writes and
//     mmap never enter the daemon; the store adopts the new size and mtime
//     at the next flush, fsync or release, the commit points.
//   - cached: a partly cached file is read through the daemon, which fetches
//     the missing blocks, into the kernel page cache; the change feed drops
//     those pages when the content changes, and each open starts afresh
//     (no FOPEN_KEEP_CACHE: the store soon has the whole file, and the next
//     open goes passthrough).
//   - direct: O_DIRECT opens of files served by the daemon bypass the page
//     cache and need no alignment; they fit beside page-cached opens. Beside
//     passthrough ones they share the backing file, with the alignment rules
//     of the cache disk's file system.
//
// The kernel allows one backing file per inode, and while it has one, every
// open of the inode must be a passthrough open on it. An S3 put over a file,
// or a change found in the UFS, makes a new inode (the store replaces the
// file as a rename over it does), so open handles keep the old version and
// new opens get the new one at once. Only a file with several hard links
// has its content replaced in place (by a UFS change) or its cache file
// swapped (free, THROUGH): while passthrough handles read the old cache file
// then, new readers share it until the last of them closes, and new writers
// get EBUSY rather than writing into a file the store no longer reads.
//
// # Errors
//
// Store errors are POSIX errnos wrapped in *store.OpError; errno.go turns
// them into syscall.Errno in one place and logs what is not an ordinary
// answer (EIO and friends) with the operation and path. A node that vanished
// behind the kernel's back answers ESTALE, which makes the kernel look the
// path up again. Commit errors (persisting, uploading with CACHE_THROUGH)
// surface from flush (close) and fsync; errors of release are logged, as
// the kernel drops them.
//
// # Locking
//
// The store does its own locking; this package adds one mutex, around the
// per-inode I/O mode table (mountState.io), which decides atomically how a
// new open coexists with the handles already open on the inode and owns the
// registration of passthrough backing files. It is never held across a
// store call that may wait on the UFS. Kernel invalidations run on the
// notify goroutine, which holds no lock of ours.
//
// # Permissions
//
// The mount uses default_permissions: the kernel checks access against the
// attributes we return, so a request that reaches us is allowed. The
// kernel applies the caller's umask before it sends a mode, and the store
// applies none, so the umask counts once. Setuid and setgid bits are stored
// as given; with FUSE_HANDLE_KILLPRIV_V2 (the default) we clear them where
// POSIX says a write, truncate or chown by an unprivileged caller must.
package fuse
