package s3

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// The option keys Open reads, as in Alluxio's fs.s3.* and Hoard's CONTRACT.
const (
	KeyAccessKeyID = "fs.s3.accessKeyId"
	KeySecretKey   = "fs.s3.secretKey"
	// KeyEndpoint is host[:port] (HTTPS) or a URL http(s)://host[:port].
	KeyEndpoint = "fs.s3.endpoint"
	// KeyRegion is optional: without it minio-go asks the bucket's location.
	KeyRegion = "fs.s3.region"
)

// Keys lists every option key Open understands.
func Keys() []string {
	return []string{KeyAccessKeyID, KeySecretKey, KeyEndpoint, KeyRegion}
}

// options is what Open needs from the fs.s3.* keys.
type options struct {
	accessKey, secretKey string
	endpoint             string // as given, for messages
	host                 string // host[:port] for minio.New
	secure               bool
	pathStyle            bool
	region               string
}

// parseOptions validates the fs.s3.* keys. Errors name the key and, except
// for secrets, the value.
func parseOptions(opts map[string]string) (options, error) {
	known := map[string]bool{}
	for _, k := range Keys() {
		known[k] = true
	}
	var unknown []string
	for k := range opts {
		if strings.HasPrefix(k, "fs.s3.") && !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return options{}, fmt.Errorf("unknown option %s (known: %s)", strings.Join(unknown, ", "), strings.Join(Keys(), ", "))
	}

	var o options
	o.accessKey = strings.TrimSpace(opts[KeyAccessKeyID])
	o.secretKey = strings.TrimSpace(opts[KeySecretKey])
	o.endpoint = strings.TrimSpace(opts[KeyEndpoint])
	o.region = strings.TrimSpace(opts[KeyRegion])
	for _, req := range []struct{ key, val string }{
		{KeyEndpoint, o.endpoint},
		{KeyAccessKeyID, o.accessKey},
		{KeySecretKey, o.secretKey},
	} {
		if req.val == "" {
			return options{}, fmt.Errorf("option %s is required", req.key)
		}
	}
	var err error
	o.host, o.secure, o.pathStyle, err = parseEndpoint(o.endpoint)
	if err != nil {
		return options{}, fmt.Errorf("option %s=%q: %w", KeyEndpoint, o.endpoint, err)
	}
	return o, nil
}

// parseEndpoint accepts host, host:port, or http(s)://host[:port][/]. A bare
// host means HTTPS. Buckets are addressed by path for IP addresses, for
// localhost and for plain-HTTP URLs with a port (a local MinIO or test
// server has no wildcard DNS); elsewhere minio-go decides (virtual host for
// AWS and other clouds that need it, path otherwise).
func parseEndpoint(v string) (host string, secure, pathStyle bool, err error) {
	secure = true
	explicitHTTP := false
	if scheme, _, ok := strings.Cut(v, "://"); ok {
		u, perr := url.Parse(v)
		if perr != nil {
			return "", false, false, fmt.Errorf("not a URL: %w", perr)
		}
		switch strings.ToLower(scheme) {
		case "https":
		case "http":
			secure, explicitHTTP = false, true
		default:
			return "", false, false, fmt.Errorf("scheme %q is not http or https", scheme)
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "" {
			return "", false, false, fmt.Errorf("want http(s)://host[:port] with no path, query or credentials")
		}
		v = u.Host
	} else if strings.ContainsAny(v, "/?#@") {
		return "", false, false, fmt.Errorf("want host[:port] or http(s)://host[:port]")
	}
	if v == "" || strings.ContainsAny(v, " \t") {
		return "", false, false, fmt.Errorf("empty or blank host")
	}

	hostname, port := v, ""
	if h, p, serr := net.SplitHostPort(v); serr == nil {
		hostname, port = h, p
		n, perr := strconv.Atoi(p)
		if perr != nil || n < 1 || n > 65535 {
			return "", false, false, fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
	} else if strings.Count(v, ":") == 1 || strings.HasPrefix(v, "[") {
		// "host:" or "host:abc" or a malformed IPv6 literal.
		return "", false, false, fmt.Errorf("malformed host:port: %v", serr)
	}
	if hostname == "" {
		return "", false, false, fmt.Errorf("empty host")
	}
	ip := net.ParseIP(strings.Trim(hostname, "[]"))
	pathStyle = ip != nil || strings.EqualFold(hostname, "localhost") || (explicitHTTP && port != "")
	return v, secure, pathStyle, nil
}
