package gateway

import (
	"encoding/xml"
	"net/http"
	"strings"
	"testing"

	"github.com/hoardfs/hoard/store"
)

func TestBuckets(t *testing.T) {
	e := newEnv(t, false)
	alice := map[string]string{"Authorization": "AWS alice:"}
	bob := map[string]string{"Authorization": "AWS bob:"}
	for _, tc := range []struct {
		name   string
		r      req
		status int
		code   string // error code, or "" for success
	}{
		{"create (Alluxio path)", req{method: "PUT", path: "/api/v1/s3/testbucket", hdr: alice}, 200, ""},
		{"create with a trailing slash", req{method: "PUT", path: "/api/v1/s3/other-bucket/", hdr: alice}, 200, ""},
		{"create with a location", req{method: "PUT", path: "/located.bucket", hdr: alice,
			body: []byte(`<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>`)}, 200, ""},
		{"create again, same owner", req{method: "PUT", path: "/testbucket", hdr: alice}, 409, "BucketAlreadyOwnedByYou"},
		{"create again, other owner", req{method: "PUT", path: "/testbucket", hdr: bob}, 409, "BucketAlreadyExists"},
		{"bad configuration", req{method: "PUT", path: "/bad-config", body: []byte("<Create")}, 400, "MalformedXML"},
		{"too short", req{method: "PUT", path: "/ab"}, 400, "InvalidBucketName"},
		{"upper case", req{method: "PUT", path: "/MyBucket"}, 400, "InvalidBucketName"},
		{"underscore", req{method: "PUT", path: "/my_bucket"}, 400, "InvalidBucketName"},
		{"ip address", req{method: "PUT", path: "/192.168.1.1"}, 400, "InvalidBucketName"},
		{"double dot", req{method: "PUT", path: "/a..b"}, 400, "InvalidBucketName"},
		{"ends with dash", req{method: "PUT", path: "/abc-"}, 400, "InvalidBucketName"},
		{"head", req{method: "HEAD", path: "/testbucket"}, 200, ""},
		{"head missing", req{method: "HEAD", path: "/nobucket"}, 404, "NoSuchBucket"},
		{"location", req{method: "GET", path: "/testbucket?location"}, 200, ""},
		{"location missing", req{method: "GET", path: "/nobucket?location"}, 404, "NoSuchBucket"},
		{"versioning", req{method: "GET", path: "/testbucket?versioning"}, 200, ""},
		{"acl", req{method: "GET", path: "/testbucket?acl"}, 200, ""},
		{"put acl", req{method: "PUT", path: "/testbucket?acl", hdr: map[string]string{"x-amz-acl": "private"}}, 200, ""},
		{"policy", req{method: "GET", path: "/testbucket?policy"}, 404, "NoSuchBucketPolicy"},
		{"cors", req{method: "GET", path: "/testbucket?cors"}, 404, "NoSuchCORSConfiguration"},
		{"lifecycle", req{method: "GET", path: "/testbucket?lifecycle"}, 404, "NoSuchLifecycleConfiguration"},
		{"bucket tagging, none", req{method: "GET", path: "/testbucket?tagging"}, 404, "NoSuchTagSet"},
		{"bucket tagging", req{method: "PUT", path: "/testbucket?tagging", body: []byte(`<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>`)}, 200, ""},
		{"bucket tagging, read", req{method: "GET", path: "/testbucket?tagging"}, 200, ""},
		{"versions unsupported", req{method: "GET", path: "/testbucket?versions"}, 501, "NotImplemented"},
		{"object lock unsupported", req{method: "GET", path: "/testbucket/k?retention"}, 501, "NotImplemented"},
		{"versioned read unsupported", req{method: "GET", path: "/testbucket/k?versionId=3"}, 501, "NotImplemented"},
		{"post to a bucket", req{method: "POST", path: "/testbucket"}, 405, "MethodNotAllowed"},
		{"patch", req{method: "PATCH", path: "/testbucket"}, 405, "MethodNotAllowed"},
		{"object in missing bucket", req{method: "PUT", path: "/nobucket/k", body: []byte("x")}, 404, "NoSuchBucket"},
		{"list missing bucket", req{method: "GET", path: "/nobucket"}, 404, "NoSuchBucket"},
		{"delete missing", req{method: "DELETE", path: "/nobucket"}, 404, "NoSuchBucket"},
		{"put an object", req{method: "PUT", path: "/testbucket/k", body: []byte("x")}, 200, ""},
		{"delete non-empty", req{method: "DELETE", path: "/testbucket"}, 409, "BucketNotEmpty"},
		{"delete the object", req{method: "DELETE", path: "/testbucket/k"}, 204, ""},
		{"delete empty", req{method: "DELETE", path: "/api/v1/s3/testbucket"}, 204, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := e.with(t)
			if tc.code == "" {
				e.must(tc.status, tc.r)
			} else {
				e.mustErr(tc.status, tc.code, tc.r)
			}
		})
	}
	// A file at the root is no bucket.
	if _, err := e.st.PutObject(bg, "/rootfile", strings.NewReader("x"), store.PutOptions{Size: -1}); err != nil {
		t.Fatal(err)
	}
	e.mustErr(404, "NoSuchBucket", req{method: "GET", path: "/rootfile"})
	// A directory made through the mount is a bucket, listed to everybody.
	if _, err := e.st.MkdirAll(bg, "/from-the-mount", store.Cred{Owner: "root"}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/api/v1/s3", "/api/v1/s3/"} {
		_, b := e.must(200, req{method: "GET", path: path, hdr: bob})
		var res struct {
			Owner   struct{ ID string }
			Buckets []struct{ Name, CreationDate string } `xml:"Buckets>Bucket"`
		}
		if err := xml.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, b := range res.Buckets {
			names = append(names, b.Name)
			if !strings.HasSuffix(b.CreationDate, "Z") {
				t.Fatalf("creation date %q", b.CreationDate)
			}
		}
		if strings.Join(names, ",") != "from-the-mount,located.bucket,other-bucket" || res.Owner.ID != "bob" {
			t.Fatalf("GET %s: %s", path, b)
		}
	}
	h, b := e.must(200, req{method: "GET", path: "/other-bucket?location"})
	if !strings.Contains(string(b), "<LocationConstraint") || h.Get("Content-Type") != "application/xml" {
		t.Fatalf("location: %s", b)
	}
	if h, _ := e.must(200, req{method: "HEAD", path: "/other-bucket"}); h.Get("x-amz-bucket-region") != "us-east-1" {
		t.Fatalf("head bucket headers: %v", h)
	}
}

// Uploads in progress into a deleted bucket are dropped with it.
func TestDeleteBucketAbortsUploads(t *testing.T) {
	e := newEnv(t, false)
	e.must(200, req{method: "PUT", path: "/bkt"})
	_, b := e.must(200, req{method: "POST", path: "/bkt/k?uploads"})
	var ir initiateResult
	xml.Unmarshal(b, &ir)
	e.must(200, req{method: "PUT", path: "/bkt/k?partNumber=1&uploadId=" + ir.UploadID, body: []byte("part")})
	e.must(http.StatusNoContent, req{method: "DELETE", path: "/bkt"})
	if ups, _ := e.st.ListUploads(bg, "/"); len(ups) != 0 {
		t.Fatalf("uploads left: %+v", ups)
	}
}

func TestValidBucketName(t *testing.T) {
	for name, ok := range map[string]bool{
		"abc": true, "a.b-c": true, "0bucket": true, strings.Repeat("a", 63): true,
		"ab": false, strings.Repeat("a", 64): false, "Abc": false, "-abc": false, "abc.": false,
		"a..b": false, "10.0.0.1": false, "a_b": false, "a b": false, "ab/c": false,
	} {
		if validBucketName(name) != ok {
			t.Errorf("validBucketName(%q) = %v", name, !ok)
		}
	}
}
