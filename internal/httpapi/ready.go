package httpapi

import (
	"context"
	"net/http"
	"time"
)

// readyTimeout bounds each check of /readyz: a probe must answer.
const readyTimeout = 3 * time.Second

// readyz checks each part the service needs (API.md "Operations"): the
// database answers, the keyset opens the database's check value, the job
// queue works. Each part is "ok" or "down"; any part down makes the answer
// 503 "unready". Jira's state is reported but does not make it unready.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	body := map[string]string{"status": "ready"}
	status := http.StatusOK
	for _, part := range []struct {
		name  string
		check func(ctx context.Context) error
	}{{"database", s.Ready}, {"keyset", s.Keyset}, {"jobs", s.Jobs}} {
		if part.check == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		err := part.check(ctx)
		cancel()
		body[part.name] = "ok"
		if err != nil {
			s.Logger.Warn("not ready", "part", part.name, "err", err)
			body[part.name], body["status"], status = "down", "unready", http.StatusServiceUnavailable
		}
	}
	if s.Git != "" {
		// Indexing needs git; without it the rest of the service still serves.
		body["git"] = s.Git
	}
	if s.Tracker != nil {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		body["jira"] = "ok"
		if err := s.Tracker(ctx); err != nil {
			body["jira"] = "down" // degraded, still ready: what needs Jira says so itself
		}
	}
	writeJSON(w, status, body)
}
