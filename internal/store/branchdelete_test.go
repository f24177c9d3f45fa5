package store_test

import (
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// TestForgetBranch takes a deleted branch off every issue with its link
// state and audit entry, on SQLite and PostgreSQL, and leaves the rest.
func TestForgetBranch(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			s := b.Open(t, nil)
			ctx := t.Context()
			gid := "forgebridge:r1:branch:PROJ-1-fix"
			for _, br := range []fb.IssueBranch{
				{IssueKey: "PROJ-1", RepositoryID: "r1", Name: "PROJ-1-fix", SHA: "a", CreatedAt: at(0)},
				{IssueKey: "PROJ-2", RepositoryID: "r1", Name: "PROJ-1-fix", SHA: "a", CreatedAt: at(0)}, // one branch, two issues
				{IssueKey: "PROJ-1", RepositoryID: "r2", Name: "PROJ-1-fix", SHA: "b", CreatedAt: at(1)}, // another repository's
				{IssueKey: "PROJ-1", RepositoryID: "r1", Name: "PROJ-1-other", SHA: "c", CreatedAt: at(2)},
			} {
				must(t, s.AddIssueBranch(ctx, br))
			}
			must(t, s.PutTrackerLink(ctx, fb.TrackerLink{GlobalID: gid, IssueKey: "PROJ-3", URL: "u", Status: fb.TrackerLinkLinked, UpdatedAt: at(1)}))
			must(t, s.PutTrackerLink(ctx, fb.TrackerLink{GlobalID: "other", IssueKey: "PROJ-1", URL: "v", Status: fb.TrackerLinkLinked, UpdatedAt: at(1)}))
			e := fb.AuditEntry{Time: at(5), User: "alice", Action: fb.AuditBranchDelete, Issue: "PROJ-1", Target: "PROJ-1-fix",
				Outcome: fb.AuditOutcomeSuccess}
			keys, err := s.ForgetBranch(ctx, "r1", "PROJ-1-fix", gid, &e)
			must(t, err)
			deepEqual(t, "issues it was on", keys, []string{"PROJ-1", "PROJ-2", "PROJ-3"})
			for issue, want := range map[string][]string{"PROJ-1": {"r2/PROJ-1-fix", "r1/PROJ-1-other"}, "PROJ-2": nil} {
				bs, err := s.IssueBranches(ctx, issue)
				must(t, err)
				var got []string
				for _, b := range bs {
					got = append(got, b.RepositoryID+"/"+b.Name)
				}
				deepEqual(t, "branches of "+issue, got, want)
			}
			if l, err := s.TrackerLinks(ctx, "PROJ-3"); err != nil || len(l) != 0 {
				t.Errorf("link state of the deleted branch: %+v %v", l, err)
			}
			if l, err := s.TrackerLinks(ctx, "PROJ-1"); err != nil || len(l) != 1 || l[0].GlobalID != "other" {
				t.Errorf("other link states: %+v %v", l, err)
			}
			entries, _, err := s.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 5}, Action: fb.AuditBranchDelete})
			must(t, err)
			if len(entries) != 1 || entries[0].Target != "PROJ-1-fix" || entries[0].User != "alice" {
				t.Errorf("audit %+v, want the one entry", entries)
			}
			// Again: nothing left to take off, no error.
			keys, err = s.ForgetBranch(ctx, "r1", "PROJ-1-fix", gid, nil)
			must(t, err)
			if len(keys) != 0 {
				t.Errorf("second ForgetBranch found %v", keys)
			}
		})
	}
}
