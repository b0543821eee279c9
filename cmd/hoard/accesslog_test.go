package main

import (
	"strings"
	"testing"
)

// TestS3AccessLogKey: hoard.s3.accesslog is off by default, takes true or
// false, and a bad value names the key.
func TestS3AccessLogKey(t *testing.T) {
	dir := inTempDir(t)
	c, err := LoadConfig("", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.S3AccessLog || c.Raw["hoard.s3.accesslog"] != "false" {
		t.Fatalf("default: %v %q", c.S3AccessLog, c.Raw["hoard.s3.accesslog"])
	}
	c, err = LoadConfig(writeFile(t, dir, "on.properties", "hoard.s3.accesslog=TRUE\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !c.S3AccessLog || c.Raw["hoard.s3.accesslog"] != "true" {
		t.Fatalf("on: %v %q", c.S3AccessLog, c.Raw["hoard.s3.accesslog"])
	}
	_, err = LoadConfig(writeFile(t, dir, "bad.properties", "hoard.s3.accesslog=sometimes\n"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "hoard.s3.accesslog") || !strings.Contains(err.Error(), "true or false") {
		t.Fatalf("bad value: %v", err)
	}
}
