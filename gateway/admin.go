package gateway

// The admin REST API: JSON over HTTP under /api/v1/fs/ on hoard.web.address,
// what `hoard fs` and `hoard runTests` talk to. Like the S3 API it is a thin
// adapter: every operation is one or a few store calls, and the store owns
// the rules. It changes state (mounts with credentials, deletes, persists),
// which is why it listens on loopback by default and NewWeb guards it with
// the bearer token when hoard.web.token is set.
//
// # Requests
//
// Operations are named by the last path element (GET /api/v1/fs/ls,
// POST /api/v1/fs/rm, ...) and take their arguments as query parameters;
// only mount takes a JSON body, so that credentials never travel in a URL
// (URLs end up in logs). Unknown parameters are refused, so that a typo
// never silently changes what an operation does.
//
// # Answers
//
// Single results are one JSON object. Listings (ls) and progress (load,
// persist) stream JSON lines (application/x-ndjson), flushed as they come,
// so that a directory of any size is never held in memory and a long load
// shows progress. Errors are {"error": "...", "code": "ENOENT"} with the
// HTTP status that fits (404, 409, 400, 403, 503, ...); an error after a
// stream started is sent as a last line of the same shape.
//
// Secrets are never echoed: the mount table's secret options are masked by
// the store and again here, and URIs lose any password.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hoardfs/hoard/store"
)

// AdminPrefix is where the admin API's operations live.
const AdminPrefix = "/api/v1/fs/"

// AdminError is the body of every admin API error, and the last line of a
// stream that failed.
type AdminError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// adminErr is an error of the request itself (a bad parameter), with its
// HTTP status and code.
type adminErr struct {
	status int
	code   string
	msg    string
}

func (e *adminErr) Error() string { return e.msg }

func adminBadRequest(format string, args ...any) error {
	return &adminErr{status: http.StatusBadRequest, code: "EINVAL", msg: fmt.Sprintf(format, args...)}
}

// adminErrnos maps the store's errnos to an HTTP status and a code.
var adminErrnos = map[syscall.Errno]struct {
	status int
	code   string
}{
	syscall.ENOENT:       {http.StatusNotFound, "ENOENT"},
	syscall.ESTALE:       {http.StatusNotFound, "ENOENT"}, // vanished while we looked
	syscall.ENODATA:      {http.StatusNotFound, "ENODATA"},
	syscall.EEXIST:       {http.StatusConflict, "EEXIST"},
	syscall.ENOTEMPTY:    {http.StatusConflict, "ENOTEMPTY"},
	syscall.EBUSY:        {http.StatusConflict, "EBUSY"},
	syscall.ENOTDIR:      {http.StatusBadRequest, "ENOTDIR"},
	syscall.EISDIR:       {http.StatusBadRequest, "EISDIR"},
	syscall.EINVAL:       {http.StatusBadRequest, "EINVAL"},
	syscall.ENAMETOOLONG: {http.StatusBadRequest, "ENAMETOOLONG"},
	syscall.EXDEV:        {http.StatusBadRequest, "EXDEV"},
	syscall.ELOOP:        {http.StatusBadRequest, "ELOOP"},
	syscall.ERANGE:       {http.StatusBadRequest, "ERANGE"},
	syscall.EFBIG:        {http.StatusBadRequest, "EFBIG"},
	syscall.EROFS:        {http.StatusForbidden, "EROFS"},
	syscall.EPERM:        {http.StatusForbidden, "EPERM"},
	syscall.EACCES:       {http.StatusForbidden, "EACCES"},
	syscall.ENOSPC:       {http.StatusInsufficientStorage, "ENOSPC"},
	syscall.EIO:          {http.StatusServiceUnavailable, "EIO"}, // a UFS fault, retried and given up
	syscall.ETIMEDOUT:    {http.StatusGatewayTimeout, "ETIMEDOUT"},
}

// adminStatus picks the HTTP status and code of err.
func adminStatus(err error) (int, string) {
	var ae *adminErr
	if errors.As(err, &ae) {
		return ae.status, ae.code
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return http.StatusGatewayTimeout, "ETIMEDOUT"
	}
	if m, ok := adminErrnos[store.Errno(err)]; ok {
		return m.status, m.code
	}
	return http.StatusInternalServerError, "EIO"
}

// adminRoute is one operation.
type adminRoute struct {
	method string
	name   string   // last path element
	params []string // the query parameters it knows
	fn     func(w *adminWriter, r *http.Request, q adminQuery) error
}

// adminAPI serves the operations over one store.
type adminAPI struct {
	st  *store.Store
	log *slog.Logger
}

// registerAdmin adds the admin API's routes to mux.
func registerAdmin(mux *http.ServeMux, st *store.Store, log *slog.Logger) {
	a := &adminAPI{st: st, log: log}
	for _, rt := range a.routes() {
		mux.Handle(rt.method+" "+AdminPrefix+rt.name, a.handler(rt))
	}
	mux.HandleFunc(AdminPrefix+"{op...}", func(w http.ResponseWriter, r *http.Request) {
		known := []string{}
		for _, rt := range a.routes() {
			if rt.name == r.PathValue("op") {
				known = append(known, rt.method)
			}
		}
		if len(known) > 0 {
			w.Header().Set("Allow", strings.Join(known, ", "))
			writeAdminError(w, &adminErr{status: http.StatusMethodNotAllowed, code: "EINVAL",
				msg: fmt.Sprintf("%s %s: use %s", r.Method, r.URL.Path, strings.Join(known, " or "))})
			return
		}
		writeAdminError(w, &adminErr{status: http.StatusNotFound, code: "ENOSYS",
			msg: fmt.Sprintf("no admin operation %q", r.PathValue("op"))})
	})
}

func (a *adminAPI) routes() []adminRoute {
	return []adminRoute{
		{"GET", "ls", []string{"path", "recursive", "sync", "directory", "after", "limit"}, a.ls},
		{"GET", "stat", []string{"path"}, a.stat},
		{"GET", "cat", []string{"path", "readtype"}, a.cat},
		{"POST", "mkdir", []string{"path", "parents", "writetype"}, a.mkdir},
		{"POST", "rm", []string{"path", "recursive"}, a.rm},
		{"POST", "mv", []string{"src", "dst"}, a.mv},
		{"POST", "sync", []string{"path", "recursive"}, a.sync},
		{"PUT", "write", []string{"path", "writetype", "via", "chunk"}, a.write},
		{"GET", "persistence", []string{"path", "wait", "timeout"}, a.persistence},
		{"GET", "mounts", nil, a.mounts},
		{"POST", "mount", nil, a.mount},
		{"POST", "unmount", []string{"path", "force"}, a.unmount},
		{"POST", "load", []string{"path", "readtype"}, a.load},
		{"POST", "persist", []string{"path"}, a.persist},
		{"POST", "free", []string{"path"}, a.free},
		{"POST", "pin", []string{"path"}, a.pin(true)},
		{"POST", "unpin", []string{"path"}, a.pin(false)},
		{"POST", "setTtl", []string{"path", "ttl", "action"}, a.setTTL},
		{"POST", "unsetTtl", []string{"path"}, a.unsetTTL},
		{"GET", "checksum", []string{"path", "readtype"}, a.checksum},
		{"GET", "du", []string{"path"}, a.du},
		{"GET", "report", nil, a.report},
	}
}

// handler checks the parameters, tags the request's store calls as the
// admin door's, runs the operation and writes its error.
func (a *adminAPI) handler(rt adminRoute) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := time.Now()
		w := &adminWriter{ResponseWriter: rw}
		q := adminQuery{v: r.URL.Query()}
		err := q.check(rt.name, rt.params)
		if err == nil {
			ctx := store.WithOrigin(r.Context(), "admin")
			err = rt.fn(w, r.WithContext(ctx), q)
		}
		if err != nil {
			if w.streaming {
				status, code := adminStatus(err)
				w.line(AdminError{Error: err.Error(), Code: code})
				a.log.Info("admin", "op", rt.name, "status", status, "err", err, "took", time.Since(start))
				return
			}
			if w.wrote {
				// Raw bytes (cat) are on their way: cut the connection so
				// that the client sees a short body, never a silent one.
				a.log.Warn("admin", "op", rt.name, "err", err, "took", time.Since(start))
				panic(http.ErrAbortHandler)
			}
			status := writeAdminError(w, err)
			a.log.Info("admin", "op", rt.name, "status", status, "err", err, "took", time.Since(start))
			return
		}
		a.log.Debug("admin", "op", rt.name, "path", q.v.Get("path"), "took", time.Since(start))
	})
}

func writeAdminError(w http.ResponseWriter, err error) int {
	status, code := adminStatus(err)
	writeJSON(w, status, AdminError{Error: err.Error(), Code: code})
	return status
}

// adminWriter remembers what was sent, so that a late error is reported in
// the form the client is reading.
type adminWriter struct {
	http.ResponseWriter
	wrote     bool // headers sent
	streaming bool // JSON lines sent
	enc       *json.Encoder
	lines     int
}

func (w *adminWriter) WriteHeader(code int) {
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *adminWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

func (w *adminWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// line sends v as one JSON line of a stream. Every 64 lines, and whenever
// flush is asked for, the lines go out to the client.
func (w *adminWriter) line(v any) error {
	if !w.streaming {
		w.streaming = true
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		w.enc = json.NewEncoder(w)
	}
	if err := w.enc.Encode(v); err != nil {
		return err
	}
	if w.lines++; w.lines%64 == 0 {
		w.Flush()
	}
	return nil
}

// reply sends one JSON object.
func (w *adminWriter) reply(status int, v any) error {
	writeJSON(w, status, v)
	return nil
}

// adminQuery reads and checks query parameters.
type adminQuery struct{ v url.Values }

func (q adminQuery) check(op string, known []string) error {
	for k, vs := range q.v {
		if !slices.Contains(known, k) {
			if len(known) == 0 {
				return adminBadRequest("%s takes no parameter; got %q", op, k)
			}
			return adminBadRequest("unknown parameter %q for %s (known: %s)", k, op, strings.Join(known, ", "))
		}
		if len(vs) > 1 {
			return adminBadRequest("parameter %q given %d times", k, len(vs))
		}
	}
	return nil
}

// path reads a required absolute path and returns it cleaned ("/a/b").
func (q adminQuery) path(name string) (string, error) {
	p, ok := q.v[name]
	if !ok || p[0] == "" {
		return "", adminBadRequest("parameter %q (an absolute path) is required", name)
	}
	return adminCleanPath(p[0])
}

func adminCleanPath(p string) (string, error) {
	parts, err := store.SplitPath(strings.TrimSuffix(p, "/"))
	if p == "/" {
		parts, err = nil, nil
	}
	if err != nil {
		return "", err
	}
	return "/" + strings.Join(parts, "/"), nil
}

func (q adminQuery) bool(name string) (bool, error) {
	switch v := q.v.Get(name); v {
	case "", "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	default:
		return false, adminBadRequest("parameter %q = %q: want true or false", name, v)
	}
}

func (q adminQuery) int(name string, def, lo, hi int64) (int64, error) {
	v := q.v.Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, adminBadRequest("parameter %q = %q: want an integer from %d to %d", name, v, lo, hi)
	}
	return n, nil
}

func (q adminQuery) duration(name string, def, hi time.Duration) (time.Duration, error) {
	v := q.v.Get(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > hi {
		return 0, adminBadRequest("parameter %q = %q: want a duration such as 30s, at most %v", name, v, hi)
	}
	return d, nil
}

// writeType applies the writetype parameter, if any, to the request.
func (q adminQuery) writeType(r *http.Request) (*http.Request, error) {
	v := q.v.Get("writetype")
	if v == "" {
		return r, nil
	}
	wt, err := store.ParseWriteType(strings.ToUpper(v))
	if err != nil {
		return nil, adminBadRequest("parameter writetype: %v", err)
	}
	return r.WithContext(store.WithWriteType(r.Context(), wt)), nil
}

// readType applies the readtype parameter, if any, to the request.
func (q adminQuery) readType(r *http.Request) (*http.Request, error) {
	v := q.v.Get("readtype")
	if v == "" {
		return r, nil
	}
	rt, err := store.ParseReadType(strings.ToUpper(v))
	if err != nil {
		return nil, adminBadRequest("parameter readtype: %v", err)
	}
	return r.WithContext(store.WithReadType(r.Context(), rt)), nil
}

// adminRedactURI hides a password in a URI's user info, for display. The UFS
// backends refuse credentials in URIs, but a mount table written by an
// older version may hold one.
func adminRedactURI(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		if i := strings.Index(uri, "://"); i >= 0 {
			return uri[:i+3] + "..."
		}
		return uri
	}
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			return u.Redacted()
		}
	}
	return uri
}

// adminSecretOption says whether a mount option's value must never be shown.
func adminSecretOption(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"secret", "token", "password", "credential"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}

// withPath names path p in a store error that names an inode ("mkdir ino
// 72/b: file exists"), which the store's inode-based calls do: a user
// knows paths. The errno is kept.
func withPath(err error, p string) error {
	var oe *store.OpError
	if errors.As(err, &oe) && strings.HasPrefix(oe.Path, "ino ") {
		return &store.OpError{Op: oe.Op, Path: p, Err: oe.Err}
	}
	return err
}
