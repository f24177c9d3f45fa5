package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
}

// TestAccountLifecycle drives the account and API token routes as API.md
// describes them: a token revoked or a user deactivated answers 401 at once.
func TestAccountLifecycle(t *testing.T) {
	e := newEnv(t)

	// The caller's own tokens: created (shown once), listed (never the token), revoked.
	r := e.do("POST", "/api/v1/me/api-tokens", e.alice, `{"name":"laptop","expiresInDays":0}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var made struct {
		ID, Name, Token string
		ExpiresAt       *string
		IssuedBy        *string
	}
	r.decode(t, &made)
	if !strings.HasPrefix(made.Token, "fbt_") || made.Name != "laptop" || made.ExpiresAt != nil || made.IssuedBy != nil || made.ID == "" {
		t.Fatalf("created token: %s", r.body)
	}
	if r := e.do("GET", "/api/v1/me", made.Token, nil); r.status != 200 {
		t.Fatalf("new token: %d", r.status)
	}
	r = e.do("GET", "/api/v1/me/api-tokens", e.alice, nil)
	if r.status != 200 || strings.Contains(string(r.body), made.Token) || strings.Contains(string(r.body), "fbt_") {
		t.Fatalf("list shows a token: %d %s", r.status, r.body)
	}
	var list []map[string]any
	r.decode(t, &list)
	if len(list) != 2 || list[0]["id"] != made.ID || list[0]["lastUsedAt"] == nil {
		t.Errorf("list = %s, want the new token (used once) first of 2", r.body)
	}
	for _, k := range []string{"id", "name", "createdAt", "expiresAt", "lastUsedAt", "issuedBy"} {
		if _, ok := list[1][k]; !ok {
			t.Errorf("entry has no %q: %v", k, list[1])
		}
	}
	if r := e.do("DELETE", "/api/v1/me/api-tokens/"+made.ID, e.bob, nil); r.status != 404 {
		t.Errorf("bob revokes alice's token: %d", r.status)
	}
	if r := e.do("DELETE", "/api/v1/me/api-tokens/"+made.ID, e.alice, nil); r.status != 204 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/me", made.Token, nil); r.status != 401 {
		t.Errorf("revoked token: %d, want 401", r.status)
	}

	// An admin issues one for bob; issuedBy names the admin.
	r = e.do("POST", "/api/v1/directory/users/bob/api-tokens", e.admin, `{"name":"ci","expiresInDays":7}`)
	r.decode(t, &made)
	if r.status != 201 || made.IssuedBy == nil || *made.IssuedBy != "admin" || made.ExpiresAt == nil {
		t.Fatalf("admin issues: %d %s", r.status, r.body)
	}
	bobCI := made.Token
	if r := e.do("GET", "/api/v1/directory/users/bob/api-tokens", e.alice, nil); r.status != 403 {
		t.Errorf("alice lists bob's tokens: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/directory/users/bob/api-tokens", e.admin, nil); r.status != 200 {
		t.Errorf("admin lists bob's tokens: %d", r.status)
	}

	// Deactivating bob: 401 at once for every token; reactivating brings none back.
	r = e.do("PATCH", "/api/v1/directory/users/bob", e.admin, `{"active":false,"displayName":"Bob B."}`)
	if r.status != 200 || !strings.Contains(string(r.body), `"active":false`) || !strings.Contains(string(r.body), `"displayName":"Bob B."`) {
		t.Fatalf("deactivate: %d %s", r.status, r.body)
	}
	for _, tok := range []string{e.bob, bobCI} {
		if r := e.do("GET", "/api/v1/me", tok, nil); r.status != 401 {
			t.Errorf("deactivated user's token: %d, want 401", r.status)
		}
	}
	if r := e.do("PATCH", "/api/v1/directory/users/bob", e.admin, `{"active":true}`); r.status != 200 {
		t.Fatalf("reactivate: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/me", bobCI, nil); r.status != 401 {
		t.Errorf("a token revoked by deactivation works again: %d", r.status)
	}

	// The last active admin stays; rules and bounds answer 400.
	for _, tc := range []struct {
		method, path, body string
		status             int
	}{
		{"PATCH", "/api/v1/directory/users/admin", `{"admin":false}`, 400},
		{"PATCH", "/api/v1/directory/users/admin", `{"active":false}`, 400},
		{"DELETE", "/api/v1/directory/users/admin", "", 400},
		{"PATCH", "/api/v1/directory/users/bob", `{"displayName":"` + strings.Repeat("x", 201) + `"}`, 400},
		{"PATCH", "/api/v1/directory/users/bob", `{"actve":true}`, 400},
		{"PATCH", "/api/v1/directory/users/nobody", `{"admin":true}`, 404},
		{"POST", "/api/v1/me/api-tokens", `{"expiresInDays":-1}`, 400},
		{"POST", "/api/v1/me/api-tokens", `{"name":"` + strings.Repeat("x", 201) + `"}`, 400},
	} {
		var body any
		if tc.body != "" {
			body = tc.body
		}
		if r := e.do(tc.method, tc.path, e.admin, body); r.status != tc.status {
			t.Errorf("%s %s %s: %d %s, want %d", tc.method, tc.path, tc.body, r.status, r.body, tc.status)
		}
	}

	// Deleting alice: 401 at once.
	if r := e.do("DELETE", "/api/v1/directory/users/alice", e.alice, nil); r.status != 403 {
		t.Errorf("alice deletes herself: %d", r.status)
	}
	if r := e.do("DELETE", "/api/v1/directory/users/alice", e.admin, nil); r.status != 204 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/me", e.alice, nil); r.status != 401 {
		t.Errorf("deleted user's token: %d, want 401", r.status)
	}

	// Enrolment link for bob.
	r = e.do("POST", "/api/v1/directory/users/bob/enrolment", e.admin, nil)
	var en struct{ URL, ExpiresAt string }
	r.decode(t, &en)
	if r.status != 201 || !strings.Contains(en.URL, "/enrol/fbe_") || en.ExpiresAt == "" {
		t.Errorf("enrolment: %d %s", r.status, r.body)
	}

	// Every change is in the audit log.
	r = e.do("GET", "/api/v1/audit?limit=100", e.admin, nil)
	for _, action := range []string{"user.create", "user.update", "user.delete", "user.enrol", "permissions.update",
		"project.create", "issue.create", "apitoken.issue", "apitoken.revoke"} {
		if !strings.Contains(string(r.body), `"action":"`+action+`"`) {
			t.Errorf("no %s entry in the audit log", action)
		}
	}
}
