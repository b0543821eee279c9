package main

// Configuration: a Java-properties file, resolved as CONTRACT.md says
// (--conf FILE, else $HOARD_CONF, else conf/hoard-site.properties when it
// exists, else the defaults), with ${key} references, validated as a whole
// so that one run reports every unknown key and bad value, each naming the
// key, the value, the file and line, and what is expected.
//
// The key table (configKeys) is the single list of what Hoard understands;
// conf/hoard-site.properties.template documents it, and a test keeps the two
// in step.

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/hoardfs/hoard/ufs/oss"
	"github.com/hoardfs/hoard/ufs/s3"
)

// Config is the resolved configuration. Raw keeps every key with its final
// string value (after ${...} expansion, paths made absolute).
type Config struct {
	Home        string   // hoard.home, absolute
	RootUFS     string   // hoard.root.ufs: file:///abs/path, oss://bucket/dir or s3://bucket/dir
	MetadataDir string   // hoard.metadata.dir, absolute
	CacheDirs   []string // hoard.cache.dirs, absolute
	CacheQuota  int64    // hoard.cache.quota, bytes
	BlockSize   int64    // hoard.cache.block.size, bytes

	FuseMountPoint string // hoard.fuse.mount.point, absolute; "" means no mount
	FuseWriteType  string // writetype= of hoard.fuse.mount.options; "" means the default
	FuseReadType   string // readtype= of hoard.fuse.mount.options; "" means the default
	S3Address      string // hoard.s3.address; "" means no gateway
	WebAddress     string // hoard.web.address
	WebToken       string // hoard.web.token; "" means no token

	WriteType    string        // hoard.user.file.writetype.default
	ReadType     string        // hoard.user.file.readtype.default
	SyncInterval time.Duration // SyncNever (negative), 0 (every access), or an interval

	S3AccessKey, S3SecretKey string // hoard.s3.accessKey, hoard.s3.secretKey

	LogLevel    string // debug, info, warn or error
	LogFormat   string // text or json
	S3AccessLog bool   // hoard.s3.accesslog: log every S3 request at info level

	Source     string            // the file it came from, or "defaults"
	where      map[string]string // key -> "file:line" of the keys the file sets
	UFSOptions map[string]string // every fs.oss.* and fs.s3.* key present
	Raw        map[string]string
}

// IsSet reports whether the configuration file sets key.
func (c *Config) IsSet(key string) bool {
	_, ok := c.where[key]
	return ok
}

// KeyErr is err, found after loading (a UFS that does not open, an address
// in use), as a configuration error: it names the key and where its value
// came from, as the errors of loading do.
func (c *Config) KeyErr(key string, err error) error {
	place, ok := c.where[key]
	if !ok {
		place = c.Source + " (default)"
	}
	return fmt.Errorf("%s: %s: %w", place, key, err)
}

// SyncNever is the SyncInterval of "-1": never re-check a path once loaded.
const SyncNever time.Duration = -1

// sourceDefaults is Config.Source when no file was read.
const sourceDefaults = "defaults"

// siteFile is the configuration file looked for in the working directory.
const siteFile = "conf/hoard-site.properties"

// Write and read types, as in Alluxio.
var (
	writeTypes = []string{"MUST_CACHE", "CACHE_THROUGH", "THROUGH", "ASYNC_THROUGH"}
	readTypes  = []string{"CACHE_PROMOTE", "CACHE", "NO_CACHE"}
	logLevels  = []string{"debug", "info", "warn", "error"}
	logFormats = []string{"text", "json"}
)

// configKey is one key Hoard understands: its default (before ${}
// expansion; "" is unset) and how its final value lands in a Config. set
// returns an error that says what is expected; the caller adds the key,
// value and place.
type configKey struct {
	name string
	def  string
	set  func(c *Config, v string) (string, error) // returns the value to keep in Raw
}

// configKeys is every hoard.* key, in the template's order.
var configKeys = []configKey{
	{"hoard.home", "./data", func(c *Config, v string) (string, error) {
		p, err := absPath(v)
		c.Home = p
		return p, err
	}},
	{"hoard.root.ufs", "file://${hoard.home}/ufs", func(c *Config, v string) (string, error) {
		u, err := normalizeUFS(v)
		c.RootUFS = u
		return u, err
	}},
	{"hoard.metadata.dir", "${hoard.home}/metadata", func(c *Config, v string) (string, error) {
		p, err := absPath(v)
		c.MetadataDir = p
		return p, err
	}},
	{"hoard.cache.dirs", "${hoard.home}/cache", func(c *Config, v string) (string, error) {
		c.CacheDirs = nil
		for _, d := range strings.Split(v, ",") {
			p, err := absPath(strings.TrimSpace(d))
			if err != nil {
				return v, fmt.Errorf("want comma-separated directories: %w", err)
			}
			c.CacheDirs = append(c.CacheDirs, p)
		}
		return strings.Join(c.CacheDirs, ","), nil
	}},
	{"hoard.cache.quota", "10GB", func(c *Config, v string) (string, error) {
		n, err := parseSize(v)
		if err == nil && n <= 0 {
			err = errors.New("want a size above zero")
		}
		c.CacheQuota = n
		return v, err
	}},
	{"hoard.cache.block.size", "4MB", func(c *Config, v string) (string, error) {
		n, err := parseSize(v)
		if err == nil && (n < 64<<10 || n > 1<<30 || n&(n-1) != 0) {
			err = errors.New("want a power of two from 64KB to 1GB")
		}
		c.BlockSize = n
		return v, err
	}},
	{"hoard.fuse.mount.point", "./mnt", func(c *Config, v string) (string, error) {
		if v == "" {
			c.FuseMountPoint = ""
			return "", nil
		}
		p, err := absPath(v)
		c.FuseMountPoint = p
		return p, err
	}},
	// Options of the mount itself, as Alluxio's alluxio.fuse.mount.options:
	// the write and read type of everything done through it.
	{"hoard.fuse.mount.options", "", func(c *Config, v string) (string, error) {
		return parseFuseOptions(c, v)
	}},
	{"hoard.s3.address", "127.0.0.1:39999", func(c *Config, v string) (string, error) {
		c.S3Address = v
		if v == "" {
			return v, nil
		}
		return v, checkAddress(v)
	}},
	{"hoard.web.address", "127.0.0.1:19999", func(c *Config, v string) (string, error) {
		c.WebAddress = v
		if v == "" {
			return v, errors.New("want host:port; the admin API cannot be turned off")
		}
		return v, checkAddress(v)
	}},
	{"hoard.web.token", "", func(c *Config, v string) (string, error) {
		c.WebToken = v
		return v, nil
	}},
	{"hoard.user.file.writetype.default", "ASYNC_THROUGH", func(c *Config, v string) (string, error) {
		t, err := oneOf(strings.ToUpper(v), writeTypes)
		c.WriteType = t
		return t, err
	}},
	{"hoard.user.file.readtype.default", "CACHE_PROMOTE", func(c *Config, v string) (string, error) {
		t, err := oneOf(strings.ToUpper(v), readTypes)
		c.ReadType = t
		return t, err
	}},
	// 1min rather than Alluxio's -1: with -1 a change made directly in OSS
	// is never seen, which DESIGN.md promises it is; 0 costs a UFS round
	// trip on every access. One minute bounds staleness at one check per
	// path per minute. The template says so too.
	{"hoard.user.file.metadata.sync.interval", "1min", func(c *Config, v string) (string, error) {
		d, err := parseInterval(v)
		c.SyncInterval = d
		return v, err
	}},
	{"hoard.s3.accessKey", "", func(c *Config, v string) (string, error) {
		c.S3AccessKey = v
		return v, nil
	}},
	{"hoard.s3.secretKey", "", func(c *Config, v string) (string, error) {
		c.S3SecretKey = v
		return v, nil
	}},
	{"hoard.log.level", "info", func(c *Config, v string) (string, error) {
		l, err := oneOf(strings.ToLower(v), logLevels)
		c.LogLevel = l
		return l, err
	}},
	{"hoard.log.format", "text", func(c *Config, v string) (string, error) {
		f, err := oneOf(strings.ToLower(v), logFormats)
		c.LogFormat = f
		return f, err
	}},
	// Off by default: one line per request is too much for a busy gateway,
	// and the metrics at /metrics already count every request.
	{"hoard.s3.accesslog", "false", func(c *Config, v string) (string, error) {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return v, errors.New("want true or false")
		}
		c.S3AccessLog = b
		return strconv.FormatBool(b), nil
	}},
}

// ufsOptionKeys are the keys of the UFS backends (fs.oss.*, fs.s3.*), which
// go to them as they are; any other key under those prefixes is unknown.
var ufsOptionKeys = append(oss.Keys(), s3.Keys()...)

// isUFSOption reports whether key goes to Config.UFSOptions.
func isUFSOption(key string) bool { return slices.Contains(ufsOptionKeys, key) }

// LoadConfig finds, parses and validates the configuration. explicitPath is
// the --conf flag ("" when absent); getenv reads HOARD_CONF (nil means
// os.Getenv).
func LoadConfig(explicitPath string, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	path, origin := explicitPath, "--conf"
	if path == "" {
		path, origin = getenv("HOARD_CONF"), "HOARD_CONF"
	}
	if path == "" {
		if _, err := os.Stat(siteFile); err == nil {
			path, origin = siteFile, ""
		}
	}
	if path == "" {
		return buildConfig(sourceDefaults, nil)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if origin != "" {
			return nil, fmt.Errorf("configuration file from %s: %w", origin, err)
		}
		return nil, fmt.Errorf("configuration file: %w", err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	props, err := parseProperties(string(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return buildConfig(path, props)
}

// buildConfig overlays props from source on the defaults, expands, converts
// and checks everything, and reports all problems at once.
func buildConfig(source string, props []property) (*Config, error) {
	known := map[string]*configKey{}
	values := map[string]string{}
	for i := range configKeys {
		k := &configKeys[i]
		known[k.name] = k
		values[k.name] = k.def
	}
	where := map[string]string{} // key -> "file:line", for messages
	var errs []error
	for _, p := range props {
		loc := fmt.Sprintf("%s:%d", source, p.line)
		if known[p.key] == nil && !isUFSOption(p.key) {
			errs = append(errs, fmt.Errorf("%s: unknown key %q%s", loc, p.key, suggest(p.key)))
			continue
		}
		values[p.key] = p.value // the last one wins, as in Java
		where[p.key] = loc
	}
	place := func(key string) string {
		if w, ok := where[key]; ok {
			return w
		}
		return source + " (default)"
	}

	expanded := map[string]string{}
	for _, key := range sortedKeys(values) {
		v, err := expand(key, values, expanded, nil)
		if err != nil {
			if isSecretKey(key) {
				// The message may quote part of the value.
				err = errors.New("bad ${key} reference (details not shown: the value is a secret)")
			}
			errs = append(errs, fmt.Errorf("%s: %s: %w", place(key), key, err))
			continue
		}
		expanded[key] = v
	}

	if len(where) == 0 {
		where = nil // as a Config built by hand has it
	}
	c := &Config{Source: source, where: where, UFSOptions: map[string]string{}, Raw: map[string]string{}}
	for _, k := range configKeys {
		v, ok := expanded[k.name]
		if !ok {
			continue // its expansion failed, already reported
		}
		raw, err := k.set(c, strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s = %q: %w", place(k.name), k.name, v, err))
		}
		c.Raw[k.name] = raw
	}
	for key, v := range expanded {
		if isUFSOption(key) {
			c.UFSOptions[key] = v
			c.Raw[key] = v
		}
	}
	errs = append(errs, crossCheck(c, place)...)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// crossCheck applies the rules that involve more than one key.
func crossCheck(c *Config, place func(string) string) []error {
	var errs []error
	if c.WebAddress != "" && c.WebToken == "" && !isLoopback(c.WebAddress) {
		errs = append(errs, fmt.Errorf("%s: hoard.web.token is required because hoard.web.address = %q is not a loopback address: "+
			"the admin API would be open to the network", place("hoard.web.address"), c.WebAddress))
	}
	if (c.S3AccessKey == "") != (c.S3SecretKey == "") {
		errs = append(errs, fmt.Errorf("%s: hoard.s3.accessKey and hoard.s3.secretKey must be set together (or both left unset)",
			place("hoard.s3.accessKey")))
	}
	if c.BlockSize > 0 && c.CacheQuota > 0 && c.CacheQuota < c.BlockSize {
		errs = append(errs, fmt.Errorf("%s: hoard.cache.quota (%d bytes) is smaller than hoard.cache.block.size (%d bytes)",
			place("hoard.cache.quota"), c.CacheQuota, c.BlockSize))
	}
	return errs
}

// Redacted returns Raw with every secret masked, for logs and the API.
func (c *Config) Redacted() map[string]string {
	out := make(map[string]string, len(c.Raw))
	for k, v := range c.Raw {
		if isSecretKey(k) && v != "" {
			v = "******"
		}
		out[k] = v
	}
	return out
}

// isSecretKey reports whether a key holds a secret (secretKey,
// accessKeySecret, token, password).
func isSecretKey(key string) bool {
	k := strings.ToLower(key)
	return strings.Contains(k, "secret") || strings.Contains(k, "token") || strings.Contains(k, "password")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---- ${key} expansion ----

// expand returns values[key] with every ${name} replaced by the expanded
// value of name. stack holds the keys being expanded, to report cycles.
func expand(key string, values, done map[string]string, stack []string) (string, error) {
	if v, ok := done[key]; ok {
		return v, nil
	}
	if i := slices.Index(stack, key); i >= 0 {
		return "", fmt.Errorf("${} references form a cycle: %s", strings.Join(append(stack[i:], key), " -> "))
	}
	stack = append(stack, key)
	v := values[key]
	var b strings.Builder
	for {
		i := strings.Index(v, "${")
		if i < 0 {
			b.WriteString(v)
			break
		}
		j := strings.IndexByte(v[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("unterminated ${ in %q", values[key])
		}
		name := v[i+2 : i+j]
		if _, ok := values[name]; !ok {
			return "", fmt.Errorf("${%s} refers to a key that is not set", name)
		}
		sub, err := expand(name, values, done, stack)
		if err != nil {
			return "", err
		}
		b.WriteString(v[:i])
		b.WriteString(sub)
		v = v[i+j+1:]
	}
	return b.String(), nil
}

// ---- value parsers ----

// absPath makes a directory path absolute against the working directory.
func absPath(v string) (string, error) {
	if v == "" {
		return "", errors.New("want a directory path")
	}
	return filepath.Abs(v)
}

// normalizeUFS checks a root UFS URI and makes a local one absolute:
// file://./data/ufs and ./data/ufs both become file:///cwd/data/ufs.
func normalizeUFS(v string) (string, error) {
	const want = "want file:///path, oss://bucket[/dir] or s3://bucket[/dir]"
	scheme, rest, ok := strings.Cut(v, "://")
	if !ok {
		if strings.Contains(v, ":") || v == "" {
			return v, errors.New(want)
		}
		scheme, rest = "file", v // a bare path is a local directory
	}
	switch scheme {
	case "file":
		if rest == "" {
			return v, errors.New(want)
		}
		p, err := filepath.Abs(rest)
		if err != nil {
			return v, err
		}
		return "file://" + p, nil
	case "oss", "s3":
		bucket, _, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return v, fmt.Errorf("no bucket: %s", want)
		}
		return v, nil
	}
	return v, fmt.Errorf("unsupported scheme %q: %s", scheme, want)
}

// checkAddress accepts host:port with a numeric port; an empty host means
// every interface.
func checkAddress(v string) error {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		return fmt.Errorf("want host:port such as 127.0.0.1:19999: %w", err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("want host:port with a port from 0 to 65535, not %q", port)
	}
	return nil
}

// isLoopback reports whether a host:port listens on loopback only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// oneOf returns v when it is one of allowed.
// parseFuseOptions reads hoard.fuse.mount.options: a comma-separated list
// of writetype=TYPE and readtype=TYPE.
func parseFuseOptions(c *Config, v string) (string, error) {
	c.FuseWriteType, c.FuseReadType = "", ""
	var norm []string
	for _, opt := range strings.Split(v, ",") {
		opt = strings.TrimSpace(opt)
		if opt == "" {
			continue
		}
		k, val, _ := strings.Cut(opt, "=")
		var err error
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "writetype":
			c.FuseWriteType, err = oneOf(strings.ToUpper(strings.TrimSpace(val)), writeTypes)
			opt = "writetype=" + c.FuseWriteType
		case "readtype":
			c.FuseReadType, err = oneOf(strings.ToUpper(strings.TrimSpace(val)), readTypes)
			opt = "readtype=" + c.FuseReadType
		default:
			err = errors.New("want a comma-separated list of writetype=TYPE and readtype=TYPE")
		}
		if err != nil {
			return v, fmt.Errorf("%q: %w", opt, err)
		}
		norm = append(norm, opt)
	}
	return strings.Join(norm, ","), nil
}

func oneOf(v string, allowed []string) (string, error) {
	if slices.Contains(allowed, v) {
		return v, nil
	}
	return v, fmt.Errorf("want one of %s", strings.Join(allowed, ", "))
}

var sizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)$`)

// sizeUnits are 1024-based, as in Alluxio: 1KB = 1KiB = 1024 bytes.
var sizeUnits = map[string]int64{
	"": 1, "b": 1,
	"k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10,
	"m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
	"g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
	"t": 1 << 40, "tb": 1 << 40, "tib": 1 << 40,
	"p": 1 << 50, "pb": 1 << 50, "pib": 1 << 50,
}

// parseSize reads 10GB, 512MB, 4MiB, 1.5TB or plain bytes.
func parseSize(v string) (int64, error) {
	const want = "want a size such as 10GB, 512MB, 4MiB or a number of bytes (units are 1024-based)"
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(v))
	if m == nil {
		return 0, errors.New(want)
	}
	unit, ok := sizeUnits[strings.ToLower(m[2])]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q: %s", m[2], want)
	}
	if n, err := strconv.ParseInt(m[1], 10, 64); err == nil {
		if n > math.MaxInt64/unit {
			return 0, errors.New("size too large")
		}
		return n * unit, nil
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil || f*float64(unit) >= math.MaxInt64 {
		return 0, errors.New(want)
	}
	return int64(f * float64(unit)), nil
}

var intervalRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)$`)

// intervalUnits are Alluxio's time units.
var intervalUnits = map[string]time.Duration{
	"ms": time.Millisecond, "msec": time.Millisecond, "millisecond": time.Millisecond, "milliseconds": time.Millisecond,
	"s": time.Second, "sec": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
}

// parseInterval reads -1 (never), 0 (always), a number of milliseconds, a
// Go duration (1m30s) or an Alluxio one (1min, 5sec, 2hr, 1day).
func parseInterval(v string) (time.Duration, error) {
	const want = "want -1 (never), 0 (on every access), milliseconds, or a duration such as 30s, 1min or 1h"
	v = strings.TrimSpace(v)
	if v == "-1" {
		return SyncNever, nil
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > math.MaxInt64/int64(time.Millisecond) {
			return 0, errors.New(want)
		}
		return time.Duration(n) * time.Millisecond, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return 0, errors.New(want)
		}
		return d, nil
	}
	m := intervalRE.FindStringSubmatch(v)
	if m == nil {
		return 0, errors.New(want)
	}
	unit, ok := intervalUnits[strings.ToLower(m[2])]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q: %s", m[2], want)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil || f*float64(unit) >= math.MaxInt64 {
		return 0, errors.New(want)
	}
	return time.Duration(f * float64(unit)), nil
}

// ---- typo suggestions ----

// suggest returns ` (did you mean "x"?)` for a key close to a known one,
// or for an Alluxio key whose Hoard name differs only in the prefix.
func suggest(key string) string {
	names := slices.Clone(ufsOptionKeys)
	for _, k := range configKeys {
		names = append(names, k.name)
	}
	if rest, ok := strings.CutPrefix(key, "alluxio."); ok && slices.Contains(names, "hoard."+rest) {
		return fmt.Sprintf(" (did you mean %q?)", "hoard."+rest)
	}
	best, bestDist := "", math.MaxInt
	for _, name := range names {
		if d := editDistance(strings.ToLower(key), strings.ToLower(name)); d < bestDist {
			best, bestDist = name, d
		}
	}
	if bestDist <= max(2, len(key)/6) {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// ---- Java properties syntax ----

// property is one key = value of a properties file; line is where its
// logical line starts.
type property struct {
	key, value string
	line       int
}

// parseProperties reads the java.util.Properties format: key=value,
// key: value or key value; # and ! comment lines; a backslash at the end of
// a line continues it (leading blanks of the next line are dropped); the
// escapes \t \n \r \f \\ \uXXXX, and \c for any other c. Unlike Java,
// unescaped blanks at the end of a value are dropped too: a trailing space
// in "quota = 10GB " is never what was meant.
func parseProperties(data string) ([]property, error) {
	lines := splitLines(data)
	var props []property
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := trimBlanksLeft(lines[i])
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue // comment lines are never continued
		}
		for continues(line) {
			line = line[:len(line)-1]
			if i+1 == len(lines) {
				break // a backslash at the very end is dropped, as in Java
			}
			i++
			line += trimBlanksLeft(lines[i])
		}
		rawKey, rawValue := splitKeyValue(line)
		key, err := unescape(rawKey)
		if err != nil {
			return nil, fmt.Errorf("line %d: key: %w", start, err)
		}
		value, err := unescape(trimBlanksRight(rawValue))
		if err != nil {
			return nil, fmt.Errorf("line %d: value of %q: %w", start, key, err)
		}
		props = append(props, property{key: key, value: value, line: start})
	}
	return props, nil
}

// splitLines splits at \n, \r\n and \r, as Java does.
func splitLines(data string) []string {
	var lines []string
	for len(data) > 0 {
		i := strings.IndexAny(data, "\r\n")
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i])
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++
		}
		data = data[i+1:]
	}
	return lines
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\f' }

func trimBlanksLeft(s string) string { return strings.TrimLeft(s, " \t\f") }

// trimBlanksRight drops trailing blanks that are not escaped.
func trimBlanksRight(s string) string {
	end := 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\':
			i++
			end = min(i+1, len(s))
		case !isBlank(s[i]):
			end = i + 1
		}
	}
	return s[:end]
}

// continues reports whether a line ends in an odd number of backslashes.
func continues(line string) bool {
	n := 0
	for i := len(line) - 1; i >= 0 && line[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// splitKeyValue splits a logical line at the first unescaped '=', ':' or
// blank; blanks around the separator are skipped.
func splitKeyValue(line string) (key, value string) {
	i := 0
	for i < len(line) {
		c := line[i]
		if c == '\\' {
			i += 2
			continue
		}
		if c == '=' || c == ':' || isBlank(c) {
			break
		}
		i++
	}
	if i > len(line) {
		i = len(line)
	}
	key, rest := line[:i], line[i:]
	rest = trimBlanksLeft(rest)
	if rest != "" && (rest[0] == '=' || rest[0] == ':') {
		rest = trimBlanksLeft(rest[1:])
	}
	return key, rest
}

// unescape resolves the escapes of the properties format.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i == len(s) {
			break
		}
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'f':
			b.WriteByte('\f')
		case 'u':
			r, ok := hex4(s[i+1:])
			if !ok {
				return "", fmt.Errorf(`malformed \uxxxx escape in %q`, s)
			}
			i += 4
			// A UTF-16 surrogate pair arrives as two escapes.
			if utf16.IsSurrogate(r) && i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				if r2, ok := hex4(s[i+3:]); ok {
					if pair := utf16.DecodeRune(r, r2); pair != utf8.RuneError {
						r = pair
						i += 6
					}
				}
			}
			b.WriteRune(r)
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), nil
}

// hex4 decodes the four hex digits at the start of s.
func hex4(s string) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(s[:4], 16, 32)
	if err != nil {
		return 0, false
	}
	return rune(n), true
}
