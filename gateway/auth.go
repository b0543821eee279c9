package gateway

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hoardfs/hoard/store"
)

// Authentication.
//
// Four ways to sign a request are recognized: Signature V4 in the
// Authorization header or in the query (presigned URL), and Signature V2
// likewise. With no keys configured none is verified: the access key id
// only names the user, as in Alluxio (`Authorization: AWS testuser:`). With
// keys every request must carry one that verifies, or it is refused before
// anything is read or changed.
//
// Clients that are given http://host/api/v1/s3 as their endpoint disagree
// on what path they sign: most sign the path they send, s3cmd and s3fs the
// path without the prefix. Both are accepted, each in the client's own
// encoding and in AWS's canonical one.

const (
	algoV4                   = "AWS4-HMAC-SHA256"
	unsignedPayload          = "UNSIGNED-PAYLOAD"
	streamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	streamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	emptySHA256              = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	amzDateFormat            = "20060102T150405Z"
	maxSkew                  = 15 * time.Minute
)

// authInfo is what a verified V4 signature leaves to verify the chunk
// signatures of an aws-chunked body with.
type authInfo struct {
	signingKey []byte
	amzDate    string
	scope      string
	seedSig    string
}

func (s *server) keysConfigured() bool { return s.opts.AccessKey != "" || s.opts.SecretKey != "" }

// authenticate identifies (and with keys, verifies) the request's signer,
// and prepares its body.
func (s *server) authenticate(q *request) error {
	r := q.r
	verify := s.keysConfigured()
	authz := r.Header.Get("Authorization")
	var err error
	switch {
	case strings.HasPrefix(authz, algoV4+" "):
		err = s.authV4(q, authz, verify)
	case strings.HasPrefix(authz, "AWS "):
		err = s.authV2(q, authz, verify)
	case q.query.Get("X-Amz-Algorithm") != "":
		err = s.authV4Query(q, verify)
	case q.query.Has("AWSAccessKeyId"):
		err = s.authV2Query(q, verify)
	case verify && authz != "":
		err = errorf(ErrAuthorizationMalformed, "Unsupported Authorization scheme; use %s or AWS.", algoV4)
	case isFormPost(q):
		// POST Object: the signature is in the form (object_post.go).
	case verify:
		err = errorf(ErrAccessDenied, "Access Denied: the request is not signed, and this gateway requires signatures.")
	}
	if err != nil {
		return err
	}
	q.cred = store.Cred{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), Owner: q.user}
	return s.prepareBody(q)
}

// credential is the parsed Credential of a V4 signature.
type credential struct {
	akid, date, region, service string
}

func (c credential) scope() string {
	return c.date + "/" + c.region + "/" + c.service + "/aws4_request"
}

func parseCredential(v string) (credential, bool) {
	p := strings.Split(v, "/")
	if len(p) < 5 || p[len(p)-1] != "aws4_request" {
		return credential{}, false
	}
	// The access key id is everything before the scope's four fields.
	n := len(p)
	return credential{akid: strings.Join(p[:n-4], "/"), date: p[n-4], region: p[n-3], service: p[n-2]}, true
}

// parseV4Authz splits "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=...".
func parseV4Authz(authz string) (cred credential, signed []string, sig string, err error) {
	rest := strings.TrimPrefix(authz, algoV4)
	var credStr, signedStr string
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		switch k {
		case "Credential":
			credStr = v
		case "SignedHeaders":
			signedStr = v
		case "Signature":
			sig = v
		}
	}
	c, ok := parseCredential(credStr)
	if !ok {
		return credential{}, nil, "", errorf(ErrAuthorizationMalformed, "The authorization header is malformed; the Credential is mal-formed; expecting \"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".")
	}
	if signedStr == "" || sig == "" {
		return c, nil, "", errorf(ErrAuthorizationMalformed, "The authorization header is malformed; it must name SignedHeaders and Signature.")
	}
	return c, strings.Split(signedStr, ";"), sig, nil
}

func (s *server) checkAccessKey(akid string) error {
	if akid != s.opts.AccessKey {
		return ErrInvalidAccessKeyID
	}
	return nil
}

// authV4 handles a V4 signature in the Authorization header.
func (s *server) authV4(q *request, authz string, verify bool) error {
	c, signed, sig, err := parseV4Authz(authz)
	if err != nil && (verify || c.akid == "") {
		return err
	}
	q.user = c.akid
	if !verify {
		return nil
	}
	if err := s.checkAccessKey(c.akid); err != nil {
		return err
	}
	r := q.r
	amzDate := r.Header.Get("X-Amz-Date")
	t, perr := time.Parse(amzDateFormat, amzDate)
	if perr != nil {
		if t, perr = parseDate(r.Header.Get("Date")); perr != nil {
			return errorf(ErrAccessDenied, "AWS authentication requires a valid Date or x-amz-date header")
		}
		amzDate = t.UTC().Format(amzDateFormat)
	}
	if d := time.Since(t); d > maxSkew || d < -maxSkew {
		return ErrRequestTimeTooSkewed
	}
	payload := r.Header.Get("X-Amz-Content-Sha256")
	if payload == "" {
		// Signers that omit the header hash the payload themselves; only
		// an empty one can be checked without reading it.
		payload = emptySHA256
		if r.ContentLength != 0 {
			payload = unsignedPayload
		}
	}
	return s.checkV4(q, c, signed, sig, amzDate, canonicalQuery(q.query, ""), payload)
}

// checkV4 verifies a V4 signature against every canonical request a
// client may have built: the path with and without /api/v1/s3, and the
// Host as sent or, as s3cmd signs it, with the prefix appended.
func (s *server) checkV4(q *request, c credential, signed []string, sig, amzDate, query, payload string) error {
	key := signingKeyV4(s.opts.SecretKey, c)
	hosts := []string{q.r.Host}
	if q.prefixed {
		hosts = append(hosts, q.r.Host+alluxioPrefix)
	}
	for _, host := range hosts {
		headers := canonicalHeaders(q.r, signed, host)
		for _, uri := range uriCandidates(q, true) {
			creq := strings.Join([]string{q.r.Method, uri, query, headers, strings.Join(signed, ";"), payload}, "\n")
			sts := algoV4 + "\n" + amzDate + "\n" + c.scope() + "\n" + sha256Hex(creq)
			if hmac.Equal([]byte(sig), []byte(hex.EncodeToString(hmacSHA256(key, sts)))) {
				q.auth = &authInfo{signingKey: key, amzDate: amzDate, scope: c.scope(), seedSig: sig}
				return nil
			}
		}
	}
	return ErrSignatureDoesNotMatch
}

// authV4Query handles a presigned V4 URL.
func (s *server) authV4Query(q *request, verify bool) error {
	c, ok := parseCredential(q.query.Get("X-Amz-Credential"))
	if !ok {
		return ErrAuthQueryMalformed
	}
	q.user = c.akid
	if !verify {
		return nil
	}
	if q.query.Get("X-Amz-Algorithm") != algoV4 {
		return errorf(ErrAuthQueryMalformed, "X-Amz-Algorithm only supports \"%s\"", algoV4)
	}
	if err := s.checkAccessKey(c.akid); err != nil {
		return err
	}
	amzDate := q.query.Get("X-Amz-Date")
	t, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return errorf(ErrAuthQueryMalformed, "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	exp, err := strconv.Atoi(q.query.Get("X-Amz-Expires"))
	if err != nil || exp < 0 || exp > 7*24*3600 {
		return errorf(ErrAuthQueryMalformed, "X-Amz-Expires must be a number of seconds between 0 and 604800")
	}
	now := time.Now()
	if now.After(t.Add(time.Duration(exp) * time.Second)) {
		return ErrExpiredPresignedRequest
	}
	if t.After(now.Add(maxSkew)) {
		return ErrPresignedNotYetValid
	}
	signed := strings.Split(q.query.Get("X-Amz-SignedHeaders"), ";")
	sig := q.query.Get("X-Amz-Signature")
	payload := unsignedPayload
	if v := q.query.Get("X-Amz-Content-Sha256"); v != "" {
		payload = v
	} else if v := q.r.Header.Get("X-Amz-Content-Sha256"); v != "" {
		payload = v
	}
	return s.checkV4(q, c, signed, sig, amzDate, canonicalQuery(q.query, "X-Amz-Signature"), payload)
}

// authV2 handles "Authorization: AWS akid:signature".
func (s *server) authV2(q *request, authz string, verify bool) error {
	akid, sig, ok := strings.Cut(strings.TrimPrefix(authz, "AWS "), ":")
	if !ok && verify {
		return errorf(ErrAuthorizationMalformed, "The authorization header is malformed; expecting \"AWS <AKID>:<signature>\".")
	}
	q.user = strings.TrimSpace(akid)
	if !verify {
		return nil
	}
	if err := s.checkAccessKey(q.user); err != nil {
		return err
	}
	r := q.r
	date := r.Header.Get("Date")
	if v := r.Header.Get("X-Amz-Date"); v != "" {
		date = v
	}
	t, err := parseDate(date)
	if err != nil {
		return errorf(ErrAccessDenied, "AWS authentication requires a valid Date or x-amz-date header")
	}
	if d := time.Since(t); d > maxSkew || d < -maxSkew {
		return ErrRequestTimeTooSkewed
	}
	// With x-amz-date the Date line is empty; some signers put the date
	// there all the same.
	dates := []string{r.Header.Get("Date")}
	if r.Header.Get("X-Amz-Date") != "" {
		dates = []string{"", r.Header.Get("Date"), r.Header.Get("X-Amz-Date")}
	}
	if s.checkV2(q, sig, dates) {
		return nil
	}
	return ErrSignatureDoesNotMatch
}

// authV2Query handles a presigned V2 URL (AWSAccessKeyId, Expires,
// Signature).
func (s *server) authV2Query(q *request, verify bool) error {
	q.user = q.query.Get("AWSAccessKeyId")
	if !verify {
		return nil
	}
	if err := s.checkAccessKey(q.user); err != nil {
		return err
	}
	expires := q.query.Get("Expires")
	e, err := strconv.ParseInt(expires, 10, 64)
	if err != nil {
		return errorf(ErrAccessDenied, "Query-string authentication requires the Signature, Expires and AWSAccessKeyId parameters")
	}
	if time.Now().Unix() > e {
		return ErrExpiredPresignedRequest
	}
	if s.checkV2(q, q.query.Get("Signature"), []string{expires}) {
		return nil
	}
	return ErrSignatureDoesNotMatch
}

// checkV2 verifies a V2 signature against every form of the string to
// sign that a client may have used.
func (s *server) checkV2(q *request, sig string, dates []string) bool {
	r := q.r
	want, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	amz := canonicalAmzHeadersV2(r)
	sub := subresourcesV2(q)
	for _, date := range dates {
		head := r.Method + "\n" + r.Header.Get("Content-Md5") + "\n" + r.Header.Get("Content-Type") + "\n" + date + "\n" + amz
		for _, uri := range uriCandidates(q, false) {
			m := hmac.New(sha1.New, []byte(s.opts.SecretKey))
			m.Write([]byte(head + uri + sub))
			if hmac.Equal(m.Sum(nil), want) {
				return true
			}
		}
	}
	return false
}

// subresourcesV2 are the query parameters that V2 signs, sorted.
var v2Subresources = map[string]bool{
	"acl": true, "cors": true, "delete": true, "lifecycle": true, "location": true, "logging": true,
	"notification": true, "partNumber": true, "policy": true, "requestPayment": true, "restore": true,
	"tagging": true, "torrent": true, "uploadId": true, "uploads": true, "versionId": true,
	"versioning": true, "versions": true, "website": true, "select": true, "select-type": true,
	"replication": true, "encryption": true, "object-lock": true, "retention": true, "legal-hold": true,
	"accelerate": true, "response-cache-control": true, "response-content-disposition": true,
	"response-content-encoding": true, "response-content-language": true, "response-content-type": true,
	"response-expires": true,
}

func subresourcesV2(q *request) string {
	var keys []string
	for k := range q.query {
		if v2Subresources[k] {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(k)
		if v := q.query.Get(k); v != "" {
			b.WriteString("=" + v)
		}
	}
	return b.String()
}

func canonicalAmzHeadersV2(r *http.Request) string {
	var names []string
	for k := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-amz-") {
			names = append(names, lk)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		var vals []string
		for _, v := range r.Header.Values(n) {
			vals = append(vals, strings.TrimSpace(v))
		}
		b.WriteString(n + ":" + strings.Join(vals, ",") + "\n")
	}
	return b.String()
}

// uriCandidates are the paths a client may have signed: with and without
// the /api/v1/s3 prefix (when it sent it), each as sent and in AWS's
// canonical encoding. V4 signs the encoded path; V2 the path as sent.
func uriCandidates(q *request, v4 bool) []string {
	raw := q.r.RequestURI
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[:i]
	}
	if strings.HasPrefix(raw, "http://") || strings.HasPrefix(raw, "https://") {
		// Absolute-form request target (proxies).
		if u := strings.Index(raw[8:], "/"); u >= 0 {
			raw = raw[8+u:]
		}
	}
	forms := []string{awsEncodePath(q.r.URL.Path), raw}
	if !v4 {
		forms = []string{raw, q.r.URL.Path, awsEncodePath(q.r.URL.Path)}
	}
	if q.prefixed {
		for _, f := range forms {
			if rest, ok := strings.CutPrefix(f, alluxioPrefix); ok {
				if rest == "" {
					rest = "/"
				}
				forms = append(forms, rest)
			}
		}
	}
	out := forms[:0]
	seen := map[string]bool{}
	for _, f := range forms {
		if f != "" && !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// awsEncode percent-encodes s as SigV4 wants: every byte but the
// unreserved ones (and '/' when keepSlash).
func awsEncode(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~' || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func awsEncodePath(p string) string { return awsEncode(p, true) }

// canonicalQuery is SigV4's canonical query string, without param skip.
func canonicalQuery(v map[string][]string, skip string) string {
	type kv struct{ k, v string }
	var pairs []kv
	for k, vs := range v {
		if k == skip {
			continue
		}
		ek := awsEncode(k, false)
		for _, val := range vs {
			pairs = append(pairs, kv{ek, awsEncode(val, false)})
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		if pairs[i].k != pairs[j].k {
			return pairs[i].k < pairs[j].k
		}
		return pairs[i].v < pairs[j].v
	})
	var b strings.Builder
	for i, p := range pairs {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.k + "=" + p.v)
	}
	return b.String()
}

// canonicalHeaders is SigV4's canonical headers block for the signed
// header names, each line ending in "\n", with host as the Host.
func canonicalHeaders(r *http.Request, signed []string, host string) string {
	var b strings.Builder
	for _, name := range signed {
		name = strings.ToLower(strings.TrimSpace(name))
		var vals []string
		switch name {
		case "host":
			vals = []string{host}
		case "content-length":
			vals = r.Header.Values("Content-Length")
			if len(vals) == 0 && r.ContentLength >= 0 {
				vals = []string{strconv.FormatInt(r.ContentLength, 10)}
			}
		case "transfer-encoding":
			vals = r.TransferEncoding
		default:
			vals = r.Header.Values(name)
		}
		clean := make([]string, len(vals))
		for i, v := range vals {
			clean[i] = strings.Join(strings.Fields(v), " ")
		}
		b.WriteString(name + ":" + strings.Join(clean, ",") + "\n")
	}
	return b.String()
}

// parseDate parses the dates signers send: HTTP dates, with a numeric zone
// as s3cmd writes them, or ISO 8601 basic.
func parseDate(s string) (time.Time, error) {
	if t, err := http.ParseTime(s); err == nil {
		return t, nil
	}
	for _, f := range []string{time.RFC1123Z, time.RFC1123, amzDateFormat} {
		if t, err := time.Parse(f, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unrecognized date %q", s)
}

func signingKeyV4(secret string, c credential) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), c.date)
	k = hmacSHA256(k, c.region)
	k = hmacSHA256(k, c.service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}
