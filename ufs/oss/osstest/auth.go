package osstest

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// signedSubresources are the query parameters that take part in a V1
// signature's CanonicalizedResource; every other parameter is left out.
// This is OSS's list, as the Go SDK carries it (conn.go, signKeyList).
// It is read-only after package initialisation.
var signedSubresources = setOf("acl", "uploads", "location", "cors",
	"logging", "website", "referer", "lifecycle",
	"delete", "append", "tagging", "objectMeta",
	"uploadId", "partNumber", "security-token",
	"position", "img", "style", "styleName",
	"replication", "replicationProgress",
	"replicationLocation", "cname", "bucketInfo",
	"comp", "qos", "live", "status", "vod",
	"startTime", "endTime", "symlink",
	"x-oss-process", "response-content-type", "x-oss-traffic-limit",
	"response-content-language", "response-expires",
	"response-cache-control", "response-content-disposition",
	"response-content-encoding", "udf", "udfName", "udfImage",
	"udfId", "udfImageDesc", "udfApplication",
	"udfApplicationLog", "restore", "callback", "callback-var", "qosInfo",
	"policy", "stat", "encryption", "versions", "versioning", "versionId", "requestPayment",
	"x-oss-request-payer", "sequential",
	"inventory", "inventoryId", "continuation-token", "asyncFetch",
	"worm", "wormId", "wormExtend", "withHashContext",
	"x-oss-enable-md5", "x-oss-enable-sha1", "x-oss-enable-sha256",
	"x-oss-hash-ctx", "x-oss-md5-ctx", "transferAcceleration",
	"regionList", "cloudboxes", "x-oss-ac-source-ip", "x-oss-ac-subnet-mask", "x-oss-ac-vpc-id", "x-oss-ac-forward-allow",
	"metaQuery", "resourceGroup", "rtc", "x-oss-async-process", "responseHeader",
)

func setOf(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

const (
	v4Algorithm  = "OSS4-HMAC-SHA256"
	v4Terminator = "aliyun_v4_request"
	v4TimeFormat = "20060102T150405Z"
	v4DayFormat  = "20060102"
)

// target is what a request addresses, as the signature sees it.
type target struct {
	bucket string // "" for service-level requests (ListBuckets)
	key    string // "" for bucket-level requests
	query  url.Values
}

func errSignature() *ossError {
	return newErr(http.StatusForbidden, "SignatureDoesNotMatch",
		"The request signature we calculated does not match the signature you provided. Check your key and signing method.")
}

func errInvalidAccessKeyID(id string) *ossError {
	return newErr(http.StatusForbidden, "InvalidAccessKeyId",
		"The OSS Access Key Id you provided does not exist in our records.", "OSSAccessKeyId", id)
}

// authenticate verifies the Authorization header of r and returns the
// access key id that signed it.
func (s *Server) authenticate(r *http.Request, t target) (string, *ossError) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "", errAccessDenied("You have no right to access this object because of bucket acl.")
	}
	scheme, cred, _ := strings.Cut(auth, " ")
	switch scheme {
	case "OSS":
		s.countSignature(SignatureV1)
	case v4Algorithm:
		s.countSignature(SignatureV4)
	default:
		return "", errInvalidArgument("Authorization header is invalid.", "Authorization", auth)
	}
	if e := s.checkDate(r); e != nil {
		return "", e
	}
	if scheme == "OSS" {
		return s.verifyV1(r, t, cred)
	}
	return s.verifyV4(r, t, cred)
}

// checkDate rejects requests whose time is too far from the server's, as
// OSS does (15 minutes).
func (s *Server) checkDate(r *http.Request) *ossError {
	var t time.Time
	var err error
	if d := r.Header.Get("x-oss-date"); d != "" {
		t, err = time.Parse(v4TimeFormat, d)
	} else if d := r.Header.Get("Date"); d != "" {
		t, err = http.ParseTime(d)
	} else {
		return errAccessDenied("The request must contain a Date header.")
	}
	if err != nil {
		return errAccessDenied("The Date header is invalid.")
	}
	if d := s.now().Sub(t); d > s.opts.MaxClockSkew || d < -s.opts.MaxClockSkew {
		return newErr(http.StatusForbidden, "RequestTimeTooSkewed",
			"The difference between the request time and the current time is too large.")
	}
	return nil
}

// verifyV1 checks "OSS AccessKeyId:Signature": base64 of HMAC-SHA1 over
// VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedOSSHeaders
// CanonicalizedResource.
func (s *Server) verifyV1(r *http.Request, t target, cred string) (string, *ossError) {
	id, sig, ok := strings.Cut(cred, ":")
	if !ok || id == "" {
		return "", errInvalidArgument("Authorization header is invalid.", "Authorization", "OSS "+cred)
	}
	secret, ok := s.opts.Accounts[id]
	if !ok {
		return "", errInvalidAccessKeyID(id)
	}

	// CanonicalizedOSSHeaders: every x-oss-* header, lowercased, sorted,
	// "name:value\n".
	hdrs := map[string]string{}
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-oss-") {
			hdrs[lk] = v[0]
		}
	}

	// CanonicalizedResource: /bucket/key (raw, not escaped), then the signed
	// subresources sorted by name, "k=v" or just "k" when the value is empty.
	res := "/"
	if t.bucket != "" {
		res = "/" + t.bucket + "/" + t.key
	}
	subs := map[string]string{}
	for k, v := range t.query {
		if signedSubresources[k] {
			subs[k] = v[0]
		}
	}
	if len(subs) > 0 {
		res += "?" + canonicalQuery(subs)
	}

	toSign := r.Method + "\n" + r.Header.Get("Content-MD5") + "\n" + r.Header.Get("Content-Type") + "\n" +
		r.Header.Get("Date") + "\n" + canonicalHeaders(hdrs) + res
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(toSign))
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	if !hmac.Equal([]byte(want), []byte(sig)) {
		return "", errSignature()
	}
	return id, nil
}

// verifyV4 checks "OSS4-HMAC-SHA256 Credential=id/day/region/oss/aliyun_v4_request,
// [AdditionalHeaders=a;b,]Signature=hex".
func (s *Server) verifyV4(r *http.Request, t target, rest string) (string, *ossError) {
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(f), "=")
		fields[k] = v
	}
	bad := errInvalidArgument("Authorization header is invalid.", "Authorization", v4Algorithm+" "+rest)
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || fields["Signature"] == "" {
		return "", bad
	}
	id, day, region, product, term := scope[0], scope[1], scope[2], scope[3], scope[4]
	if product != "oss" || term != v4Terminator {
		return "", bad
	}
	secret, ok := s.opts.Accounts[id]
	if !ok {
		return "", errInvalidAccessKeyID(id)
	}
	if s.opts.Region != "" && region != s.opts.Region {
		return "", newErr(http.StatusForbidden, "SignatureDoesNotMatch",
			"Invalid signing region in Authorization header: expected "+s.opts.Region+".")
	}
	payload := r.Header.Get("x-oss-content-sha256")
	if payload == "" {
		return "", errInvalidArgument("Missing required header x-oss-content-sha256.", "x-oss-content-sha256", "")
	}

	// The signing time is x-oss-date when present, else the Date header;
	// its day must be the credential's.
	signDate := r.Header.Get("Date")
	var when time.Time
	if d := r.Header.Get("x-oss-date"); d != "" {
		signDate = d
		when, _ = time.Parse(v4TimeFormat, d)
	} else {
		when, _ = http.ParseTime(signDate)
	}
	if when.UTC().Format(v4DayFormat) != day {
		return "", errSignature()
	}

	additional := map[string]bool{}
	var addList []string
	if a := fields["AdditionalHeaders"]; a != "" {
		for _, h := range strings.Split(a, ";") {
			h = strings.ToLower(strings.TrimSpace(h))
			additional[h] = true
			addList = append(addList, h)
		}
		sort.Strings(addList)
	}

	// Canonical headers: x-oss-*, content-type, content-md5 and the
	// additional ones, lowercased, trimmed, sorted.
	hdrs := map[string]string{}
	for k, v := range r.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-oss-") || lk == "content-type" || lk == "content-md5" || additional[lk] {
			hdrs[lk] = strings.Trim(v[0], " ")
		}
	}
	if additional["host"] {
		hdrs["host"] = r.Host
	}

	uri := "/"
	if t.bucket != "" {
		uri = "/" + t.bucket + "/" + v4Escape(t.key)
	}
	qs := map[string]string{}
	for k, v := range t.query {
		qs[queryEscape(k)] = queryEscape(v[0])
	}

	canonical := r.Method + "\n" + uri + "\n" + canonicalQuery(qs) + "\n" +
		canonicalHeaders(hdrs) + "\n" + strings.Join(addList, ";") + "\n" + payload
	sum := sha256.Sum256([]byte(canonical))
	toSign := v4Algorithm + "\n" + signDate + "\n" + day + "/" + region + "/" + product + "/" + v4Terminator + "\n" + hex.EncodeToString(sum[:])

	key := hmacSHA256([]byte("aliyun_v4"+secret), day)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, product)
	key = hmacSHA256(key, v4Terminator)
	want := hex.EncodeToString(hmacSHA256(key, toSign))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return "", errSignature()
	}
	return id, nil
}

// canonicalHeaders renders headers as "name:value\n" lines in byte order
// of the names (not of the lines: "x-oss-copy-source" sorts before
// "x-oss-copy-source-range").
func canonicalHeaders(h map[string]string) string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k + ":" + h[k] + "\n")
	}
	return b.String()
}

// canonicalQuery renders parameters as "k=v" (or "k" when v is empty)
// joined by "&", in byte order of the names.
func canonicalQuery(q map[string]string) string {
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k
		if q[k] != "" {
			parts[i] += "=" + q[k]
		}
	}
	return strings.Join(parts, "&")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// queryEscape is URL encoding with %20 for a space, as OSS uses it in V4
// signatures and in encoding-type=url answers.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// v4Escape encodes an object key for a V4 canonical URI: like queryEscape,
// but "/" stays as it is.
func v4Escape(key string) string {
	return strings.ReplaceAll(queryEscape(key), "%2F", "/")
}
