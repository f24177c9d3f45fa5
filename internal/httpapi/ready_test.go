package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
)

func TestReadyzParts(t *testing.T) {
	ok := func(context.Context) error { return nil }
	down := func(context.Context) error { return errors.New("broken") }
	for _, tc := range []struct {
		name                   string
		database, keyset, jobs func(context.Context) error
		status                 int
		want                   map[string]string
	}{
		{"all up", ok, ok, ok, 200, map[string]string{"status": "ready", "database": "ok", "keyset": "ok", "jobs": "ok"}},
		{"keyset down", ok, down, ok, 503, map[string]string{"status": "unready", "database": "ok", "keyset": "down", "jobs": "ok"}},
		{"jobs down", ok, ok, down, 503, map[string]string{"status": "unready", "database": "ok", "keyset": "ok", "jobs": "down"}},
		{"database down", down, down, ok, 503, map[string]string{"status": "unready", "database": "down", "keyset": "down", "jobs": "ok"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Ready: tc.database, Keyset: tc.keyset, Jobs: tc.jobs}
			w := httptest.NewRecorder()
			s.readyz(w, httptest.NewRequest("GET", "/readyz", nil))
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.status || len(body) != len(tc.want) {
				t.Fatalf("status %d body %v, want %d %v", w.Code, body, tc.status, tc.want)
			}
			for k, v := range tc.want {
				if body[k] != v {
					t.Fatalf("%s = %q, want %q (body %v)", k, body[k], v, body)
				}
			}
		})
	}
}
