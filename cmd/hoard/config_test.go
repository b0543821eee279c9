package main

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// noEnv is a getenv with nothing set.
func noEnv(string) string { return "" }

// inTempDir runs the test in a fresh working directory and returns it.
func inTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	// Resolve symlinks (macOS /var -> /private/var) so paths compare.
	dir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	return dir
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// loadString loads content as a --conf file in the current directory.
func loadString(t *testing.T, content string) (*Config, string, error) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	p := writeFile(t, dir, "test.properties", content)
	c, err := LoadConfig(p, noEnv)
	return c, p, err
}

func TestParseProperties(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     []property
	}{
		{"equals", "a=b", []property{{"a", "b", 1}}},
		{"colon", "a: b", []property{{"a", "b", 1}}},
		{"space", "a b c", []property{{"a", "b c", 1}}},
		{"blanks around", "  a  =  b  ", []property{{"a", "b", 1}}},
		{"tab and formfeed", "\ta\f=\tb\t", []property{{"a", "b", 1}}},
		{"empty value", "a=", []property{{"a", "", 1}}},
		{"key only", "a", []property{{"a", "", 1}}},
		{"second separator is value", "a==b", []property{{"a", "=b", 1}}},
		{"space then equals", "a = = b", []property{{"a", "= b", 1}}},
		{"comments", "# c\n! c\n  # c\na=1", []property{{"a", "1", 4}}},
		{"blank lines", "\n\n  \na=1\n\n", []property{{"a", "1", 4}}},
		{"crlf and cr", "a=1\r\nb=2\rc=3", []property{{"a", "1", 1}, {"b", "2", 2}, {"c", "3", 3}}},
		{"continuation", "a=one \\\n    two\nb=3", []property{{"a", "one two", 1}, {"b", "3", 3}}},
		{"continuation of key", "ke\\\n  y=v", []property{{"key", "v", 1}}},
		{"double backslash ends no line", "a=x\\\\\nb=y", []property{{"a", `x\`, 1}, {"b", "y", 2}}},
		{"continued comment-looking line", "a=1\\\n#2", []property{{"a", "1#2", 1}}},
		{"comment is never continued", "# c \\\na=1", []property{{"a", "1", 2}}},
		{"backslash at eof", "a=1\\", []property{{"a", "1", 1}}},
		{"escapes", `a=t\tn\nr\rf\f\\ \q`, []property{{"a", "t\tn\nr\rf\f\\ q", 1}}},
		{"unicode", `a=\u00e9\u4e2d`, []property{{"a", "é中", 1}}},
		{"surrogate pair", `a=\ud83d\ude00`, []property{{"a", "😀", 1}}},
		{"escaped separators in key", `a\=b\:c\ d=e`, []property{{"a=b:c d", "e", 1}}},
		{"escaped trailing space kept", `a=b\ `, []property{{"a", "b ", 1}}},
		{"escaped leading space kept", `a=\  b`, []property{{"a", "  b", 1}}},
		{"utf8", "ключ=значение", []property{{"ключ", "значение", 1}}},
		{"duplicates kept in order", "a=1\na=2", []property{{"a", "1", 1}, {"a", "2", 2}}},
		{"value with url", "u=http://h:9000/x", []property{{"u", "http://h:9000/x", 1}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := parseProperties(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("parseProperties(%q)\n got %+v\nwant %+v", c.in, got, c.want)
			}
		})
	}
}

func TestParsePropertiesErrors(t *testing.T) {
	for _, in := range []string{`a=\u12`, `a=\uzzzz`, "x=1\n\\u00g0=2"} {
		if _, err := parseProperties(in); err == nil || !strings.Contains(err.Error(), "line") {
			t.Errorf("parseProperties(%q) = %v; want an error with a line number", in, err)
		}
	}
}

func TestLoadConfigDefaults(t *testing.T) {
	dir := inTempDir(t)
	c, err := LoadConfig("", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Home:           dir + "/data",
		RootUFS:        "file://" + dir + "/data/ufs",
		MetadataDir:    dir + "/data/metadata",
		CacheDirs:      []string{dir + "/data/cache"},
		CacheQuota:     10 << 30,
		BlockSize:      4 << 20,
		FuseMountPoint: dir + "/mnt",
		S3Address:      "127.0.0.1:39999",
		WebAddress:     "127.0.0.1:19999",
		WriteType:      "ASYNC_THROUGH",
		ReadType:       "CACHE_PROMOTE",
		SyncInterval:   time.Minute,
		LogLevel:       "info",
		LogFormat:      "text",
		Source:         "defaults",
		UFSOptions:     map[string]string{},
	}
	want.Raw = c.Raw // checked below
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults\n got %+v\nwant %+v", c, want)
	}
	for _, k := range configKeys {
		if _, ok := c.Raw[k.name]; !ok {
			t.Errorf("Raw lacks %s", k.name)
		}
	}
	if got := c.Raw["hoard.root.ufs"]; got != want.RootUFS {
		t.Errorf("Raw[hoard.root.ufs] = %q, want %q", got, want.RootUFS)
	}
}

func TestLoadConfigResolution(t *testing.T) {
	dir := inTempDir(t)
	explicit := writeFile(t, dir, "explicit.properties", "hoard.log.level=debug")
	fromEnv := writeFile(t, dir, "env.properties", "hoard.log.level=warn")
	env := func(k string) string {
		if k == "HOARD_CONF" {
			return fromEnv
		}
		return ""
	}

	c, err := LoadConfig("", noEnv)
	if err != nil || c.Source != "defaults" {
		t.Fatalf("no file: %v, source %q", err, c.Source)
	}
	site := writeFile(t, dir, "conf/hoard-site.properties", "hoard.log.level=error")
	for _, tc := range []struct {
		name, flag    string
		getenv        func(string) string
		source, level string
	}{
		{"site file", "", noEnv, site, "error"},
		{"HOARD_CONF over site file", "", env, fromEnv, "warn"},
		{"--conf over HOARD_CONF", explicit, env, explicit, "debug"},
		{"relative --conf", "explicit.properties", env, explicit, "debug"},
	} {
		c, err := LoadConfig(tc.flag, tc.getenv)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.Source != tc.source || c.LogLevel != tc.level {
			t.Errorf("%s: source %q level %q, want %q %q", tc.name, c.Source, c.LogLevel, tc.source, tc.level)
		}
	}

	if _, err := LoadConfig(filepath.Join(dir, "missing.properties"), noEnv); err == nil ||
		!strings.Contains(err.Error(), "missing.properties") || !strings.Contains(err.Error(), "--conf") {
		t.Errorf("missing --conf file: %v", err)
	}
	missingEnv := func(string) string { return filepath.Join(dir, "nope.properties") }
	if _, err := LoadConfig("", missingEnv); err == nil ||
		!strings.Contains(err.Error(), "nope.properties") || !strings.Contains(err.Error(), "HOARD_CONF") {
		t.Errorf("missing HOARD_CONF file: %v", err)
	}
}

func TestLoadConfigValues(t *testing.T) {
	dir := inTempDir(t)
	for _, c := range []struct {
		in    string
		check func(c *Config) bool
	}{
		{"hoard.cache.quota=512MB", func(c *Config) bool { return c.CacheQuota == 512<<20 }},
		{"hoard.cache.quota=4MiB", func(c *Config) bool { return c.CacheQuota == 4<<20 }},
		{"hoard.cache.quota=1TB", func(c *Config) bool { return c.CacheQuota == 1<<40 }},
		{"hoard.cache.quota=1.5GB", func(c *Config) bool { return c.CacheQuota == 3<<29 }},
		{"hoard.cache.quota=10 gb", func(c *Config) bool { return c.CacheQuota == 10<<30 }},
		{"hoard.cache.quota=123456789", func(c *Config) bool { return c.CacheQuota == 123456789 }},
		{"hoard.cache.quota=64KB\nhoard.cache.block.size=64k", func(c *Config) bool { return c.CacheQuota == 64<<10 && c.BlockSize == 64<<10 }},
		{"hoard.cache.block.size=1MB", func(c *Config) bool { return c.BlockSize == 1<<20 }},
		{"hoard.user.file.metadata.sync.interval=-1", func(c *Config) bool { return c.SyncInterval < 0 }},
		{"hoard.user.file.metadata.sync.interval=0", func(c *Config) bool { return c.SyncInterval == 0 }},
		{"hoard.user.file.metadata.sync.interval=30s", func(c *Config) bool { return c.SyncInterval == 30*time.Second }},
		{"hoard.user.file.metadata.sync.interval=1m30s", func(c *Config) bool { return c.SyncInterval == 90*time.Second }},
		{"hoard.user.file.metadata.sync.interval=5min", func(c *Config) bool { return c.SyncInterval == 5*time.Minute }},
		{"hoard.user.file.metadata.sync.interval=2hr", func(c *Config) bool { return c.SyncInterval == 2*time.Hour }},
		{"hoard.user.file.metadata.sync.interval=1day", func(c *Config) bool { return c.SyncInterval == 24*time.Hour }},
		{"hoard.user.file.metadata.sync.interval=1500", func(c *Config) bool { return c.SyncInterval == 1500*time.Millisecond }},
		{"hoard.user.file.writetype.default=cache_through", func(c *Config) bool { return c.WriteType == "CACHE_THROUGH" }},
		{"hoard.user.file.writetype.default=MUST_CACHE", func(c *Config) bool { return c.WriteType == "MUST_CACHE" }},
		{"hoard.user.file.writetype.default=THROUGH", func(c *Config) bool { return c.WriteType == "THROUGH" }},
		{"hoard.user.file.readtype.default=NO_CACHE", func(c *Config) bool { return c.ReadType == "NO_CACHE" }},
		{"hoard.user.file.readtype.default=CACHE", func(c *Config) bool { return c.ReadType == "CACHE" }},
		{"hoard.log.level=DEBUG\nhoard.log.format=json", func(c *Config) bool { return c.LogLevel == "debug" && c.LogFormat == "json" }},
		{"hoard.fuse.mount.point=", func(c *Config) bool { return c.FuseMountPoint == "" }},
		{"hoard.fuse.mount.options=writetype=cache_through, readtype=NO_CACHE", func(c *Config) bool {
			return c.FuseWriteType == "CACHE_THROUGH" && c.FuseReadType == "NO_CACHE" &&
				c.Raw["hoard.fuse.mount.options"] == "writetype=CACHE_THROUGH,readtype=NO_CACHE"
		}},
		{"hoard.fuse.mount.options=", func(c *Config) bool { return c.FuseWriteType == "" && c.FuseReadType == "" }},
		{"hoard.s3.address=", func(c *Config) bool { return c.S3Address == "" }},
		{"hoard.fuse.mount.point=/srv/hoard", func(c *Config) bool { return c.FuseMountPoint == "/srv/hoard" }},
		{"hoard.home=/var/lib/hoard", func(c *Config) bool {
			return c.Home == "/var/lib/hoard" && c.RootUFS == "file:///var/lib/hoard/ufs" &&
				c.MetadataDir == "/var/lib/hoard/metadata" && c.CacheDirs[0] == "/var/lib/hoard/cache"
		}},
		{"hoard.home=./h", func(c *Config) bool { return c.Home == dir+"/h" && c.RootUFS == "file://"+dir+"/h/ufs" }},
		{"hoard.root.ufs=file://./data/ufs", func(c *Config) bool { return c.RootUFS == "file://"+dir+"/data/ufs" }},
		{"hoard.root.ufs=file:///abs/ufs", func(c *Config) bool { return c.RootUFS == "file:///abs/ufs" }},
		{"hoard.root.ufs=rel/ufs", func(c *Config) bool { return c.RootUFS == "file://"+dir+"/rel/ufs" }},
		{"hoard.root.ufs=oss://bucket/dir", func(c *Config) bool { return c.RootUFS == "oss://bucket/dir" }},
		{"hoard.root.ufs=s3://bucket", func(c *Config) bool { return c.RootUFS == "s3://bucket" }},
		{"hoard.cache.dirs=/ssd1/c, ./c2", func(c *Config) bool {
			return reflect.DeepEqual(c.CacheDirs, []string{"/ssd1/c", dir + "/c2"}) && c.Raw["hoard.cache.dirs"] == "/ssd1/c,"+dir+"/c2"
		}},
		{"hoard.web.address=0.0.0.0:19999\nhoard.web.token=t0k", func(c *Config) bool { return c.WebToken == "t0k" }},
		{"hoard.web.address=localhost:1\nhoard.s3.address=[::1]:2", func(c *Config) bool { return c.WebAddress == "localhost:1" }},
		{"hoard.web.address=[::1]:19999", func(c *Config) bool { return c.WebToken == "" }},
		{"hoard.s3.accessKey=ak\nhoard.s3.secretKey=sk", func(c *Config) bool { return c.S3AccessKey == "ak" && c.S3SecretKey == "sk" }},
		{"fs.oss.endpoint=http://127.0.0.1:9000\nfs.s3.region=x\nfs.oss.accessKeyId=${hoard.log.level}", func(c *Config) bool {
			return reflect.DeepEqual(c.UFSOptions, map[string]string{
				"fs.oss.endpoint": "http://127.0.0.1:9000", "fs.s3.region": "x", "fs.oss.accessKeyId": "info",
			})
		}},
		{"hoard.metadata.dir=${hoard.home}/m\nhoard.home=/h", func(c *Config) bool { return c.MetadataDir == "/h/m" }},
		{"hoard.web.token=a${hoard.log.level}b", func(c *Config) bool { return c.WebToken == "ainfob" }},
	} {
		cfg, _, err := loadString(t, c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if !c.check(cfg) {
			t.Errorf("%q: unexpected config %+v", c.in, cfg)
		}
	}
}

func TestLoadConfigErrors(t *testing.T) {
	inTempDir(t)
	for _, c := range []struct {
		in   string
		want []string // every one must be in the error; the file name always is
	}{
		{"hoard.cache.quata=1GB", []string{`"hoard.cache.quata"`, "unknown key", `did you mean "hoard.cache.quota"`, ":1"}},
		{"# x\nhoard.hom=/x", []string{`"hoard.hom"`, `did you mean "hoard.home"`, ":2"}},
		{"alluxio.user.file.writetype.default=THROUGH", []string{`did you mean "hoard.user.file.writetype.default"`}},
		{"hoard.something.else=1", []string{`unknown key "hoard.something.else"`}},
		{"s3.endpoint=x", []string{`unknown key "s3.endpoint"`}},
		{"fs.os.endpoint=x", []string{`unknown key "fs.os.endpoint"`, `did you mean "fs.oss.endpoint"`}},
		{"fs.oss.endpont=x", []string{`unknown key "fs.oss.endpont"`, `did you mean "fs.oss.endpoint"`}},
		{"fs.s3.anything=x", []string{`unknown key "fs.s3.anything"`}},
		{"hoard.s3.secretkey=x", []string{`did you mean "hoard.s3.secretKey"`}},
		{"hoard.user.file.writetype.defualt=THROUGH", []string{`did you mean "hoard.user.file.writetype.default"`}},
		{"hoard.cache.quota=10XB", []string{"hoard.cache.quota", `"10XB"`, "unit", "10GB"}},
		{"hoard.cache.quota=lots", []string{"hoard.cache.quota", `"lots"`, "want a size"}},
		{"hoard.cache.quota=0", []string{"hoard.cache.quota", "above zero"}},
		{"hoard.cache.quota=-1GB", []string{"hoard.cache.quota", "want a size"}},
		{"hoard.cache.quota=99999999PB", []string{"hoard.cache.quota", "too large"}},
		{"hoard.cache.block.size=3MB", []string{"hoard.cache.block.size", "power of two"}},
		{"hoard.cache.block.size=4KB", []string{"hoard.cache.block.size", "power of two"}},
		{"hoard.cache.quota=1MB", []string{"hoard.cache.quota", "smaller than hoard.cache.block.size"}},
		{"hoard.user.file.writetype.default=ALWAYS", []string{"hoard.user.file.writetype.default", `"ALWAYS"`, "MUST_CACHE, CACHE_THROUGH, THROUGH, ASYNC_THROUGH"}},
		{"hoard.user.file.readtype.default=PROMOTE", []string{"hoard.user.file.readtype.default", "CACHE_PROMOTE, CACHE, NO_CACHE"}},
		{"hoard.user.file.metadata.sync.interval=soon", []string{"hoard.user.file.metadata.sync.interval", `"soon"`, "-1 (never)"}},
		{"hoard.user.file.metadata.sync.interval=-5", []string{"hoard.user.file.metadata.sync.interval", "-1 (never)"}},
		{"hoard.user.file.metadata.sync.interval=-5s", []string{"hoard.user.file.metadata.sync.interval"}},
		{"hoard.user.file.metadata.sync.interval=3fortnights", []string{"unknown unit", `"fortnights"`}},
		{"hoard.fuse.mount.options=writetype=SOMETIMES", []string{"hoard.fuse.mount.options", `"writetype=SOMETIMES"`, "MUST_CACHE, CACHE_THROUGH"}},
		{"hoard.fuse.mount.options=readtype=CACHE,allow_other", []string{"hoard.fuse.mount.options", `"allow_other"`, "writetype=TYPE and readtype=TYPE"}},
		{"hoard.log.level=verbose", []string{"hoard.log.level", "debug, info, warn, error"}},
		{"hoard.log.format=xml", []string{"hoard.log.format", "text, json"}},
		{"hoard.web.address=0.0.0.0:19999", []string{"hoard.web.token", "hoard.web.address", "loopback"}},
		{"hoard.web.address=:19999", []string{"hoard.web.token", "hoard.web.address"}},
		{"hoard.web.address=example.com:19999", []string{"hoard.web.token"}},
		{"hoard.web.address=", []string{"hoard.web.address", "host:port"}},
		{"hoard.web.address=19999", []string{"hoard.web.address", `"19999"`, "host:port"}},
		{"hoard.s3.address=127.0.0.1:http", []string{"hoard.s3.address", "port"}},
		{"hoard.s3.address=127.0.0.1:70000", []string{"hoard.s3.address", "port"}},
		{"hoard.s3.accessKey=ak", []string{"hoard.s3.accessKey", "hoard.s3.secretKey", "together"}},
		{"hoard.root.ufs=hdfs://nn/x", []string{"hoard.root.ufs", `"hdfs"`, "oss://bucket"}},
		{"hoard.root.ufs=oss://", []string{"hoard.root.ufs", "no bucket"}},
		{"hoard.root.ufs=c:foo", []string{"hoard.root.ufs", "want file:///path"}},
		{"hoard.home=", []string{"hoard.home", "directory path"}},
		{"hoard.cache.dirs=/a,,/b", []string{"hoard.cache.dirs", "comma-separated"}},
		{"hoard.home=${hoard.nothing}/x", []string{"hoard.home", "${hoard.nothing}", "not set"}},
		{"hoard.home=${hoard.metadata.dir}", []string{"cycle", "hoard.home -> hoard.metadata.dir -> hoard.home"}},
		{"hoard.log.level=${hoard.log.level}", []string{"cycle", "hoard.log.level -> hoard.log.level"}},
		{"hoard.home=${hoard.home", []string{"unterminated"}},
		{"hoard.log.level=${hoard.log.format}\nhoard.log.format=json", []string{"hoard.log.level", `"json"`}},
		{"hoard.cache.quota=1x\nhoard.log.level=loud\nbogus=1", []string{"hoard.cache.quota", "hoard.log.level", `"bogus"`}},
		{`a=\u00zz`, []string{"line 1", "malformed"}},
		{"fs.oss.accessKeySecret=s${cr}et", []string{"fs.oss.accessKeySecret", "secret"}},
	} {
		_, path, err := loadString(t, c.in)
		if err == nil {
			t.Errorf("%q: loaded, want an error", c.in)
			continue
		}
		if strings.Contains(err.Error(), "${cr}") {
			t.Errorf("%q: error %q shows part of a secret", c.in, err)
		}
		for _, w := range append(c.want, path) {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not contain %q", c.in, err, w)
			}
		}
	}
}

func TestRedacted(t *testing.T) {
	inTempDir(t)
	c, _, err := loadString(t, strings.Join([]string{
		"hoard.web.token=tok-123",
		"hoard.s3.accessKey=ak-visible",
		"hoard.s3.secretKey=sk-123",
		"fs.oss.accessKeyId=oss-id-visible",
		"fs.oss.accessKeySecret=oss-secret-123",
		"fs.s3.secretKey=s3-secret-123",
		"fs.oss.securityToken=sts-token-123",
	}, "\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Redacted()
	for k, v := range r {
		if strings.Contains(v, "123") {
			t.Errorf("Redacted()[%s] = %q shows a secret", k, v)
		}
	}
	for _, k := range []string{"hoard.web.token", "hoard.s3.secretKey", "fs.oss.accessKeySecret", "fs.s3.secretKey", "fs.oss.securityToken"} {
		if r[k] == "" {
			t.Errorf("Redacted()[%s] is empty; want it masked, not dropped", k)
		}
	}
	if r["hoard.s3.accessKey"] != "ak-visible" || r["fs.oss.accessKeyId"] != "oss-id-visible" || r["hoard.log.level"] != "info" {
		t.Errorf("Redacted() masks too much: %v", r)
	}
	if c.Raw["fs.s3.secretKey"] != "s3-secret-123" {
		t.Errorf("Redacted() changed Raw")
	}
}

// templatePath is the template, relative to this package.
const templatePath = "../../conf/hoard-site.properties.template"

// commentedSetting matches a commented-out "# key=value" line.
var commentedSetting = regexp.MustCompile(`(?m)^#[ \t]*([A-Za-z][A-Za-z0-9.]*[ \t]*=.*)$`)

func TestTemplateLoads(t *testing.T) {
	data, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	inTempDir(t)
	// As shipped: everything commented out, so the defaults.
	c, err := LoadConfig(abs, noEnv)
	if err != nil {
		t.Fatalf("template as shipped: %v", err)
	}
	if len(c.UFSOptions) != 0 {
		t.Errorf("template as shipped sets %v", c.UFSOptions)
	}
	defaults, err := LoadConfig("", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Raw, defaults.Raw) {
		t.Errorf("template as shipped differs from the defaults:\n%v\n%v", c.Raw, defaults.Raw)
	}

	// Every setting uncommented: it still loads, and each commented default
	// is the real default (the examples for unset keys aside).
	uncommented := commentedSetting.ReplaceAllString(string(data), "$1")
	p := writeFile(t, ".", "all.properties", uncommented)
	all, err := LoadConfig(p, noEnv)
	if err != nil {
		t.Fatalf("template with every setting uncommented: %v", err)
	}
	for _, k := range configKeys {
		if k.def != "" && all.Raw[k.name] != defaults.Raw[k.name] {
			t.Errorf("template shows %s = %q, but the default is %q", k.name, all.Raw[k.name], defaults.Raw[k.name])
		}
	}
}

func TestTemplateDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range commentedSetting.FindAllStringSubmatch(string(data), -1) {
		key, _, _ := strings.Cut(m[1], "=")
		documented[strings.TrimSpace(key)] = true
	}
	var keys []string
	for _, k := range configKeys {
		keys = append(keys, k.name)
	}
	for _, k := range append(keys, ufsOptionKeys...) {
		if !documented[k] {
			t.Errorf("the template does not document %s", k)
		}
	}
	for k := range documented {
		if !isUFSOption(k) && !strings.HasPrefix(k, "hoard.") {
			t.Errorf("the template documents %s, which is not a key", k)
		}
	}
}

// formatProperty writes key and value so that parseProperties reads them
// back exactly: the inverse of the parser, for the round-trip fuzz test.
func formatProperty(key, value string) string {
	esc := func(s string, all bool) string {
		var b strings.Builder
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\':
				b.WriteString(`\\`)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c == '\f':
				b.WriteString(`\f`)
			case c == ' ' && (all || i == 0 || i == len(s)-1 || strings.Trim(s[i:], " ") == ""):
				b.WriteString(`\ `)
			case all && strings.IndexByte("=:#!", c) >= 0:
				b.WriteByte('\\')
				b.WriteByte(c)
			default:
				b.WriteByte(c)
			}
		}
		return b.String()
	}
	return esc(key, true) + "=" + esc(value, false)
}

func FuzzParseProperties(f *testing.F) {
	for _, seed := range []string{
		"a=b", "a: b\n# c\n! d\nk v", "a=1\\\n  2", `a=\u00e9\ud83d\ude00`, "a\\=b=c\\ ",
		"a=\\", "\\", "=", ":x", "a=\\u12", "\r\n\r", "a=b \\\\\n c",
	} {
		f.Add(seed, "key", "value")
	}
	f.Fuzz(func(t *testing.T, data, key, value string) {
		// Any input: no panic, and what parses re-formats to the same.
		props, err := parseProperties(data)
		if err == nil {
			var lines []string
			for _, p := range props {
				lines = append(lines, formatProperty(p.key, p.value))
			}
			again, err := parseProperties(strings.Join(lines, "\n"))
			if err != nil {
				t.Fatalf("re-parse of %q: %v", lines, err)
			}
			if len(again) != len(props) {
				t.Fatalf("re-parse of %q: %d properties, want %d", lines, len(again), len(props))
			}
			for i := range again {
				if again[i].key != props[i].key || again[i].value != props[i].value {
					t.Fatalf("re-parse of %q: %+v, want %+v", lines[i], again[i], props[i])
				}
			}
		}

		// A simple key and value survive a round trip.
		if key == "" || !utf8.ValidString(key) || !utf8.ValidString(value) {
			return
		}
		got, err := parseProperties(formatProperty(key, value))
		if err != nil {
			t.Fatalf("round trip of %q=%q: %v", key, value, err)
		}
		if len(got) != 1 || got[0].key != key || got[0].value != value {
			t.Fatalf("round trip of %q=%q: got %+v", key, value, got)
		}
	})
}
