package jira

import (
	"context"
	"fmt"
	"testing"
)

// TestVisibleIssues asks which of many issues a person may browse: as them,
// with one search per hundred keys, leaving out what Jira hides from them
// (a security level, a project they may not browse) or does not know; and
// not at all without a token of theirs.
func TestVisibleIssues(t *testing.T) {
	g := newGrantEnv(t)
	var keys []string
	want := map[string]bool{}
	for i := range 250 {
		k := fmt.Sprintf("PROJ-%d", 100+i)
		g.fake.AddIssue(k, "Issue", "Task")
		keys = append(keys, k)
		want[k] = true
	}
	g.fake.RestrictIssue("PROJ-101", "bob")
	delete(want, "PROJ-101")
	g.fake.AddProject("OTHER", "Other")
	g.fake.AddIssue("OTHER-1", "Hidden", "Task")
	keys = append(keys, "OTHER-1", "NOPE-1")

	tests := []struct {
		name      string
		signIn    bool
		wantOK    bool
		wantCalls int // searches as alice
	}{
		{name: "no token of hers: not asked", wantOK: false},
		{name: "kept grant: as her, a search per hundred keys", signIn: true, wantOK: true, wantCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.signIn {
				g.signIn(t, "alice", g.alice)
			}
			g.fake.ResetCalls()
			got, ok, err := g.tr.VisibleIssues(context.Background(), g.alice, keys)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK {
				t.Fatalf("asked as her: %v, want %v", ok, tt.wantOK)
			}
			searches := 0
			for _, c := range g.fake.Calls() {
				if c.Path == "/rest/api/2/search" {
					searches++
					if c.User != "alice" {
						t.Errorf("search as %q, want alice", c.User)
					}
				}
			}
			if searches != tt.wantCalls {
				t.Errorf("%d searches, want %d", searches, tt.wantCalls)
			}
			if !ok {
				return
			}
			if len(got) != len(want) {
				t.Errorf("%d visible, want %d", len(got), len(want))
			}
			for _, k := range []string{"PROJ-101", "OTHER-1", "NOPE-1"} {
				if got[k] {
					t.Errorf("%s answered visible", k)
				}
			}
			if !got["PROJ-100"] || !got["PROJ-349"] {
				t.Errorf("visible issues missing: %v %v", got["PROJ-100"], got["PROJ-349"])
			}
		})
	}
	if _, _, err := g.tr.VisibleIssues(context.Background(), g.alice, nil); err != nil {
		t.Errorf("no keys: %v", err)
	}
}
