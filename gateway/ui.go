package gateway

// The web UI at "/" on hoard.web.address: static files embedded in the
// binary (ui/), which fetch their data from JSON endpoints. The file
// browser, the mount table and the cache and queue totals come from the
// admin API (/api/v1/fs/ls, cat, mounts, report), so that the UI shows the
// numbers `hoard fs` prints; what only the UI needs is here, read-only,
// under /api/v1/ui/:
//
//	GET /api/v1/ui/overview     version, uptime, doors, root UFS
//	GET /api/v1/ui/queue        the persist queue's tasks, failures first seen
//	GET /api/v1/ui/throughput   per-second rates for the live graphs
//
// The static files hold no data, so they are served without the bearer
// token: the page asks for the token and sends it with every API call.

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/hoardfs/hoard/store"
	"github.com/hoardfs/hoard/store/metrics"
)

//go:embed ui
var uiFiles embed.FS

// UIInfo describes the daemon on the web UI's overview page. It holds no
// secrets: addresses and paths only.
type UIInfo struct {
	S3Address  string // "" when the gateway is off
	MountPoint string // "" when there is no FUSE mount
	WebAddress string
	Config     string // the configuration file, or "defaults"
}

// uiAssetPrefix is where the UI's static files are served.
const uiAssetPrefix = "/ui/"

// publicUIPath says whether path is a static file of the UI, served
// without the bearer token.
func publicUIPath(p string) bool {
	return p == "/" || (strings.HasPrefix(p, uiAssetPrefix) && !strings.Contains(p, ".."))
}

// uiAsset is one embedded file, ready to serve.
type uiAsset struct {
	data  []byte
	ctype string
	etag  string
}

type uiServer struct {
	st     *store.Store
	o      WebOptions
	assets map[string]uiAsset // by name under ui/
}

// registerUI adds the UI's pages and endpoints to mux.
func registerUI(mux *http.ServeMux, st *store.Store, o WebOptions) {
	u := &uiServer{st: st, o: o, assets: map[string]uiAsset{}}
	fs.WalkDir(uiFiles, "ui", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := uiFiles.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = "application/octet-stream"
		}
		u.assets[strings.TrimPrefix(p, "ui/")] = uiAsset{data, ctype, `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { u.serveAsset(w, r, "index.html") })
	mux.HandleFunc("GET "+uiAssetPrefix+"{name}", func(w http.ResponseWriter, r *http.Request) {
		u.serveAsset(w, r, r.PathValue("name"))
	})
	mux.HandleFunc("GET /api/v1/ui/overview", u.overview)
	mux.HandleFunc("GET /api/v1/ui/queue", u.queue)
	mux.HandleFunc("GET /api/v1/ui/throughput", u.throughput)
}

func (u *uiServer) serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := u.assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	// Everything the page loads comes from this server: no CDN, no inline
	// script, nothing another site can frame.
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Type", a.ctype)
	// Revalidated on every load, which costs a 304: a new binary's UI is
	// never mixed with an old cached script.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", a.etag)
	if r.Header.Get("If-None-Match") == a.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", strconv.Itoa(len(a.data)))
	w.Write(a.data)
}

// UIOverview is the answer of /api/v1/ui/overview. Cache and queue totals
// are in /api/v1/fs/report.
type UIOverview struct {
	Version       string    `json:"version"`
	GoVersion     string    `json:"goVersion"`
	Started       time.Time `json:"started"`
	UptimeSeconds int64     `json:"uptimeSeconds"`
	FuseMount     string    `json:"fuseMount"` // "" when off
	S3Address     string    `json:"s3Address"` // "" when off
	WebAddress    string    `json:"webAddress"`
	Config        string    `json:"config"`
	RootUFS       string    `json:"rootUfs"`
	Mounts        int       `json:"mounts"` // nested mounts and the root
	Metrics       bool      `json:"metrics"`
	// BlockSize is the cache block size in bytes.
	BlockSize int64 `json:"blockSize"`
}

func (u *uiServer) overview(w http.ResponseWriter, r *http.Request) {
	ov := UIOverview{
		Version: u.o.Version, GoVersion: runtime.Version(), Started: u.o.Started,
		UptimeSeconds: int64(time.Since(u.o.Started).Seconds()),
		FuseMount:     u.o.UI.MountPoint, S3Address: u.o.UI.S3Address, WebAddress: u.o.UI.WebAddress,
		Config: u.o.UI.Config, Metrics: u.o.Metrics != nil, BlockSize: u.st.BlockSize(),
	}
	for _, m := range u.st.Mounts() {
		ov.Mounts++
		if m.Path == "/" {
			ov.RootUFS = adminRedactURI(m.URI)
		}
	}
	writeJSON(w, http.StatusOK, ov)
}

// UIQueue is the answer of /api/v1/ui/queue: the head of the persist queue
// and the failing tasks found behind it.
type UIQueue struct {
	Depth       int      `json:"depth"`
	Failing     int      `json:"failing"`
	OldestAgeMs int64    `json:"oldestAgeMs"`
	Tasks       []UITask `json:"tasks"`
	// Shown is how many tasks are listed; the rest of the queue is counted
	// only (failing ones beyond the head are listed too, up to a bound).
	Shown int `json:"shown"`
}

// UITask is one persist-queue task.
type UITask struct {
	Seq       uint64 `json:"seq"`
	Kind      string `json:"kind"` // persist, marker, delete
	Path      string `json:"path,omitempty"`
	Mount     string `json:"mount"`
	Key       string `json:"key,omitempty"`
	Attempts  uint32 `json:"attempts"`
	LastError string `json:"lastError,omitempty"`
	AgeMs     int64  `json:"ageMs"`
	// NextInMs is how long until the next attempt; 0 when due.
	NextInMs int64 `json:"nextInMs"`
}

// Bounds of what /api/v1/ui/queue lists.
const (
	uiQueueHead    = 200
	uiQueueFailing = 100
)

func (u *uiServer) queue(w http.ResponseWriter, r *http.Request) {
	mounts := map[uint32]string{}
	for _, m := range u.st.Mounts() {
		mounts[m.ID] = m.Path
	}
	now := time.Now()
	q := UIQueue{Tasks: []UITask{}}
	failingListed := 0
	for t, err := range u.st.DB().Tasks(0) {
		if err != nil {
			break
		}
		if q.Depth == 0 {
			q.OldestAgeMs = now.Sub(time.Unix(0, t.Created)).Milliseconds()
		}
		q.Depth++
		if t.Attempts > 0 {
			q.Failing++
		}
		head := len(q.Tasks) < uiQueueHead && failingListed == 0
		if !head && !(t.Attempts > 0 && failingListed < uiQueueFailing) {
			continue
		}
		if !head {
			failingListed++
		}
		ut := UITask{
			Seq: t.Seq, Kind: t.Kind.String(), Mount: mounts[t.Mount], Key: t.Key, Attempts: t.Attempts,
			LastError: redactError(t.LastError), AgeMs: now.Sub(time.Unix(0, t.Created)).Milliseconds(),
		}
		if t.NextAttempt > 0 {
			ut.NextInMs = max(0, time.Unix(0, t.NextAttempt).Sub(now).Milliseconds())
		}
		if t.Kind.String() != "delete" {
			ut.Path, _ = u.st.PathOf(t.Ino)
		}
		q.Tasks = append(q.Tasks, ut)
	}
	q.Shown = len(q.Tasks)
	writeJSON(w, http.StatusOK, q)
}

// secretInError matches a credential that an error message may quote (a
// signed URL's query, a header dump), to mask its value.
var secretInError = regexp.MustCompile(`(?i)((?:signature|credential|security-token|accesskeyid|access_key|secret|password|token)[a-z-_]*["']?\s*[=:]\s*["']?)[^&\s"',;]+`)

// redactError masks credentials in an error message shown by the UI.
func redactError(msg string) string {
	return secretInError.ReplaceAllString(msg, "${1}xxxxx")
}

// UIThroughput is the answer of /api/v1/ui/throughput.
type UIThroughput struct {
	Enabled bool           `json:"enabled"` // false: metrics are off
	EveryMs int64          `json:"everyMs"`
	Rates   []metrics.Rate `json:"rates"`
}

// throughput answers the rates after ?since= (unix milliseconds), oldest
// first, so that the page fetches only what it has not drawn yet.
func (u *uiServer) throughput(w http.ResponseWriter, r *http.Request) {
	out := UIThroughput{Enabled: u.o.Metrics != nil, EveryMs: metrics.SampleEvery.Milliseconds(), Rates: []metrics.Rate{}}
	since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	for _, rt := range metrics.Rates(u.o.Metrics.Samples()) {
		if rt.UnixMs > since {
			out.Rates = append(out.Rates, rt)
		}
	}
	writeJSON(w, http.StatusOK, out)
}
