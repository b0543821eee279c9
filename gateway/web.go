package gateway

import (
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hoardfs/hoard/store"
	"github.com/hoardfs/hoard/store/metrics"
)

// WebOptions configure the web server on hoard.web.address: health, the
// admin REST API, the web UI and metrics.
type WebOptions struct {
	// Token, when set, is required as "Authorization: Bearer <token>" on
	// every request but the health check.
	Token string
	// Ready reports whether the daemon is up (mount and gateway serving);
	// the health check answers 503 until it is.
	Ready   func() bool
	Version string
	Started time.Time
	Logger  *slog.Logger

	// Metrics is served at /metrics and feeds the web UI's live graphs;
	// nil turns both off.
	Metrics *metrics.Registry
	// UI describes the daemon on the web UI's overview page (ui.go).
	UI UIInfo
}

// NewWeb returns the handler of the web server.
func NewWeb(st *store.Store, o WebOptions) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/health", func(w http.ResponseWriter, r *http.Request) {
		if o.Ready != nil && !o.Ready() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "starting"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"status":  "ok",
			"version": o.Version,
			"uptime":  time.Since(o.Started).Round(time.Second).String(),
		})
	})
	registerAdmin(mux, st, o.Logger) // /api/v1/fs/..., see admin.go
	registerUI(mux, st, o)           // / and /api/v1/ui/..., see ui.go
	registerMetrics(mux, o.Metrics)  // /metrics, see metrics_http.go
	return requireToken(o.Token, mux)
}

// requireToken guards everything but the health check and the UI's static
// files (which hold no data) with a bearer token, when one is configured.
func requireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/health" && !publicUIPath(r.URL.Path) {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="hoard"`)
				writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "missing or wrong bearer token (hoard.web.token)"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
