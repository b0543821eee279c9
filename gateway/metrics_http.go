package gateway

import (
	"net/http"

	"github.com/hoardfs/hoard/store/metrics"
)

// registerMetrics serves the Prometheus metrics at /metrics, behind the
// bearer token like the rest of the API (Prometheus sends one with
// `authorization: {credentials: ...}` in its scrape config). With no
// registry, /metrics answers 404 with a word on why.
func registerMetrics(mux *http.ServeMux, reg *metrics.Registry) {
	if reg == nil {
		mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "metrics are not enabled in this daemon", http.StatusNotFound)
		})
		return
	}
	mux.Handle("GET /metrics", reg.Handler())
}
