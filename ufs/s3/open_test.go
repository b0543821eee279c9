package s3

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/hoardfs/hoard/ufs"
)

func TestOpenErrors(t *testing.T) {
	fk := newFakeS3(t, "bkt")
	good := fk.opts()
	with := func(k, v string) map[string]string {
		o := map[string]string{}
		for k, v := range good {
			o[k] = v
		}
		if v == "<delete>" {
			delete(o, k)
		} else {
			o[k] = v
		}
		return o
	}
	for _, c := range []struct {
		name string
		uri  string
		opts map[string]string
		want []string // substrings of the error
	}{
		{"no access key", "s3://bkt", with(KeyAccessKeyID, "<delete>"), []string{KeyAccessKeyID, "required"}},
		{"no secret", "s3://bkt", with(KeySecretKey, ""), []string{KeySecretKey, "required"}},
		{"no endpoint", "s3://bkt", with(KeyEndpoint, "<delete>"), []string{KeyEndpoint, "required"}},
		{"bad scheme", "s3://bkt", with(KeyEndpoint, "ftp://127.0.0.1:9"), []string{KeyEndpoint, `"ftp://127.0.0.1:9"`, "scheme"}},
		{"bad port", "s3://bkt", with(KeyEndpoint, "127.0.0.1:abc"), []string{KeyEndpoint, `"127.0.0.1:abc"`}},
		{"path in url", "s3://bkt", with(KeyEndpoint, "http://127.0.0.1:9000/bucket"), []string{KeyEndpoint, "no path"}},
		{"path in host", "s3://bkt", with(KeyEndpoint, "127.0.0.1:9000/bucket"), []string{KeyEndpoint, "host[:port]"}},
		{"unknown fs.s3 key", "s3://bkt", with("fs.s3.endpiont", "x"), []string{"fs.s3.endpiont", "unknown"}},
		{"missing bucket", "s3://nope", good, []string{"nope", "does not exist"}},
		{"bad credentials", "s3://bkt", with(KeyAccessKeyID, "wrong"), []string{KeyAccessKeyID, KeySecretKey, "refused"}},
		{"not s3 uri", "oss://bkt", good, []string{"s3://bucket"}},
		{"no bucket name", "s3:///dir", good, []string{"bucket name"}},
		{"short bucket name", "s3://ab", good, []string{"bucket name"}},
		{"dot dot dir", "s3://bkt/a/../b", good, []string{".."}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Open(context.Background(), c.uri, c.opts)
			if err == nil {
				f.Close()
				t.Fatalf("Open succeeded, want an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), fakeSecretKey) {
				t.Errorf("error %q reveals the secret key", err)
			}
		})
	}
}

func TestOpenBadCredentialsIsPermission(t *testing.T) {
	fk := newFakeS3(t, "bkt")
	o := fk.opts()
	o[KeyAccessKeyID] = "wrong"
	_, err := Open(context.Background(), "s3://bkt", o)
	if !errors.Is(err, ufs.ErrPermission) {
		t.Fatalf("Open with a wrong key: %v, want ufs.ErrPermission", err)
	}
}

func TestOpenUnreachableEndpointFails(t *testing.T) {
	o := map[string]string{KeyAccessKeyID: "a", KeySecretKey: "b", KeyEndpoint: "http://127.0.0.1:1"}
	ctx, cancel := context.WithTimeout(context.Background(), 10e9)
	defer cancel()
	_, err := Open(ctx, "s3://bkt", o)
	if err == nil || !strings.Contains(err.Error(), KeyEndpoint) || !ufs.IsRetryable(err) {
		t.Fatalf("Open of a closed port: %v; want a retryable error naming %s", err, KeyEndpoint)
	}
}

func TestString(t *testing.T) {
	fk := newFakeS3(t, "bkt")
	for uri, want := range map[string]string{
		"s3://bkt":          "s3://bkt",
		"s3://bkt/":         "s3://bkt",
		"s3://bkt/dir":      "s3://bkt/dir",
		"s3://bkt/dir/sub/": "s3://bkt/dir/sub",
	} {
		f := fk.open(t, uri)
		if got := f.String(); got != want {
			t.Errorf("Open(%q).String() = %q, want %q", uri, got, want)
		}
		if strings.Contains(f.String(), fakeSecretKey) || strings.Contains(f.String(), fakeAccessKey) {
			t.Errorf("String() %q shows credentials", f.String())
		}
	}
	if got := (&FS{}).Capabilities(); got != (ufs.Capabilities{ServerSideCopy: true}) {
		t.Errorf("Capabilities() = %+v", got)
	}
}

func TestParseEndpoint(t *testing.T) {
	for _, c := range []struct {
		in               string
		host             string
		secure, path, ok bool
	}{
		{"s3.amazonaws.com", "s3.amazonaws.com", true, false, true},
		{"s3.eu-west-1.amazonaws.com:443", "s3.eu-west-1.amazonaws.com:443", true, false, true},
		{"https://s3.example.com", "s3.example.com", true, false, true},
		{"https://s3.example.com/", "s3.example.com", true, false, true},
		{"http://minio.local:9000", "minio.local:9000", false, true, true},
		{"http://minio.local", "minio.local", false, false, true},
		{"HTTP://127.0.0.1:9000", "127.0.0.1:9000", false, true, true},
		{"127.0.0.1:9000", "127.0.0.1:9000", true, true, true},
		{"10.0.0.1", "10.0.0.1", true, true, true},
		{"[::1]:9000", "[::1]:9000", true, true, true},
		{"localhost:9000", "localhost:9000", true, true, true},
		{"https://[::1]:9000", "[::1]:9000", true, true, true},
		{"ftp://host", "", false, false, false},
		{"http://", "", false, false, false},
		{"http://user:pw@host", "", false, false, false},
		{"http://host/path", "", false, false, false},
		{"http://host?x=1", "", false, false, false},
		{"host/path", "", false, false, false},
		{"host:", "", false, false, false},
		{"host:0", "", false, false, false},
		{"host:70000", "", false, false, false},
		{"host name", "", false, false, false},
		{"[::1", "", false, false, false},
	} {
		host, secure, path, err := parseEndpoint(c.in)
		if (err == nil) != c.ok {
			t.Errorf("parseEndpoint(%q): err = %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if c.ok && (host != c.host || secure != c.secure || path != c.path) {
			t.Errorf("parseEndpoint(%q) = %q secure=%v path=%v, want %q %v %v", c.in, host, secure, path, c.host, c.secure, c.path)
		}
	}
}
