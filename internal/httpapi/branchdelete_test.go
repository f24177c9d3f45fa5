package httpapi

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestDeleteBranchAPI: DELETE /api/v1/issues/{key}/branches answers each
// case of API.md with its status and code, and a deleted branch leaves the
// issue at once.
func TestDeleteBranchAPI(t *testing.T) {
	e := newEnv(t)
	repo := e.gh.Repo("acme/app")
	repo.AddBranch("feature-x")
	if r := e.json("POST", "/api/v1/issues/PROJ-1/branches", e.alice, e.branchBody("PROJ-1-made", "", false)); r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	body := func(name string) string { return fmt.Sprintf(`{"repositoryId":%q,"name":%q}`, e.repoID, name) }
	tests := []struct {
		name   string
		token  string
		body   string
		status int
		code   string
	}{
		{"no credentials", "", body("PROJ-1-made"), 401, "unauthenticated"},
		{"unknown field", e.alice, fmt.Sprintf(`{"repositoryId":%q,"nmae":"x"}`, e.repoID), 400, "invalid_request"},
		{"no name", e.alice, fmt.Sprintf(`{"repositoryId":%q}`, e.repoID), 400, "invalid_request"},
		{"without View Development Tools", e.bob, body("PROJ-1-made"), 403, "forbidden"},
		{"the default branch", e.alice, body("main"), 403, "forbidden"},
		{"not mentioning the issue", e.alice, body("feature-x"), 403, "forbidden"},
		{"no such branch", e.alice, body("PROJ-1-never"), 404, "not_found"},
		{"deleted", e.alice, body("PROJ-1-made"), 204, ""},
		{"deleted with a typed-in token", e.alice, fmt.Sprintf(`{"repositoryId":%q,"name":"PROJ-1-work","token":%q}`, e.repoID, aliceToken), 204, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.json("DELETE", "/api/v1/issues/PROJ-1/branches", tt.token, tt.body)
			if r.status != tt.status || r.code() != tt.code {
				t.Fatalf("DELETE: %d %s, want %d %q", r.status, r.body, tt.status, tt.code)
			}
		})
	}
	for _, name := range []string{"PROJ-1-made", "PROJ-1-work"} {
		if _, ok := repo.Branch(name); ok {
			t.Errorf("%s is still on the host", name)
		}
	}
	for _, name := range []string{"main", "feature-x"} {
		if _, ok := repo.Branch(name); !ok {
			t.Errorf("%s was deleted", name)
		}
	}
	r := e.do("GET", "/api/v1/issues/PROJ-1", e.alice, nil)
	var issue struct {
		Branches []struct{ Name string } `json:"branches"`
	}
	if err := json.Unmarshal(r.body, &issue); err != nil || r.status != 200 {
		t.Fatalf("GET issue: %d %s", r.status, r.body)
	}
	for _, b := range issue.Branches {
		if b.Name == "PROJ-1-made" {
			t.Errorf("the issue still lists the deleted branch: %s", r.body)
		}
	}
	audit := e.do("GET", "/api/v1/audit?limit=50", e.admin, nil)
	var page struct {
		Values []struct{ Action, Outcome, Target string } `json:"values"`
	}
	if err := json.Unmarshal(audit.body, &page); err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for _, v := range page.Values {
		if v.Action == "branch.delete" && v.Outcome == "success" {
			deleted++
		}
	}
	if deleted != 2 {
		t.Errorf("%d successful branch.delete audit entries, want 2: %s", deleted, audit.body)
	}
}
