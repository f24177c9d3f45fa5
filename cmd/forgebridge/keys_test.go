package main

import (
	"context"
	"errors"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
)

// TestKeysRotateAudited checks that a key rotation from the command line is
// an audit entry, and so is a failed one.
func TestKeysRotateAudited(t *testing.T) {
	p := newProgram(t, nil)
	if _, err := p.cli("", "users", "add", "admin", "--admin", "--create"); err != nil {
		t.Fatal(err)
	}
	if out, err := p.cli("", "keys", "rotate"); err != nil || !strings.Contains(out, "new primary key") {
		t.Fatalf("keys rotate: %q %v", out, err)
	}
	ctx := context.Background()
	st, _, err := config{data: p.env["FORGEBRIDGE_DATA"]}.open(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// A failed operation is audited too (a rotation is hard to make fail
	// here: the tests may run as root, which writes anywhere).
	if err := auditKeys(ctx, st, fb.AuditKeysRotate, keyTarget(0), errors.New("disk full")); err != nil {
		t.Fatal(err)
	}
	entries, _, err := st.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, Action: fb.AuditKeysRotate})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{fb.AuditOutcomeFailure, fb.AuditOutcomeSuccess}
	if len(entries) != len(want) {
		t.Fatalf("%d keys.rotate audit entries %+v, want %d", len(entries), entries, len(want))
	}
	for i, e := range entries {
		if e.Outcome != want[i] || !strings.HasPrefix(e.User, "(command line") {
			t.Errorf("entry %d: %+v, want outcome %s by the command line", i, e, want[i])
		}
	}
	if last := entries[len(entries)-1]; !strings.HasPrefix(last.Target, "key ") {
		t.Errorf("the rotation's target %q, want the new key's id", last.Target)
	}
	if entries[0].Code != string(fb.EInternal) {
		t.Errorf("the failure's code %q, want %s", entries[0].Code, fb.EInternal)
	}
}
