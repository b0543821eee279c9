package main

// `hoard fs`: Alluxio's file system shell, over the daemon's admin API (see
// gateway/admin.go). Each subcommand parses its flags, makes one or a few
// API calls and prints the answer as `alluxio fs` does; the daemon does the
// work. Options may come before or after the paths; `--` ends them.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hoardfs/hoard/gateway"
)

// fsCommand is one `hoard fs` subcommand.
type fsCommand struct {
	name    string
	args    string // synopsis of flags and arguments
	summary string
	run     func(e *fsEnv, args []string) error
}

func fsCommands() []fsCommand {
	return []fsCommand{
		{"ls", "[-R] [--sync] [-d] [-h] [-p] PATH...", "list, as alluxio fs ls: mode, owner, group, size, persistence state, mtime, cached %, path", fsLs},
		{"stat", "PATH...", "show a file's or directory's attributes and its place in the UFS", fsStat},
		{"cat", "[--readtype TYPE] PATH", "print a file's bytes", fsCat},
		{"mkdir", "[-p] PATH...", "make directories (-p: with their parents, an existing one is fine)", fsMkdir},
		{"rm", "[-R] PATH...", "remove files, and with -R directories and everything in them", fsRm},
		{"mv", "SRC DST", "rename; into DST when it is a directory", fsMv},
		{"mount", "[--readonly] [--writetype TYPE] [--option k=v]... [PATH UFS_URI]", "mount a UFS at PATH; with no arguments, print the mount table", fsMount},
		{"unmount", "[--force] PATH", "detach a mount (UFS data stays); --force drops uploads still queued", fsUnmount},
		{"load", "PATH", "bring files into the cache, with a progress bar on a terminal", fsLoad},
		{"persist", "PATH...", "upload files not yet in the UFS, whatever their write type", fsPersist},
		{"free", "PATH...", "drop the cached blocks of persisted, unpinned files", fsFree},
		{"pin", "PATH...", "keep files' blocks in the cache, never evicted", fsPin(true)},
		{"unpin", "PATH...", "let files' blocks be evicted again", fsPin(false)},
		{"setTtl", "[--action delete|free] PATH TTL", "after TTL (90s, 2h, or milliseconds) delete PATH, or free its cached blocks", fsSetTTL},
		{"unsetTtl", "PATH", "remove PATH's TTL", fsUnsetTTL},
		{"checksum", "PATH", "print a file's MD5", fsChecksum},
		{"du", "[-s] [-h] PATH", "sizes and cached bytes of the files under PATH (-s: one total)", fsDu},
		{"report", "", "cache capacity and use, unevictable bytes, persist queue, mounts", fsReport},
		{"sync", "[-R] PATH", "merge PATH with the UFS now (-R: every directory under it)", fsSync},
	}
}

func cmdFs(args []string, stdout, stderr io.Writer) error {
	top, conf := newFlags("fs", stderr)
	top.Usage = func() { fsUsage(stderr) }
	if err := parseFlags(top, args); err != nil {
		return err
	}
	rest := top.Args()
	if len(rest) == 0 {
		fsUsage(stderr)
		return fmt.Errorf("%w: missing subcommand", errUsage)
	}
	for _, c := range fsCommands() {
		if c.name == rest[0] {
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			e := &fsEnv{ctx: ctx, cmd: c, conf: *conf, stdout: stdout, stderr: stderr}
			if err := c.run(e, rest[1:]); err != nil {
				if errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp) {
					return err
				}
				return fmt.Errorf("%s: %w", c.name, err)
			}
			return nil
		}
	}
	var names []string
	for _, c := range fsCommands() {
		names = append(names, c.name)
	}
	return fmt.Errorf("%w: unknown fs command %q (known: %s)", errUsage, rest[0], strings.Join(names, ", "))
}

func fsUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: hoard fs [--conf FILE] COMMAND [options] ARGS")
	fmt.Fprintln(w)
	for _, c := range fsCommands() {
		fmt.Fprintf(w, "  %-9s %s\n  %-9s   %s\n", c.name, c.args, "", c.summary)
	}
	fmt.Fprintln(w, "\nThe commands talk to the running daemon's admin API at hoard.web.address.")
}

// fsEnv is what a subcommand runs with.
type fsEnv struct {
	ctx            context.Context
	cmd            fsCommand
	conf           string
	stdout, stderr io.Writer
	client         *adminClient
}

// flags makes the subcommand's flag set, with --conf like every command.
func (e *fsEnv) flags() *flag.FlagSet {
	fs := flag.NewFlagSet("hoard fs "+e.cmd.name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.StringVar(&e.conf, "conf", e.conf, "configuration file (default $HOARD_CONF, else conf/hoard-site.properties)")
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: hoard fs %s %s\n  %s\n", e.cmd.name, e.cmd.args, e.cmd.summary)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags anywhere among the arguments, checks that there are
// min to max positional ones (max < 0: no limit), then connects.
func (e *fsEnv) parse(fs *flag.FlagSet, args []string, min, max int) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	switch {
	case len(pos) < min && min == 1:
		return nil, fmt.Errorf("%w: missing PATH (usage: hoard fs %s %s)", errUsage, e.cmd.name, e.cmd.args)
	case len(pos) < min || (max >= 0 && len(pos) > max):
		return nil, fmt.Errorf("%w: want %s, got %d argument(s) %q", errUsage, e.cmd.args, len(pos), pos)
	}
	for _, p := range pos {
		if strings.HasPrefix(p, "-") {
			return nil, fmt.Errorf("%w: options go before --: %q", errUsage, p)
		}
	}
	c, err := LoadConfig(e.conf, os.Getenv)
	if err != nil {
		return nil, err
	}
	e.client = newAdminClient(c)
	return pos, nil
}

// parsePaths is parse for commands whose every argument is a path.
func (e *fsEnv) parsePaths(fs *flag.FlagSet, args []string, min, max int) ([]string, error) {
	paths, err := e.parse(fs, args, min, max)
	if err != nil {
		return nil, err
	}
	return paths, checkPaths(paths...)
}

// checkPaths refuses relative paths before anything is sent.
func checkPaths(paths ...string) error {
	for _, p := range paths {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("%w: %q is not an absolute path (Hoard paths start with /)", errUsage, p)
		}
	}
	return nil
}

// lsTime renders a time as Alluxio's ls does: MM-dd-yyyy HH:mm:ss:SSS.
func lsTime(ns int64) string {
	s := time.Unix(0, ns).Format("01-02-2006 15:04:05.000")
	return s[:len(s)-4] + ":" + s[len(s)-3:]
}

// lsLine is one line of `hoard fs ls`, Alluxio's format:
//
//	-rw-r--r-- alluxio staff 27040 PERSISTED 06-18-2019 14:26:05:694 100% /testbucket/key1
//	drwxr-xr-x alluxio staff 0 PERSISTED 03-01-2021 16:02:26:547 DIR /testbucket0
func lsLine(e *gateway.AdminEntry, human bool) string {
	size := strconv.FormatInt(e.Size, 10)
	if human {
		size = humanBytes(e.Size)
	}
	cached := strconv.Itoa(e.CachedPercent) + "%"
	if e.Type == "dir" {
		cached = "DIR"
	}
	p := e.Path
	if e.Type == "symlink" {
		p += " -> " + e.Target
	}
	return strings.Join([]string{e.ModeString, e.Owner, e.Group, size, e.State, lsTime(e.MtimeNs), cached, p}, " ")
}

// humanBytes renders a size as Alluxio does: 1023B, 26.41KB, 1.50GB.
func humanBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + "B"
	}
	f := float64(n)
	for _, unit := range []string{"KB", "MB", "GB", "TB", "PB"} {
		f /= 1024
		if f < 1024 || unit == "PB" {
			return strconv.FormatFloat(f, 'f', 2, 64) + unit
		}
	}
	return ""
}

func fsLs(e *fsEnv, args []string) error {
	fs := e.flags()
	recursive := fs.Bool("R", false, "list directories recursively")
	sync := fs.Bool("sync", false, "merge with the UFS first, whatever the sync interval")
	force := fs.Bool("f", false, "same as --sync (Alluxio's force metadata load)")
	dir := fs.Bool("d", false, "list directories as themselves, not their contents")
	human := fs.Bool("h", false, "human-readable sizes")
	pinned := fs.Bool("p", false, "pinned files only")
	paths, err := e.parsePaths(fs, args, 1, -1)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	for _, p := range paths {
		q := pathQuery(p)
		if *recursive {
			q.Set("recursive", "true")
		}
		if *sync || *force {
			q.Set("sync", "true")
		}
		if *dir {
			q.Set("directory", "true")
		}
		err := e.client.stream(e.ctx, http.MethodGet, "ls", q, func(line []byte) error {
			var ent gateway.AdminEntry
			if err := json.Unmarshal(line, &ent); err != nil {
				return fmt.Errorf("bad answer line: %w", err)
			}
			if *pinned && !ent.Pinned {
				return nil
			}
			_, err := fmt.Fprintln(out, lsLine(&ent, *human))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func fsStat(e *fsEnv, args []string) error {
	paths, err := e.parsePaths(e.flags(), args, 1, -1)
	if err != nil {
		return err
	}
	for _, p := range paths {
		var ent gateway.AdminEntry
		if err := e.client.do(e.ctx, http.MethodGet, "stat", pathQuery(p), nil, &ent); err != nil {
			return err
		}
		printStat(e.stdout, &ent)
	}
	return nil
}

func printStat(w io.Writer, ent *gateway.AdminEntry) {
	kind := map[string]string{"file": "a file", "dir": "a directory", "symlink": "a symbolic link"}[ent.Type]
	fmt.Fprintf(w, "%s is %s path.\n", ent.Path, kind)
	row := func(k string, v any) { fmt.Fprintf(w, "  %-18s %v\n", k+":", v) }
	row("size", ent.Size)
	row("mode", fmt.Sprintf("%s (%04o)", ent.ModeString, ent.Mode))
	row("owner", ent.Owner)
	row("group", ent.Group)
	row("modified", lsTime(ent.MtimeNs))
	row("persistence state", ent.State)
	if ent.Type == "file" {
		row("in cache", fmt.Sprintf("%d bytes (%d%%)", ent.CachedBytes, ent.CachedPercent))
		row("pinned", ent.Pinned)
		if ent.ETag != "" {
			row("etag", ent.ETag)
		}
	}
	if ent.WriteType != "" {
		row("write type", ent.WriteType)
	}
	if ent.Target != "" {
		row("target", ent.Target)
	}
	if ent.MountPoint {
		row("mount point", true)
	}
	row("inode", ent.Ino)
	if u := ent.UFS; u != nil {
		row("mount", u.Mount)
		row("ufs path", u.URI)
		if ent.Type == "file" {
			if u.InUFS {
				row("ufs object", fmt.Sprintf("%d bytes, etag %s, modified %s", u.Size, u.ETag, lsTime(u.MtimeNs)))
			} else {
				row("ufs object", "none yet")
			}
		}
	}
}

func fsCat(e *fsEnv, args []string) error {
	fs := e.flags()
	readType := fs.String("readtype", "", "CACHE_PROMOTE, CACHE or NO_CACHE (default: the daemon's)")
	paths, err := e.parsePaths(fs, args, 1, 1)
	if err != nil {
		return err
	}
	q := pathQuery(paths[0])
	if *readType != "" {
		q.Set("readtype", *readType)
	}
	_, err = e.client.readAll(e.ctx, "cat", q, e.stdout)
	return err
}

func fsMkdir(e *fsEnv, args []string) error {
	fs := e.flags()
	parents := fs.Bool("p", false, "make parent directories as needed; no error if it exists")
	paths, err := e.parsePaths(fs, args, 1, -1)
	if err != nil {
		return err
	}
	for _, p := range paths {
		q := pathQuery(p)
		if *parents {
			q.Set("parents", "true")
		}
		if err := e.client.do(e.ctx, http.MethodPost, "mkdir", q, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "Successfully created directory %s\n", p)
	}
	return nil
}

func fsRm(e *fsEnv, args []string) error {
	fs := e.flags()
	recursive := fs.Bool("R", false, "remove directories and their contents")
	fs.BoolVar(recursive, "r", false, "same as -R")
	paths, err := e.parsePaths(fs, args, 1, -1)
	if err != nil {
		return err
	}
	// Every path must exist before anything is removed: a typo in the
	// last one must not leave the first ones half done.
	for _, p := range paths {
		if err := e.client.do(e.ctx, http.MethodGet, "stat", pathQuery(p), nil, nil); err != nil {
			return err
		}
	}
	for _, p := range paths {
		q := pathQuery(p)
		if *recursive {
			q.Set("recursive", "true")
		}
		if err := e.client.do(e.ctx, http.MethodPost, "rm", q, nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s has been removed\n", p)
	}
	return nil
}

func fsMv(e *fsEnv, args []string) error {
	paths, err := e.parsePaths(e.flags(), args, 2, 2)
	if err != nil {
		return err
	}
	var res gateway.AdminResult
	q := url.Values{"src": {paths[0]}, "dst": {paths[1]}}
	if err := e.client.do(e.ctx, http.MethodPost, "mv", q, nil, &res); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Renamed %s to %s\n", paths[0], res.Dst)
	return nil
}

// optionFlag collects repeated --option k=v.
type optionFlag map[string]string

func (o optionFlag) String() string { return "" }

func (o optionFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	if _, dup := o[k]; dup {
		return fmt.Errorf("option %s given twice", k)
	}
	o[k] = val
	return nil
}

func fsMount(e *fsEnv, args []string) error {
	fs := e.flags()
	readOnly := fs.Bool("readonly", false, "mount read-only")
	writeType := fs.String("writetype", "", "write type of files under the mount (default: the daemon's)")
	readType := fs.String("readtype", "", "read type of files under the mount (default: the daemon's)")
	opts := optionFlag{}
	fs.Var(opts, "option", "a UFS option k=v (fs.oss.*, fs.s3.*), repeatable; overrides the configuration file for this mount")
	pos, err := e.parse(fs, args, 0, 2)
	if err != nil {
		return err
	}
	switch len(pos) {
	case 0:
		if *readOnly || *writeType != "" || *readType != "" || len(opts) > 0 {
			return fmt.Errorf("%w: options need PATH and UFS_URI", errUsage)
		}
		var table []gateway.AdminMount
		if err := e.client.do(e.ctx, http.MethodGet, "mounts", nil, nil, &table); err != nil {
			return err
		}
		for _, m := range table {
			fmt.Fprintln(e.stdout, mountLine(&m))
		}
		return nil
	case 1:
		return fmt.Errorf("%w: missing UFS_URI (usage: hoard fs mount %s)", errUsage, e.cmd.args)
	}
	if err := checkPaths(pos[0]); err != nil {
		return err
	}
	req := gateway.AdminMountRequest{Path: pos[0], URI: pos[1], Options: opts, ReadOnly: *readOnly, WriteType: *writeType, ReadType: *readType}
	var m gateway.AdminMount
	if err := e.client.do(e.ctx, http.MethodPost, "mount", nil, req, &m); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Mounted %s at %s\n", m.URI, m.Path)
	return nil
}

// mountLine is one line of the mount table, as Alluxio prints it.
func mountLine(m *gateway.AdminMount) string {
	scheme, _, _ := strings.Cut(m.URI, "://")
	if strings.HasPrefix(m.URI, "/") {
		scheme = "file"
	}
	ro := "not read-only"
	if m.ReadOnly {
		ro = "read-only"
	}
	keys := make([]string, 0, len(m.Options))
	for k := range m.Options {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	props := make([]string, len(keys))
	for i, k := range keys {
		props[i] = k + "=" + m.Options[k]
	}
	return fmt.Sprintf("%s  on  %s  (%s, %s, write type %s, read type %s, %d uploads queued, properties={%s})",
		m.URI, m.Path, scheme, ro, m.WriteType, m.ReadType, m.Pending, strings.Join(props, ", "))
}

func fsUnmount(e *fsEnv, args []string) error {
	fs := e.flags()
	force := fs.Bool("force", false, "unmount even with uploads queued for the mount (they are dropped)")
	paths, err := e.parsePaths(fs, args, 1, 1)
	if err != nil {
		return err
	}
	q := pathQuery(paths[0])
	if *force {
		q.Set("force", "true")
	}
	if err := e.client.do(e.ctx, http.MethodPost, "unmount", q, nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Unmounted %s\n", paths[0])
	return nil
}

// progressRun streams a load or persist and draws its progress bar.
func (e *fsEnv) progressRun(op, p string) (gateway.AdminProgress, error) {
	bar := newProgressBar(e.stdout)
	var last gateway.AdminProgress
	err := e.client.stream(e.ctx, http.MethodPost, op, pathQuery(p), func(line []byte) error {
		if err := json.Unmarshal(line, &last); err != nil {
			return fmt.Errorf("bad answer line: %w", err)
		}
		bar.update(last.Done, last.Total)
		return nil
	})
	bar.finish()
	if err == nil && !last.Finished {
		err = fmt.Errorf("%s %s: the daemon stopped answering before the end", op, p)
	}
	return last, err
}

func fsLoad(e *fsEnv, args []string) error {
	paths, err := e.parsePaths(e.flags(), args, 1, 1)
	if err != nil {
		return err
	}
	if _, err := e.progressRun("load", paths[0]); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s loaded\n", paths[0])
	return nil
}

func fsPersist(e *fsEnv, args []string) error {
	paths, err := e.parsePaths(e.flags(), args, 1, -1)
	if err != nil {
		return err
	}
	for _, p := range paths {
		res, err := e.progressRun("persist", p)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "persisted %s (%d bytes uploaded)\n", p, res.Total)
	}
	return nil
}

func fsFree(e *fsEnv, args []string) error {
	paths, err := e.parsePaths(e.flags(), args, 1, -1)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if err := e.client.do(e.ctx, http.MethodPost, "free", pathQuery(p), nil, nil); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s was successfully freed from the cache\n", p)
	}
	return nil
}

func fsPin(pin bool) func(e *fsEnv, args []string) error {
	op, done := "unpin", "unpinned"
	if pin {
		op, done = "pin", "pinned"
	}
	return func(e *fsEnv, args []string) error {
		paths, err := e.parsePaths(e.flags(), args, 1, -1)
		if err != nil {
			return err
		}
		for _, p := range paths {
			if err := e.client.do(e.ctx, http.MethodPost, op, pathQuery(p), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "File '%s' was successfully %s.\n", p, done)
		}
		return nil
	}
}

func fsSetTTL(e *fsEnv, args []string) error {
	fs := e.flags()
	action := fs.String("action", "delete", "what happens when the TTL expires: delete or free")
	rest, err := e.parse(fs, args, 2, 2)
	if err != nil {
		return err
	}
	if err := checkPaths(rest[0]); err != nil {
		return err
	}
	q := pathQuery(rest[0], "ttl", rest[1], "action", *action)
	if err := e.client.do(e.ctx, http.MethodPost, "setTtl", q, nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "TTL of path '%s' was successfully set to %s, with expiry action set to %s\n", rest[0], rest[1], strings.ToUpper(*action))
	return nil
}

func fsUnsetTTL(e *fsEnv, args []string) error {
	paths, err := e.parsePaths(e.flags(), args, 1, 1)
	if err != nil {
		return err
	}
	if err := e.client.do(e.ctx, http.MethodPost, "unsetTtl", pathQuery(paths[0]), nil, nil); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "TTL of path '%s' was successfully removed.\n", paths[0])
	return nil
}

func fsChecksum(e *fsEnv, args []string) error {
	paths, err := e.parsePaths(e.flags(), args, 1, 1)
	if err != nil {
		return err
	}
	var res gateway.AdminChecksum
	if err := e.client.do(e.ctx, http.MethodGet, "checksum", pathQuery(paths[0]), nil, &res); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "md5sum: %s\n", res.MD5)
	return nil
}

func fsDu(e *fsEnv, args []string) error {
	fs := e.flags()
	summary := fs.Bool("s", false, "one total for PATH")
	human := fs.Bool("h", false, "human-readable sizes")
	paths, err := e.parsePaths(fs, args, 1, 1)
	if err != nil {
		return err
	}
	size := func(n int64) string {
		if *human {
			return humanBytes(n)
		}
		return strconv.FormatInt(n, 10)
	}
	cached := func(c, total int64) string {
		pct := int64(100)
		if total > 0 {
			pct = c * 100 / total
		}
		return fmt.Sprintf("%s (%d%%)", size(c), pct)
	}
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	row := func(a, b, c string) { fmt.Fprintf(out, "%-13s %-16s %s\n", a, b, c) }
	if *summary {
		var u gateway.AdminUsage
		if err := e.client.do(e.ctx, http.MethodGet, "du", pathQuery(paths[0]), nil, &u); err != nil {
			return err
		}
		row("File Size", "In Cache", "Path")
		row(size(u.Bytes), cached(u.Cached, u.Bytes), u.Path)
		return nil
	}
	// Every file under PATH: the recursive listing, files only, streamed.
	row("File Size", "In Cache", "Path")
	return e.client.stream(e.ctx, http.MethodGet, "ls", pathQuery(paths[0], "recursive", "true"), func(line []byte) error {
		var ent gateway.AdminEntry
		if err := json.Unmarshal(line, &ent); err != nil {
			return fmt.Errorf("bad answer line: %w", err)
		}
		if ent.Type == "file" {
			row(size(ent.Size), cached(ent.CachedBytes, ent.Size), ent.Path)
		}
		return nil
	})
}

func fsReport(e *fsEnv, args []string) error {
	if _, err := e.parse(e.flags(), args, 0, 0); err != nil {
		return err
	}
	var r gateway.AdminReport
	if err := e.client.do(e.ctx, http.MethodGet, "report", nil, nil, &r); err != nil {
		return err
	}
	w := e.stdout
	pct := func(n int64) string {
		if r.Cache.Capacity <= 0 {
			return ""
		}
		return fmt.Sprintf(" (%d%%)", n*100/r.Cache.Capacity)
	}
	fmt.Fprintln(w, "Hoard summary:")
	fmt.Fprintf(w, "    Cache capacity:         %s\n", humanBytes(r.Cache.Capacity))
	fmt.Fprintf(w, "    Cache used:             %s%s\n", humanBytes(r.Cache.Used), pct(r.Cache.Used))
	fmt.Fprintf(w, "    Evictable (clean):      %s\n", humanBytes(r.Cache.Clean))
	fmt.Fprintf(w, "    Dirty:                  %s (not yet in the UFS)\n", humanBytes(r.Cache.Dirty))
	fmt.Fprintf(w, "    Pinned:                 %s (pinned files, in the UFS too)\n", humanBytes(r.Cache.Pinned))
	fmt.Fprintf(w, "    Evictions:              %d (%s)\n", r.Cache.Evictions, humanBytes(r.Cache.EvictedBytes))
	fmt.Fprintf(w, "    Persist queue depth:    %d\n", r.Queue.Depth)
	if r.Queue.Depth > 0 {
		fmt.Fprintf(w, "    Oldest queued upload:   %v ago\n", (time.Duration(r.Queue.OldestAgeMs) * time.Millisecond).Round(time.Millisecond))
	}
	fmt.Fprintf(w, "    Failing uploads:        %d\n", r.Queue.Failing)
	for _, msg := range r.Queue.LastErrors {
		fmt.Fprintf(w, "        %s\n", msg)
	}
	fmt.Fprintf(w, "    Mounts:                 %d\n", len(r.Mounts))
	for _, m := range r.Mounts {
		fmt.Fprintf(w, "        %s\n", mountLine(&m))
	}
	return nil
}

func fsSync(e *fsEnv, args []string) error {
	fs := e.flags()
	recursive := fs.Bool("R", false, "every directory under PATH too")
	paths, err := e.parsePaths(fs, args, 1, 1)
	if err != nil {
		return err
	}
	q := pathQuery(paths[0])
	if *recursive {
		q.Set("recursive", "true")
	}
	var res gateway.AdminResult
	if err := e.client.do(e.ctx, http.MethodPost, "sync", q, nil, &res); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Synced %s with the UFS (%d directories listed)\n", paths[0], res.Directories)
	return nil
}

// progressBar draws bytes done, rate and ETA on a terminal, on one line
// redrawn in place; it draws nothing when the output is not a terminal.
type progressBar struct {
	w     io.Writer
	tty   bool
	start time.Time
	drawn bool
	last  time.Time
}

func newProgressBar(w io.Writer) *progressBar {
	return &progressBar{w: w, tty: isTerminal(w), start: time.Now()}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	// A terminal answers TCGETS; /dev/null, also a character device, not.
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

func (b *progressBar) update(done, total int64) {
	if !b.tty || (time.Since(b.last) < 100*time.Millisecond && done < total) {
		return
	}
	b.last = time.Now()
	fmt.Fprint(b.w, "\r"+progressText(done, total, time.Since(b.start)))
	b.drawn = true
}

// progressText is the bar: [=====>    ]  45%  12.00MB/26.41MB  4.50MB/s  ETA 3s
func progressText(done, total int64, elapsed time.Duration) string {
	const width = 30
	frac := 1.0
	if total > 0 {
		frac = min(float64(done)/float64(total), 1)
	}
	filled := int(frac * width)
	bar := strings.Repeat("=", filled)
	if filled < width {
		bar += ">" + strings.Repeat(" ", width-filled-1)
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	eta := "--"
	if rate > 0 && total >= done {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("[%s] %3d%%  %s/%s  %s/s  ETA %s ", bar, int(frac*100), humanBytes(done), humanBytes(total),
		humanBytes(int64(rate)), eta)
}

func (b *progressBar) finish() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}
