package oss

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Option keys, as Alluxio names them (fs.oss.accessKeyId, ...) plus Hoard's
// own tuning keys. Mount options use the same keys.
const (
	KeyAccessKeyID     = "fs.oss.accessKeyId"
	KeyAccessKeySecret = "fs.oss.accessKeySecret"
	// KeyEndpoint is a host ("oss-cn-hangzhou.aliyuncs.com", reached over
	// https) or a URL ("http://127.0.0.1:9000").
	KeyEndpoint = "fs.oss.endpoint"
	// KeySecurityToken is an STS token, for temporary credentials.
	KeySecurityToken = "fs.oss.securityToken"
	// KeySignatureVersion is "v1" (default) or "v4".
	KeySignatureVersion = "fs.oss.signatureVersion"
	// KeyRegion ("cn-hangzhou") is what V4 signatures name. Derived from
	// an oss-<region>[-internal].aliyuncs.com endpoint when not set.
	KeyRegion = "fs.oss.region"
	// KeyPathStyle is "true" to address buckets as /bucket/key rather than
	// as bucket.endpoint. Default: true for an IP or localhost endpoint.
	KeyPathStyle = "fs.oss.pathStyle"
	// KeyMultipartThreshold: a Put larger than this is a multipart upload.
	KeyMultipartThreshold = "fs.oss.multipart.threshold"
	// KeyMultipartPartSize is the size of each uploaded part.
	KeyMultipartPartSize = "fs.oss.multipart.partSize"
	// KeyMultipartConcurrency is how many parts one Put uploads at once;
	// it also bounds its memory: concurrency × partSize.
	KeyMultipartConcurrency = "fs.oss.multipart.concurrency"
	// KeyCopyThreshold: a Copy of an object larger than this uses
	// UploadPartCopy. OSS's CopyObject stops at 1 GiB.
	KeyCopyThreshold = "fs.oss.multipart.copyThreshold"
	// KeyCopyPartSize is the size of each UploadPartCopy part.
	KeyCopyPartSize = "fs.oss.multipart.copyPartSize"
	// KeySocketTimeout is how long a connection in use may stay silent (no
	// byte read, none handed to the kernel to send) before the call fails
	// with a retryable timeout, so that a stalled server fails the call
	// instead of hanging it. It covers the wait for an answer once the
	// request is sent, so it must exceed the time OSS takes to answer the
	// slowest request (a large CopyObject). Alluxio's counterpart is
	// alluxio.underfs.oss.socket.timeout, and its values ("50sec") work.
	KeySocketTimeout = "fs.oss.socket.timeout"
)

// Defaults and limits of OSS multipart uploads.
const (
	DefaultMultipartThreshold   = 64 << 20
	DefaultMultipartPartSize    = 8 << 20
	DefaultMultipartConcurrency = 4
	DefaultCopyThreshold        = 1 << 30
	DefaultCopyPartSize         = 256 << 20
	DefaultSocketTimeout        = 2 * time.Minute

	minPartSize = 100 << 10 // OSS refuses smaller parts, except the last
	maxPartSize = 5 << 30
	maxParts    = 10000
)

var knownKeys = []string{
	KeyAccessKeyID, KeyAccessKeySecret, KeyEndpoint, KeySecurityToken, KeySignatureVersion,
	KeyRegion, KeyPathStyle, KeyMultipartThreshold, KeyMultipartPartSize,
	KeyMultipartConcurrency, KeyCopyThreshold, KeyCopyPartSize, KeySocketTimeout,
}

// Keys lists every option key Open understands.
func Keys() []string { return slices.Clone(knownKeys) }

// config is Open's parsed input. It holds the secret: never print it.
type config struct {
	bucket   string
	prefix   string // "" or "dir/" (ends with "/")
	endpoint string // "https://host" or "http://host:port", no path
	host     string // the endpoint's host name, without port

	accessKeyID, accessKeySecret, securityToken string

	v4        bool
	region    string
	pathStyle bool

	threshold, partSize     int64
	concurrency             int
	copyThreshold, copyPart int64

	socketTimeout time.Duration
}

// bucketName is OSS's rule: 3-63 lowercase letters, digits and hyphens,
// starting and ending with a letter or digit.
var bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$`)

// parseURI splits "oss://bucket" or "oss://bucket/dir/" into the bucket and
// the key prefix ("" or "dir/").
func parseURI(uri string) (bucket, prefix string, err error) {
	u, err := url.Parse(uri)
	if err != nil {
		// url.Parse's error quotes the whole URI, password and all.
		return "", "", fmt.Errorf("oss: UFS URI is malformed; want oss://bucket or oss://bucket/dir")
	}
	shown := uri
	if u.User != nil {
		shown = u.Redacted()
	}
	if !strings.EqualFold(u.Scheme, "oss") {
		return "", "", fmt.Errorf("oss: UFS URI %q: scheme must be oss://", shown)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Port() != "" {
		return "", "", fmt.Errorf("oss: UFS URI %q: want oss://bucket/dir, without user, port, query or fragment (credentials go in %s and %s)", shown, KeyAccessKeyID, KeyAccessKeySecret)
	}
	if !bucketName.MatchString(u.Host) {
		return "", "", fmt.Errorf("oss: UFS URI %q: %q is not a valid bucket name (3-63 lowercase letters, digits or '-')", shown, u.Host)
	}
	dir := strings.Trim(u.Path, "/")
	if dir == "" {
		return u.Host, "", nil
	}
	for _, seg := range strings.Split(dir, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", "", fmt.Errorf("oss: UFS URI %q: directory %q has an empty, \".\" or \"..\" segment", shown, dir)
		}
	}
	return u.Host, dir + "/", nil
}

// parseEndpoint turns fs.oss.endpoint into a base URL. A bare host means
// https, as Alluxio's endpoints are public OSS hosts.
func parseEndpoint(v string) (endpoint, host string, err error) {
	raw := strings.TrimSpace(v)
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	shown := v
	if err == nil && u.User != nil {
		shown = u.Redacted() // a password has no business here, nor in a message
	}
	bad := func(why string) (string, string, error) {
		return "", "", fmt.Errorf("oss: %s %q is malformed: %s; want a host such as oss-cn-hangzhou.aliyuncs.com or a URL such as http://127.0.0.1:9000", KeyEndpoint, shown, why)
	}
	if err != nil {
		return bad("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return bad("scheme must be http or https")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return bad("only scheme, host and port are allowed")
	}
	host = u.Hostname()
	if host == "" || !validHost(host) {
		return bad("no valid host name")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad("invalid port")
		}
	}
	return u.Scheme + "://" + u.Host, host, nil
}

func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// regionOf derives the region from a public or internal OSS endpoint:
// oss-cn-hangzhou.aliyuncs.com and oss-cn-hangzhou-internal.aliyuncs.com
// are both cn-hangzhou.
func regionOf(host string) string {
	name, ok := strings.CutSuffix(strings.ToLower(host), ".aliyuncs.com")
	if !ok || !strings.HasPrefix(name, "oss-") || strings.Contains(name, ".") {
		return ""
	}
	return strings.TrimSuffix(strings.TrimPrefix(name, "oss-"), "-internal")
}

// parseSize reads a byte count: a plain number of bytes, or a number with
// a unit B, KB, MB, GB, TB (powers of 1024, as Alluxio reads them) or
// KiB, MiB, GiB, TiB.
func parseSize(key, v string) (int64, error) {
	s := strings.TrimSpace(v)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToUpper(strings.TrimSpace(s[i:]))
	}
	shift := map[string]uint{"": 0, "B": 0, "K": 10, "KB": 10, "KIB": 10, "M": 20, "MB": 20, "MIB": 20,
		"G": 30, "GB": 30, "GIB": 30, "T": 40, "TB": 40, "TIB": 40}
	sh, ok := shift[unit]
	f, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || f < 0 || num == "" {
		return 0, fmt.Errorf("oss: %s %q is not a size (bytes, or a number with B, KB, MB, GB or KiB, MiB, GiB)", key, v)
	}
	return int64(f * float64(uint64(1)<<sh)), nil
}

// parseConfig validates the URI and the options. Errors name the key and,
// except for secrets, the value.
func parseConfig(uri string, opts map[string]string) (*config, error) {
	c := &config{
		threshold: DefaultMultipartThreshold, partSize: DefaultMultipartPartSize,
		concurrency: DefaultMultipartConcurrency, copyThreshold: DefaultCopyThreshold, copyPart: DefaultCopyPartSize,
		socketTimeout: DefaultSocketTimeout,
	}
	var err error
	if c.bucket, c.prefix, err = parseURI(uri); err != nil {
		return nil, err
	}
	for k := range opts {
		if strings.HasPrefix(k, "fs.oss.") && !slices.Contains(knownKeys, k) {
			return nil, fmt.Errorf("oss: unknown option %s (known: %s)", k, strings.Join(knownKeys, ", "))
		}
	}
	for _, k := range []string{KeyAccessKeyID, KeyAccessKeySecret, KeyEndpoint} {
		if strings.TrimSpace(opts[k]) == "" {
			return nil, fmt.Errorf("oss: %s is required for %s and is not set", k, uri)
		}
	}
	c.accessKeyID = strings.TrimSpace(opts[KeyAccessKeyID])
	c.accessKeySecret = strings.TrimSpace(opts[KeyAccessKeySecret])
	c.securityToken = strings.TrimSpace(opts[KeySecurityToken])
	if c.endpoint, c.host, err = parseEndpoint(opts[KeyEndpoint]); err != nil {
		return nil, err
	}

	switch v := strings.ToLower(strings.TrimSpace(opts[KeySignatureVersion])); v {
	case "", "v1", "1":
	case "v4", "4":
		c.v4 = true
	default:
		return nil, fmt.Errorf("oss: %s %q is not supported: use v1 or v4", KeySignatureVersion, opts[KeySignatureVersion])
	}
	c.region = strings.TrimSpace(opts[KeyRegion])
	if c.region == "" {
		c.region = regionOf(c.host)
	}
	if c.v4 && c.region == "" {
		return nil, fmt.Errorf("oss: %s is required with %s v4 (it cannot be derived from %s %q)", KeyRegion, KeySignatureVersion, KeyEndpoint, opts[KeyEndpoint])
	}

	c.pathStyle = net.ParseIP(c.host) != nil || c.host == "localhost"
	if v, ok := opts[KeyPathStyle]; ok && strings.TrimSpace(v) != "" {
		if c.pathStyle, err = strconv.ParseBool(strings.TrimSpace(v)); err != nil {
			return nil, fmt.Errorf("oss: %s %q is not true or false", KeyPathStyle, v)
		}
	}

	sizes := []struct {
		key     string
		dst     *int64
		lo, hi  int64
		loLabel string
	}{
		{KeyMultipartThreshold, &c.threshold, 0, 5 << 30, "0"},
		{KeyMultipartPartSize, &c.partSize, minPartSize, maxPartSize, "100KiB (the OSS minimum)"},
		{KeyCopyThreshold, &c.copyThreshold, 0, 1 << 30, "0"},
		{KeyCopyPartSize, &c.copyPart, minPartSize, maxPartSize, "100KiB (the OSS minimum)"},
	}
	for _, s := range sizes {
		v, ok := opts[s.key]
		if !ok || strings.TrimSpace(v) == "" {
			continue
		}
		n, err := parseSize(s.key, v)
		if err != nil {
			return nil, err
		}
		if n < s.lo || n > s.hi {
			return nil, fmt.Errorf("oss: %s %q is out of range: from %s to %d bytes", s.key, v, s.loLabel, s.hi)
		}
		*s.dst = n
	}
	if v, ok := opts[KeyMultipartConcurrency]; ok && strings.TrimSpace(v) != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 || n > 128 {
			return nil, fmt.Errorf("oss: %s %q must be a number from 1 to 128", KeyMultipartConcurrency, v)
		}
		c.concurrency = n
	}
	if v, ok := opts[KeySocketTimeout]; ok && strings.TrimSpace(v) != "" {
		if c.socketTimeout, err = parseDuration(KeySocketTimeout, v); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// durationUnits are the units parseDuration takes besides Go's own.
var durationUnits = map[string]time.Duration{
	"MS": time.Millisecond, "MSEC": time.Millisecond,
	"S": time.Second, "SEC": time.Second,
	"M": time.Minute, "MIN": time.Minute,
	"H": time.Hour, "HR": time.Hour, "HOUR": time.Hour,
}

// parseDuration reads a timeout as Alluxio writes them: a plain number of
// milliseconds, or a number with a unit (50sec, 2min, 500ms); a Go
// duration (1m30s) works too. It must be from 1ms to 24h.
func parseDuration(key, v string) (time.Duration, error) {
	s := strings.TrimSpace(v)
	d, err := time.ParseDuration(s)
	if err != nil {
		i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
		num, unit := s, "MS"
		if i >= 0 {
			num, unit = s[:i], strings.ToUpper(strings.TrimSpace(s[i:]))
		}
		f, ferr := strconv.ParseFloat(num, 64)
		u, ok := durationUnits[unit]
		if ferr != nil || !ok || num == "" {
			return 0, fmt.Errorf("oss: %s %q is not a duration (milliseconds, or a number with ms, sec, min or h)", key, v)
		}
		d = time.Duration(f * float64(u))
	}
	if d < time.Millisecond || d > 24*time.Hour {
		return 0, fmt.Errorf("oss: %s %q is out of range: from 1ms to 24h", key, v)
	}
	return d, nil
}
