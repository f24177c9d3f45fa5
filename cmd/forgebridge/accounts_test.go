package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// cliErr runs a command and returns its standard output and error.
func (p *program) cliErr(stdin string, args ...string) (stdout, stderr string, err error) {
	var out, errOut bytes.Buffer
	err = run(context.Background(), args, p.getenv, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), err
}

// TestAdminCommandsNeedADatabase: a mistyped --data never makes a second,
// empty installation; --create (or serve) does make one.
func TestAdminCommandsNeedADatabase(t *testing.T) {
	p := newProgram(t, nil)
	data := p.env["FORGEBRIDGE_DATA"]
	for _, args := range [][]string{
		{"users", "add", "admin", "--admin"},
		{"tokens", "issue", "admin"},
		{"tokens", "list", "admin"},
		{"tokens", "revoke", "abc"},
		{"users", "deactivate", "admin"},
		{"users", "enrol", "admin"},
		{"migrate"},
		{"keys", "rotate"},
	} {
		_, _, err := p.cliErr("", args...)
		want := filepath.Join(data, "forgebridge.db")
		if err == nil || !strings.Contains(message(err), want) || !strings.Contains(message(err), "--create") {
			t.Errorf("%v without a database: %v, want a refusal naming %s and --create", args, err, want)
		}
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("the refused commands made the data directory: %v", err)
	}
	if out, _, err := p.cliErr("", "users", "add", "admin", "--admin", "--create"); err != nil || !strings.HasPrefix(out, "fbt_") {
		t.Fatalf("users add --create: %q %v", out, err)
	}
	if _, _, err := p.cliErr("", "tokens", "list", "admin"); err != nil {
		t.Errorf("tokens list on the new database: %v", err)
	}
}

// TestAccountCommands drives the lifecycle commands against a running
// server: what the CLI changes, the API sees at once.
func TestAccountCommands(t *testing.T) {
	p := newProgram(t, nil)
	admin, stderr, err := p.cliErr("", "users", "add", "admin", "--admin", "--create", "--expires-in-days", "0")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(admin, "\n") != 1 || !strings.HasPrefix(admin, "fbt_") || !strings.Contains(stderr, "NEVER expires") {
		t.Fatalf("users add --expires-in-days 0: stdout %q, stderr %q", admin, stderr)
	}
	admin = strings.TrimSpace(admin)
	p.serve()
	defer p.shutdown()

	dave, stderr, err := p.cliErr("", "users", "add", "dave")
	if err != nil || !strings.Contains(stderr, "expires on") || strings.Contains(dave, "expires") {
		t.Fatalf("users add dave: %q %q %v", dave, stderr, err)
	}
	dave = strings.TrimSpace(dave)
	p.must(p.call("GET", "/api/v1/me", dave, nil), 200, "dave's token")
	second, _, err := p.cliErr("", "tokens", "issue", "dave", "--name", "ci", "--expires-in-days", "7")
	if err != nil {
		t.Fatal(err)
	}
	second = strings.TrimSpace(second)
	p.must(p.call("GET", "/api/v1/me", second, nil), 200, "dave's second token")

	list, _, err := p.cliErr("", "tokens", "list", "dave")
	if err != nil || !strings.Contains(list, "ci") || !strings.Contains(list, "cli") || strings.Contains(list, "fbt_") {
		t.Fatalf("tokens list: %q %v", list, err)
	}
	mine := p.must(p.call("GET", "/api/v1/me/api-tokens", second, nil), 200, "dave's tokens")
	var ciID string
	for _, e := range mine.list {
		if m, _ := e.(map[string]any); m["name"] == "ci" {
			ciID, _ = m["id"].(string)
			if m["issuedBy"] != "cli" {
				t.Errorf("issuedBy of a token from the CLI = %v, want cli", m["issuedBy"])
			}
		}
	}
	if _, _, err := p.cliErr("", "tokens", "revoke", ciID); err != nil {
		t.Fatal(err)
	}
	p.mustErr(p.call("GET", "/api/v1/me", second, nil), 401, "unauthenticated", "revoked from the CLI")

	// Deactivation from the CLI: 401 at once; activation brings no token back.
	if _, _, err := p.cliErr("", "users", "deactivate", "dave"); err != nil {
		t.Fatal(err)
	}
	p.mustErr(p.call("GET", "/api/v1/me", dave, nil), 401, "unauthenticated", "deactivated from the CLI")
	if _, _, err := p.cliErr("", "users", "activate", "dave"); err != nil {
		t.Fatal(err)
	}
	p.mustErr(p.call("GET", "/api/v1/me", dave, nil), 401, "unauthenticated", "reactivated")

	// set-admin, and the last admin kept.
	if _, _, err := p.cliErr("", "users", "set-admin", "dave", "--admin=maybe"); err == nil {
		t.Error("set-admin took --admin=maybe")
	}
	if _, _, err := p.cliErr("", "users", "set-admin", "admin", "--admin=false"); err == nil || !strings.Contains(message(err), "last active administrator") {
		t.Errorf("demoting the last admin: %v", err)
	}
	if _, _, err := p.cliErr("", "users", "set-admin", "--admin=true", "dave"); err != nil {
		t.Fatal(err)
	}

	// An enrolment link is printed alone on standard output.
	link, _, err := p.cliErr("", "users", "enrol", "dave", "--url", "https://fb.example.com/")
	if err != nil || !strings.HasPrefix(link, "https://fb.example.com/enrol/fbe_") || strings.Count(link, "\n") != 1 {
		t.Errorf("users enrol: %q %v", link, err)
	}

	// The password comes from the first line of a pipe.
	if _, _, err := p.cliErr("a long enough password\nignored\n", "users", "passwd", "dave"); err != nil {
		t.Fatal(err)
	}

	// The CLI's changes are audited as "cli".
	audit := p.must(p.call("GET", "/api/v1/audit?limit=100&user=cli", admin, nil), 200, "audit")
	for _, action := range []string{"user.create", "user.update", "apitoken.issue", "apitoken.revoke", "user.enrol"} {
		if !strings.Contains(audit.raw, `"action":"`+action+`"`) {
			t.Errorf("no %s entry by cli in %s", action, audit.raw)
		}
	}
	me := p.must(p.call("PATCH", "/api/v1/directory/users/admin", admin, map[string]any{"admin": false}), 200, "demote admin now dave is one")
	if me.body["admin"] != false {
		t.Errorf("PATCH answer: %s", me.raw)
	}
}

// TestAdminCommandsNeedAPostgresDatabase: on PostgreSQL a database without
// forgebridge's tables is no installation either.
func TestAdminCommandsNeedAPostgresDatabase(t *testing.T) {
	dsn := storetest.NewPostgresDatabase(t)
	p := newProgram(t, map[string]string{"FORGEBRIDGE_DATABASE": dsn})
	if _, _, err := p.cliErr("", "users", "add", "admin", "--admin"); err == nil || !strings.Contains(message(err), "--create") {
		t.Fatalf("users add on an empty PostgreSQL database: %v", err)
	}
	if out, _, err := p.cliErr("", "users", "add", "admin", "--admin", "--create"); err != nil || !strings.HasPrefix(out, "fbt_") {
		t.Fatalf("users add --create: %q %v", out, err)
	}
	if _, _, err := p.cliErr("", "tokens", "issue", "admin"); err != nil {
		t.Errorf("tokens issue once the tables exist: %v", err)
	}
}
