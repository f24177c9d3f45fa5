package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestVersionsAndIfMatch: GET sends the version as a strong ETag and in
// the body; a PATCH or DELETE with an If-Match that is no longer current is
// 412 version_mismatch and changes nothing.
func TestVersionsAndIfMatch(t *testing.T) {
	e := newEnv(t)
	admin := e.adminTok()
	integration := "/api/v1/integrations/" + e.integrationID
	version := func(r reply) string {
		t.Helper()
		var b struct{ Version string }
		if err := json.Unmarshal(r.body, &b); err != nil || b.Version == "" {
			t.Fatalf("no version in %s: %v", r.body, err)
		}
		if etag := r.header.Get("ETag"); etag != `"`+b.Version+`"` {
			t.Fatalf("ETag %q, version %q", etag, b.Version)
		}
		return b.Version
	}

	for _, path := range []string{integration, "/api/v1/settings"} {
		t.Run(path, func(t *testing.T) {
			r := e.do("GET", path, admin, nil)
			if r.status != http.StatusOK {
				t.Fatalf("GET: %d %s", r.status, r.body)
			}
			v1 := version(r)
			body := `{"requireUserPatEverywhere":true}`
			if path == integration {
				body = `{"settings":{"requireUserPat":true}}`
			}
			// Quoted as HTTP writes it.
			r = e.do("PATCH", path, admin, body, "If-Match", `"`+v1+`"`)
			if r.status != http.StatusOK {
				t.Fatalf("PATCH with the current version: %d %s", r.status, r.body)
			}
			v2 := version(r)
			if v2 == v1 {
				t.Fatalf("the version stayed %s through a change", v1)
			}
			// A bare version is accepted too; * and no If-Match mean any.
			for _, tc := range []struct {
				name    string
				ifMatch []string
				status  int
				code    string
			}{
				{"stale quoted", []string{"If-Match", `"` + v1 + `"`}, 412, "version_mismatch"},
				{"stale bare", []string{"If-Match", v1}, 412, "version_mismatch"},
				{"weak", []string{"If-Match", `W/"` + v2 + `"`}, 412, "version_mismatch"},
				{"a list", []string{"If-Match", `"` + v2 + `", "` + v1 + `"`}, 400, "invalid_request"},
				{"current bare", []string{"If-Match", v2}, 200, ""},
			} {
				before := e.do("GET", path, admin, nil)
				change := `{"name":"renamed"}`
				if path != integration {
					change = `{"branchNameMaxLength":99}`
				}
				r := e.do("PATCH", path, admin, change, tc.ifMatch...)
				if r.status != tc.status || r.code() != tc.code {
					t.Fatalf("%s: %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.code)
				}
				if tc.status != 200 {
					if after := e.do("GET", path, admin, nil); string(after.body) != string(before.body) {
						t.Fatalf("%s changed it:\n%s\n%s", tc.name, before.body, after.body)
					}
				} else {
					v2 = version(r)
				}
			}
			for _, any := range [][]string{{"If-Match", "*"}, nil} {
				if r := e.do("PATCH", path, admin, `{}`, any...); r.status != 200 {
					t.Fatalf("PATCH with %v: %d %s", any, r.status, r.body)
				}
			}
		})
	}

	r := e.do("GET", integration, admin, nil)
	current := version(r)
	if r := e.do("DELETE", integration, admin, nil, "If-Match", `"1"`); r.status != 412 || r.code() != "version_mismatch" {
		t.Fatalf("DELETE with a stale version: %d %s", r.status, r.body)
	}
	if r := e.do("GET", integration, admin, nil); r.status != 200 {
		t.Fatalf("the stale DELETE removed it: %d", r.status)
	}
	if r := e.do("DELETE", integration, admin, nil, "If-Match", `"`+current+`"`); r.status != 204 {
		t.Fatalf("DELETE with the current version: %d %s", r.status, r.body)
	}
}

// TestAuditShowsChanges: GET /api/v1/audit has what each admin change
// changed, and null for other entries.
func TestAuditShowsChanges(t *testing.T) {
	e := newEnv(t)
	admin := e.adminTok()
	if r := e.do("PATCH", "/api/v1/integrations/"+e.integrationID, admin,
		`{"name":"Acme GitHub","settings":{"requireUserPat":true},"credential":{"token":"`+serviceToken+`"},"webhookSecret":"whsec-x"}`); r.status != 200 {
		t.Fatalf("PATCH: %d %s", r.status, r.body)
	}
	if r := e.do("PATCH", "/api/v1/integrations/"+e.integrationID, admin, `{"settings":{"requireUserPat":false}}`,
		"If-Match", `"1"`); r.status != 412 {
		t.Fatalf("stale PATCH: %d %s", r.status, r.body)
	}
	r := e.do("GET", "/api/v1/audit?limit=3", admin, nil)
	var page struct {
		Values []struct {
			Action  string
			Outcome string
			Changes *map[string][2]any
		}
	}
	if err := json.Unmarshal(r.body, &page); err != nil || len(page.Values) != 3 {
		t.Fatalf("audit: %s %v", r.body, err)
	}
	refused, update, create := page.Values[0], page.Values[1], page.Values[2]
	if refused.Action != "integration.update" || refused.Outcome != "failure" || refused.Changes != nil {
		t.Errorf("refused change: %+v", refused)
	}
	raw, _ := json.Marshal(update.Changes)
	if want := `{"name":["Acme","Acme GitHub"],"settings.requireUserPat":[false,true],"webhookSecret":["replaced","replaced"]}`; string(raw) != want {
		t.Errorf("update changes %s, want %s", raw, want)
	}
	if create.Action != "integration.create" || create.Changes == nil || (*create.Changes)["credential"] != [2]any{"replaced", "replaced"} {
		t.Errorf("create: %+v", create)
	}
	for _, secret := range []string{serviceToken, "whsec-x"} {
		if strings.Contains(string(r.body), secret) {
			t.Fatalf("the audit answer holds a secret: %s", r.body)
		}
	}
}
