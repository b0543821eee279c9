package gateway

import (
	"bytes"
	"crypto/md5"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hoardfs/hoard/store"
)

// Buckets are the directories at the root of the namespace.

const s3NS = "http://s3.amazonaws.com/doc/2006-03-01/"

// xmlTime is the time format of S3's XML documents.
const xmlTime = "2006-01-02T15:04:05.000Z"

func fmtTime(ns int64) string { return time.Unix(0, ns).UTC().Format(xmlTime) }

type owner struct {
	ID          string
	DisplayName string
}

// owner is who the request's user is in S3 documents.
func (s *server) owner(q *request) owner {
	u := q.user
	if u == "" {
		u = processUser()
	}
	return owner{ID: u, DisplayName: u}
}

var processUser = sync.OnceValue(func() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return "hoard"
})

// writeXML answers with an XML document.
func writeXML(q *request, status int, v any) error {
	b, err := xml.Marshal(v)
	if err != nil {
		return withCause(ErrInternal, err)
	}
	h := q.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(b)))
	q.w.WriteHeader(status)
	if q.r.Method != http.MethodHead {
		io.WriteString(q.w, xml.Header)
		q.w.Write(b)
	}
	return nil
}

// readXML decodes a small XML request body into v; an empty body is
// MalformedXML unless allowEmpty.
func readXML(q *request, v any, limit int64, allowEmpty bool) (empty bool, err error) {
	b, err := io.ReadAll(io.LimitReader(q.body, limit+1))
	if err != nil {
		return false, storeError(err, atWrite)
	}
	if int64(len(b)) > limit {
		return false, errorf(ErrMalformedXML, "The XML you provided is larger than %d bytes.", limit)
	}
	if want, err := contentMD5(q.r.Header); err != nil {
		return false, err
	} else if want != nil {
		if sum := md5.Sum(b); !bytes.Equal(sum[:], want) {
			return false, ErrBadDigest
		}
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		if allowEmpty {
			return true, nil
		}
		return true, ErrMissingRequestBodyError
	}
	if err := xml.Unmarshal(b, v); err != nil {
		return false, withCause(ErrMalformedXML, err)
	}
	return false, nil
}

// bucketDir resolves the request's bucket.
func (s *server) bucketDir(q *request) (*store.Inode, error) {
	if _, err := store.SplitPath("/" + q.bucket); err != nil || strings.Contains(q.bucket, "/") {
		return nil, errNoSuchBucket(q, err)
	}
	n, err := s.st.Resolve(q.ctx, "/"+q.bucket)
	if err != nil {
		if errors.Is(err, store.ErrNotExist) || errors.Is(err, store.ErrNotDir) || errors.Is(err, store.ErrInvalid) {
			return nil, errNoSuchBucket(q, err)
		}
		return nil, storeError(err, atBucket)
	}
	if n.Type != store.TypeDir {
		return nil, errNoSuchBucket(q, nil)
	}
	return n, nil
}

// validBucketName applies AWS's naming rules to new buckets: 3 to 63
// characters, lower-case letters, digits, '.' and '-', starting and ending
// with a letter or digit, no "..", not an IP address. (Existing top-level
// directories with other names are still served as buckets.)
func validBucketName(b string) bool {
	if len(b) < 3 || len(b) > 63 || strings.Contains(b, "..") || net.ParseIP(b) != nil {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		alnum := 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
		if !alnum && (c != '.' && c != '-' || i == 0 || i == len(b)-1) {
			return false
		}
	}
	return true
}

type bucketXML struct {
	Name         string
	CreationDate string
}

type listAllMyBucketsResult struct {
	XMLName xml.Name    `xml:"ListAllMyBucketsResult"`
	NS      string      `xml:"xmlns,attr"`
	Owner   owner       `xml:"Owner"`
	Buckets []bucketXML `xml:"Buckets>Bucket"`
}

// listBuckets lists every directory at the root. (Alluxio lists only the
// caller's own; Hoard lists all, so that a directory made in the mount is a
// bucket to every S3 client, as it is readable by all.)
func (s *server) listBuckets(q *request) error {
	res := listAllMyBucketsResult{NS: s3NS, Owner: s.owner(q), Buckets: []bucketXML{}}
	for de, err := range s.st.ReadDir(q.ctx, store.RootIno, "") {
		if err != nil {
			return storeError(err, atBucket)
		}
		if de.Type != store.TypeDir {
			continue
		}
		n, err := s.st.GetAttr(q.ctx, de.Ino)
		if err != nil {
			continue // removed meanwhile
		}
		res.Buckets = append(res.Buckets, bucketXML{Name: de.Name, CreationDate: fmtTime(n.Crtime)})
	}
	return writeXML(q, http.StatusOK, res)
}

type createBucketConfiguration struct {
	XMLName            xml.Name `xml:"CreateBucketConfiguration"`
	LocationConstraint string
}

func (s *server) createBucket(q *request) error {
	if !validBucketName(q.bucket) {
		e := errorf(ErrInvalidBucketName, "The specified bucket is not valid: bucket names are 3 to 63 lower-case letters, digits, '.' and '-', and start and end with a letter or digit.")
		e.BucketName = q.bucket
		return e
	}
	var cfg createBucketConfiguration
	if _, err := readXML(q, &cfg, 64<<10, true); err != nil {
		return err
	}
	_, err := s.st.Mkdir(q.ctx, store.RootIno, q.bucket, 0o755, q.cred)
	if errors.Is(err, store.ErrExist) {
		n, lerr := s.st.Lookup(q.ctx, store.RootIno, q.bucket)
		e := ErrBucketAlreadyExists
		if lerr == nil && n.Type == store.TypeDir && n.Owner == s.owner(q).ID {
			e = ErrBucketAlreadyOwnedByYou
		}
		e = withCause(e, err)
		e.BucketName = q.bucket
		return e
	}
	if err != nil {
		return storeError(err, atBucket)
	}
	q.w.Header().Set("Location", "/"+q.bucket)
	q.w.Header().Set("Content-Length", "0")
	q.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *server) deleteBucket(q *request) error {
	d, err := s.bucketDir(q)
	if err != nil {
		return err
	}
	if d.Mount != store.RootMount {
		// A nested mount's point: S3 cannot undo a mount, and the UFS
		// behind it is not ours to empty.
		return errorf(ErrAccessDenied, "Access Denied: bucket %s is the mount point of a UFS; `hoard fs unmount /%s` removes it", q.bucket, q.bucket)
	}
	if err := s.st.Rmdir(q.ctx, store.RootIno, q.bucket); err != nil {
		if errors.Is(err, store.ErrNotEmpty) {
			e := withCause(ErrBucketNotEmpty, err)
			e.BucketName = q.bucket
			return e
		}
		if errors.Is(err, store.ErrNotExist) {
			return errNoSuchBucket(q, err)
		}
		return storeError(err, atBucket)
	}
	// Uploads in progress into the bucket cannot complete any more.
	if ups, err := s.st.ListUploads(q.ctx, "/"+q.bucket+"/"); err == nil {
		for _, u := range ups {
			s.st.AbortUpload(q.ctx, u.Path, u.ID)
		}
	}
	q.w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) headBucket(q *request) error {
	if _, err := s.bucketDir(q); err != nil {
		return err
	}
	q.w.Header().Set("x-amz-bucket-region", s.opts.Region)
	q.w.Header().Set("Content-Length", "0")
	q.w.WriteHeader(http.StatusOK)
	return nil
}

type locationConstraint struct {
	XMLName xml.Name `xml:"LocationConstraint"`
	NS      string   `xml:"xmlns,attr"`
	Region  string   `xml:",chardata"`
}

// getBucketLocation answers the configured region; us-east-1 is the empty
// constraint, as in AWS.
func (s *server) getBucketLocation(q *request) error {
	if _, err := s.bucketDir(q); err != nil {
		return err
	}
	region := s.opts.Region
	if region == "us-east-1" {
		region = ""
	}
	return writeXML(q, http.StatusOK, locationConstraint{NS: s3NS, Region: region})
}

type emptyConfig struct {
	XMLName xml.Name
	NS      string `xml:"xmlns,attr"`
}

// getBucketVersioning: buckets are never versioned.
func (s *server) getBucketVersioning(q *request) error {
	return s.emptyBucketConfig(q, "VersioningConfiguration")
}

func (s *server) getBucketLogging(q *request) error {
	return s.emptyBucketConfig(q, "BucketLoggingStatus")
}

func (s *server) getBucketNotification(q *request) error {
	return s.emptyBucketConfig(q, "NotificationConfiguration")
}

func (s *server) emptyBucketConfig(q *request, name string) error {
	if _, err := s.bucketDir(q); err != nil {
		return err
	}
	return writeXML(q, http.StatusOK, emptyConfig{XMLName: xml.Name{Local: name}, NS: s3NS})
}

// getACL answers the one ACL Hoard has: the owner has full control. (Access
// is governed by the keys, not by ACLs.)
func (s *server) getACL(q *request) error {
	ownerName := ""
	if q.key == "" {
		n, err := s.bucketDir(q)
		if err != nil {
			return err
		}
		ownerName = n.Owner
	} else {
		n, err := s.objectInode(q)
		if err != nil {
			return err
		}
		ownerName = n.Owner
	}
	o := xmlEscape(ownerName)
	doc := fmt.Sprintf(`<AccessControlPolicy xmlns="%s"><Owner><ID>%s</ID><DisplayName>%s</DisplayName></Owner>`+
		`<AccessControlList><Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">`+
		`<ID>%s</ID><DisplayName>%s</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList></AccessControlPolicy>`,
		s3NS, o, o, o, o)
	h := q.w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", strconv.Itoa(len(xml.Header)+len(doc)))
	q.w.WriteHeader(http.StatusOK)
	io.WriteString(q.w, xml.Header+doc)
	return nil
}

// putACL accepts and ignores ACLs: clients set "private" or the like as a
// matter of course.
func (s *server) putACL(q *request) error {
	if q.key == "" {
		if _, err := s.bucketDir(q); err != nil {
			return err
		}
	} else if _, err := s.objectInode(q); err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(q.body, 64<<10))
	q.w.Header().Set("Content-Length", "0")
	q.w.WriteHeader(http.StatusOK)
	return nil
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
