package app_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

func TestAuditEntriesAreBounded(t *testing.T) {
	e := fb.AuditEntry{User: strings.Repeat("u", 5000), Issue: strings.Repeat("K", 300), Action: "branch.create",
		Target: strings.Repeat("é", 3000), Actor: fb.Actor{Login: strings.Repeat("l", 1000)}}
	app.BoundAudit(&e)
	for field, v := range map[string]string{"user": e.User, "issue": e.Issue, "login": e.Actor.Login} {
		if len(v) > 255 || !strings.HasSuffix(v, "…") {
			t.Errorf("%s: %d bytes, want at most 255 ending in …", field, len(v))
		}
	}
	if len(e.Target) > 1000 || !utf8.ValidString(e.Target) {
		t.Errorf("target: %d bytes, valid UTF-8 %v", len(e.Target), utf8.ValidString(e.Target))
	}
	if e.Action != "branch.create" {
		t.Errorf("a short field changed: %q", e.Action)
	}
	if got := app.Truncate("short", 10); got != "short" {
		t.Errorf("Truncate of a short value: %q", got)
	}
}
