package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestIssuesCommand: the served program answers the issue search, through
// the CLI, in each format, and its errors come back as the API words them.
func TestIssuesCommand(t *testing.T) {
	p := newProgram(t, nil)
	admin, err := p.cli("", "users", "add", "admin", "--admin", "--create")
	if err != nil {
		t.Fatal(err)
	}
	p.serve()
	defer p.shutdown()
	as := func(args ...string) (string, error) {
		c := &program{t: t, env: map[string]string{"FORGEBRIDGE_SERVER": p.base, "FORGEBRIDGE_API_TOKEN": strings.TrimSpace(admin)}}
		return c.cli("", args...)
	}
	out, err := as("issues")
	var page struct{ Values []any }
	if err != nil || json.Unmarshal([]byte(out), &page) != nil || page.Values == nil || len(page.Values) != 0 {
		t.Errorf("issues: %q %v, want an empty list", out, err)
	}
	if out, err := as("issues", "--format", "csv", "--author", "someone@example.com"); err != nil ||
		out != "key,commits,branches,pullRequests,lastActivity\n" {
		t.Errorf("issues --format csv: %q %v", out, err)
	}
	if out, err := as("issues", "--format", "markdown", "--pr-state", "open"); err != nil ||
		out != "# Issues, pull requests open\n\nNo issues.\n" {
		t.Errorf("issues --format markdown: %q %v", out, err)
	}
	if _, err := as("issues", "--range", "v1.0..v1.1"); err == nil || !strings.Contains(err.Error(), "repositoryId") ||
		!strings.Contains(err.Error(), "invalid_request") {
		t.Errorf("a range without a repository: %v", err)
	}
}
