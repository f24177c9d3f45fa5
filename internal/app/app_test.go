package app_test

import (
	"context"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

func TestAPITokenLifetime(t *testing.T) {
	ctx := context.Background()
	st := storetest.OpenSQLite(t, nil)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	svc := &app.Service{Store: st, Tracker: &local.Tracker{Store: st}, Now: func() time.Time { return now }}
	never := 0
	u, forever, err := svc.CreateUserExpiring(ctx, app.CLI, fb.User{Name: "alice"}, &never)
	if err != nil {
		t.Fatal(err)
	}
	hour, err := svc.IssueAPIToken(ctx, u, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		after time.Duration
		token string
		ok    bool
	}{
		{"fresh", 0, hour, true},
		{"just before expiry", time.Hour - time.Second, hour, true},
		{"at expiry", time.Hour, hour, false},
		{"long after", 48 * time.Hour, hour, false},
		{"without expiry, much later", 10000 * time.Hour, forever, true},
		{"not a forgebridge token", 0, "ghp_abc", false},
	}
	start := now
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = start.Add(tt.after)
			got, err := svc.Authenticate(ctx, tt.token)
			if tt.ok != (err == nil) || (err != nil && fb.ErrorCode(err) != fb.EUnauthenticated) || (tt.ok && got.Name != "alice") {
				t.Fatalf("Authenticate after %v: %v %v", tt.after, got, err)
			}
		})
	}
}
