package gateway

import (
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hoardfs/hoard/store"
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
	return requireToken(o.Token, mux)
}

// requireToken guards everything but the health check with a bearer token,
// when one is configured.
func requireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/health" {
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
