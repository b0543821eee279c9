package gateway

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hoardfs/hoard/store"
)

// POST Object: an upload from an HTML form (multipart/form-data), signed
// by a policy document instead of the request (Alluxio: Not Supported).
// The form's fields come first and are read into memory, bounded; the file
// part, which must come after them, streams into the store. With keys
// configured the policy's signature (V4 or V2) must verify and its
// conditions hold, or nothing is written.

// maxFormFields bounds the form fields read before the file.
const maxFormFields = 1 << 20

// isFormPost reports whether q is a POST Object request, whose signature
// is in its body and is checked by postObject.
func isFormPost(q *request) bool {
	if q.r.Method != http.MethodPost || q.r.Header.Get("Authorization") != "" || len(q.query) > 0 {
		return false
	}
	mt, _, _ := mime.ParseMediaType(q.r.Header.Get("Content-Type"))
	return mt == "multipart/form-data"
}

type postResponse struct {
	XMLName  xml.Name `xml:"PostResponse"`
	Location string
	Bucket   string
	Key      string
	ETag     string
}

func (s *server) postObject(q *request) error {
	if !isFormPost(q) {
		return ErrMethodNotAllowed
	}
	if _, err := s.bucketDir(q); err != nil {
		return err
	}
	_, params, _ := mime.ParseMediaType(q.r.Header.Get("Content-Type"))
	mr := multipart.NewReader(strictBody{q.r.Body}, params["boundary"])
	fields := map[string]string{} // lower-case names
	total := 0
	var file *multipart.Part
	for file == nil {
		p, err := mr.NextPart()
		if err == io.EOF {
			return errorf(ErrInvalidArgument, "POST requires exactly one file upload per request.")
		}
		if err != nil {
			return withCause(errorf(ErrMalformedPOST, "The body of your POST request is not well-formed multipart/form-data."), err)
		}
		name := strings.ToLower(p.FormName())
		if name == "file" {
			file = p
			break
		}
		b, err := io.ReadAll(io.LimitReader(p, maxFormFields-int64(total)+1))
		if err != nil {
			return withCause(ErrMalformedPOST, err)
		}
		if total += len(b); total > maxFormFields {
			return errorf(ErrMalformedPOST, "The form fields of your POST request exceed %d bytes.", maxFormFields)
		}
		fields[name] = string(b)
	}
	key := strings.ReplaceAll(fields["key"], "${filename}", file.FileName())
	if key == "" {
		return errorf(ErrInvalidArgument, "Bucket POST must contain a field named 'key'.")
	}
	q.key = key
	limits, err := s.checkPostPolicy(q, fields)
	if err != nil {
		return err
	}
	p, marker, err := keyPath(q)
	if err != nil {
		return err
	}
	if marker {
		return ErrDirectoryMarkerWithBody
	}
	// The object's attributes, from the fields as PUT takes them from
	// headers.
	h := http.Header{}
	for k, v := range fields {
		h.Set(k, v)
	}
	ctype, meta, err := objectMeta(h)
	if err != nil {
		return err
	}
	tags, err := parseTagging(fields["tagging"])
	if err != nil {
		return err
	}
	body := io.Reader(file)
	if limits != nil {
		body = &rangeBody{r: file, min: limits[0], max: limits[1]}
	}
	n, err := s.st.PutObject(q.ctx, p, &limitedBody{r: body, left: maxObjectSize}, store.PutOptions{
		Cred: q.cred, ContentType: ctype, Meta: meta, Tags: tags, Size: -1,
	})
	if err != nil {
		return keyError(q, storeError(err, atWrite))
	}
	etag := `"` + etagOf(n) + `"`
	q.w.Header().Set("ETag", etag)
	if redirect := fields["success_action_redirect"]; redirect != "" {
		if u, err := url.Parse(redirect); err == nil {
			v := u.Query()
			v.Set("bucket", q.bucket)
			v.Set("key", key)
			v.Set("etag", etag)
			u.RawQuery = v.Encode()
			q.w.Header().Set("Location", u.String())
			q.w.WriteHeader(http.StatusSeeOther)
			return nil
		}
	}
	switch fields["success_action_status"] {
	case "200":
		q.w.WriteHeader(http.StatusOK)
	case "201":
		return writeXML(q, http.StatusCreated, postResponse{
			Location: "/" + q.bucket + "/" + key, Bucket: q.bucket, Key: key, ETag: etag,
		})
	default:
		q.w.WriteHeader(http.StatusNoContent)
	}
	return nil
}

// parseTagging parses the tagging field: a Tagging XML document.
func parseTagging(doc string) (map[string]string, error) {
	if doc == "" {
		return nil, nil
	}
	var t tagging
	if err := xml.Unmarshal([]byte(doc), &t); err != nil {
		return nil, withCause(ErrMalformedXML, err)
	}
	return checkTags(t.TagSet)
}

// postPolicy is the policy document of a form upload.
type postPolicy struct {
	Expiration string `json:"expiration"`
	Conditions []any  `json:"conditions"`
}

// checkPostPolicy identifies the form's signer and, with keys, verifies the
// policy's signature, expiration and conditions. It returns the
// content-length-range condition, if any.
func (s *server) checkPostPolicy(q *request, f map[string]string) (*[2]int64, error) {
	q.user = f["awsaccesskeyid"]
	var c credential
	if v := f["x-amz-credential"]; v != "" {
		var ok bool
		if c, ok = parseCredential(v); !ok {
			return nil, ErrAuthQueryMalformed
		}
		q.user = c.akid
	}
	q.cred.Owner = q.user
	if !s.keysConfigured() {
		return nil, nil
	}
	policy := f["policy"]
	if policy == "" {
		return nil, errorf(ErrAccessDenied, "Access Denied: a POST upload needs a signed policy.")
	}
	if err := s.checkAccessKey(q.user); err != nil {
		return nil, err
	}
	var ok bool
	if c.akid != "" {
		ok = hmac.Equal([]byte(f["x-amz-signature"]), []byte(hex.EncodeToString(hmacSHA256(signingKeyV4(s.opts.SecretKey, c), policy))))
	} else {
		m := hmac.New(sha1.New, []byte(s.opts.SecretKey))
		m.Write([]byte(policy))
		want, _ := base64.StdEncoding.DecodeString(f["signature"])
		ok = hmac.Equal(m.Sum(nil), want)
	}
	if !ok {
		return nil, ErrSignatureDoesNotMatch
	}
	raw, err := base64.StdEncoding.DecodeString(policy)
	if err != nil {
		return nil, withCause(errorf(ErrInvalidPolicy, "Invalid Policy: Invalid JSON."), err)
	}
	var pol postPolicy
	if err := json.Unmarshal(raw, &pol); err != nil {
		return nil, withCause(errorf(ErrInvalidPolicy, "Invalid Policy: Invalid JSON."), err)
	}
	exp, err := time.Parse(time.RFC3339, pol.Expiration)
	if err != nil {
		return nil, errorf(ErrInvalidPolicy, "Invalid Policy: Invalid 'expiration' value.")
	}
	if time.Now().After(exp) {
		return nil, errorf(ErrAccessDenied, "Invalid according to Policy: Policy expired.")
	}
	value := func(name string) string {
		name = strings.ToLower(strings.TrimPrefix(name, "$"))
		if name == "bucket" {
			return q.bucket
		}
		if name == "key" {
			return q.key
		}
		return f[name]
	}
	var limits *[2]int64
	for _, cond := range pol.Conditions {
		switch c := cond.(type) {
		case map[string]any:
			for k, v := range c {
				if fmt.Sprint(v) != value(k) {
					return nil, errorf(ErrAccessDenied, "Invalid according to Policy: Policy Condition failed: [\"eq\", \"$%s\", %q]", k, fmt.Sprint(v))
				}
			}
		case []any:
			if len(c) != 3 {
				return nil, errorf(ErrInvalidPolicy, "Invalid Policy: Invalid Simple-Condition: wrong number of arguments.")
			}
			op := strings.ToLower(fmt.Sprint(c[0]))
			if op == "content-length-range" {
				lo, err1 := strconv.ParseInt(fmt.Sprint(c[1]), 10, 64)
				hi, err2 := strconv.ParseInt(fmt.Sprint(c[2]), 10, 64)
				if err1 != nil || err2 != nil {
					return nil, errorf(ErrInvalidPolicy, "Invalid Policy: Invalid content-length-range.")
				}
				limits = &[2]int64{lo, hi}
				continue
			}
			got, want := value(fmt.Sprint(c[1])), fmt.Sprint(c[2])
			if (op == "eq" && got != want) || (op == "starts-with" && !strings.HasPrefix(got, want)) || (op != "eq" && op != "starts-with") {
				return nil, errorf(ErrAccessDenied, "Invalid according to Policy: Policy Condition failed: [%q, %q, %q]", op, c[1], want)
			}
		}
	}
	return limits, nil
}

// rangeBody enforces a policy's content-length-range as the file streams.
type rangeBody struct {
	r        io.Reader
	min, max int64
	n        int64
}

func (b *rangeBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.n += int64(n)
	if b.n > b.max {
		return 0, ErrEntityTooLarge
	}
	if errors.Is(err, io.EOF) && b.n < b.min {
		return n, ErrEntityTooSmall
	}
	return n, err
}
