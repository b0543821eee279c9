package store

import "testing"

func TestUFSOverlap(t *testing.T) {
	hz := map[string]string{"fs.oss.endpoint": "oss-cn-hangzhou.aliyuncs.com"}
	bj := map[string]string{"fs.oss.endpoint": "oss-cn-beijing.aliyuncs.com"}
	for _, c := range []struct {
		a, b   string
		ao, bo map[string]string
		want   bool
	}{
		{"oss://b/dir", "oss://b/dir", nil, nil, true},
		{"oss://b/dir", "oss://b/dir/", nil, nil, true},
		{"oss://b/dir", "oss://b/dir/x", nil, nil, true},
		{"oss://b/dir/x/", "oss://b/dir", nil, nil, true},
		{"oss://b", "oss://b/anything", nil, nil, true},
		{"oss://b/dir", "oss://b/dirx", nil, nil, false},
		{"oss://b/dir", "oss://b/other", nil, nil, false},
		{"oss://b/dir", "oss://c/dir", nil, nil, false},
		{"oss://b/dir", "s3://b/dir", nil, nil, false},
		{"oss://b/dir", "oss://b/dir", hz, bj, false}, // two stores
		{"oss://b/dir", "oss://b/dir", hz, hz, true},
		{"oss://b/dir", "oss://b/dir", nil, bj, true}, // the daemon's endpoint may be Beijing's
		{"file:///data/ufs", "file:///data/ufs/a", nil, nil, true},
		{"file:///data/ufs", "file:///data/ufs2", nil, nil, false},
		{"file:///data/./ufs/", "file:///data/ufs", nil, nil, true},
	} {
		if got := ufsOverlap(c.a, c.b, c.ao, c.bo); got != c.want {
			t.Errorf("ufsOverlap(%s, %s, %v, %v) = %v", c.a, c.b, c.ao, c.bo, got)
		}
		if got := ufsOverlap(c.b, c.a, c.bo, c.ao); got != c.want {
			t.Errorf("ufsOverlap(%s, %s, %v, %v) = %v (swapped)", c.b, c.a, c.bo, c.ao, got)
		}
	}
}
