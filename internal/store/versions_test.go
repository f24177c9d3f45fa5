package store_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// auditCount is how many audit entries there are.
func auditCount(t *testing.T, s *store.Store) int {
	t.Helper()
	es, _, err := s.Audit(t.Context(), fb.AuditQuery{Page: fb.Page{Limit: 1000}})
	must(t, err)
	return len(es)
}

func testSettingsVersions(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	entry := func() *fb.AuditEntry {
		return &fb.AuditEntry{User: "admin", Action: fb.AuditSettingsUpdate, Outcome: fb.AuditOutcomeSuccess,
			Changes: fb.Changes{"requireUserPatEverywhere": {false, true}}}
	}
	got, err := s.ChangeSettings(ctx, "0", func(st *fb.Settings) (*fb.AuditEntry, error) {
		st.RequireUserPATEverywhere = true
		return entry(), nil
	})
	must(t, err)
	if got.Version != "1" || !got.RequireUserPATEverywhere || got.BranchNameTemplate != fb.DefaultBranchNameTemplate {
		t.Fatalf("first change: %+v", got)
	}
	stored, err := s.Settings(ctx)
	must(t, err)
	deepEqual(t, "settings read back", stored, got)
	if n := auditCount(t, s); n != 1 {
		t.Fatalf("%d audit entries after one change, want 1", n)
	}

	for _, tc := range []struct {
		name      string
		ifVersion string
		change    func(*fb.Settings) (*fb.AuditEntry, error)
		code      fb.Code
	}{
		{"stale version", "0", func(st *fb.Settings) (*fb.AuditEntry, error) {
			t.Error("change called for a stale version")
			return entry(), nil
		}, fb.EVersionMismatch},
		{"unknown version", "99", func(st *fb.Settings) (*fb.AuditEntry, error) { return entry(), nil }, fb.EVersionMismatch},
		{"change refuses", "1", func(st *fb.Settings) (*fb.AuditEntry, error) {
			st.BranchNameMaxLength = 1
			return nil, fb.Errorf(fb.EInvalid, "too short")
		}, fb.EInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.ChangeSettings(ctx, tc.ifVersion, tc.change)
			wantCode(t, err, tc.code)
			after, err := s.Settings(ctx)
			must(t, err)
			deepEqual(t, "settings after a refused change", after, got)
			if n := auditCount(t, s); n != 1 {
				t.Fatalf("%d audit entries after a refused change, want 1", n)
			}
		})
	}
	// Without a version, a change applies to whatever is current.
	got, err = s.ChangeSettings(ctx, "", func(st *fb.Settings) (*fb.AuditEntry, error) {
		st.BranchNameMaxLength = 99
		return nil, nil
	})
	must(t, err)
	if got.Version != "2" || got.BranchNameMaxLength != 99 || !got.RequireUserPATEverywhere {
		t.Fatalf("change without a version: %+v", got)
	}
}

func testIntegrationVersions(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	in := fb.Integration{Name: "gh", Kind: fb.KindGitHub, Settings: fb.DefaultIntegrationSettings,
		Credential: fb.Credential{Token: "tok"}, CredentialLogin: "bot"}
	repos := []fb.Repository{{ExternalID: "1", Name: "a", FullName: "acme/a"}}
	created := &fb.AuditEntry{User: "admin", Action: fb.AuditIntegrationCreate, Outcome: fb.AuditOutcomeSuccess,
		Changes: fb.Changes{"name": {nil, "gh"}}}
	must(t, s.CreateIntegrationWith(ctx, &in, fb.IntegrationWrite{Discovered: true, Repositories: repos, At: at(1),
		WebhookSecret: "whsec", Audit: created}))
	if in.Version != "1" || in.RepositoryCount != 1 || created.IntegrationID != in.ID {
		t.Fatalf("created %+v, audit entry for %q", in, created.IntegrationID)
	}
	if secret, err := s.WebhookSecret(ctx, in.ID); err != nil || secret != "whsec" {
		t.Fatalf("webhook secret %q, %v", secret, err)
	}
	got, err := s.Integration(ctx, in.ID)
	must(t, err)
	deepEqual(t, "created integration read back", got, in)

	// A discovery is not a change of the configuration: the version stays.
	must(t, s.ReplaceRepositories(ctx, in.ID, repos, at(2)))
	if got, _ := s.Integration(ctx, in.ID); got.Version != "1" {
		t.Fatalf("version %q after a discovery, want 1", got.Version)
	}

	putToken(t, s, "bob", in.ID, "ghp_bob")
	putToken(t, s, "alice", in.ID, "ghp_alice")
	changed, dropped, err := s.ChangeIntegration(ctx, in.ID, "1", func(cur *fb.Integration) (fb.IntegrationWrite, error) {
		if cur.Name != "gh" || cur.Version != "1" {
			t.Errorf("change got %+v", cur)
		}
		cur.Name, cur.BaseURL, cur.Settings.RequireUserPAT = "GitHub", "https://ghe.example.com", true
		return fb.IntegrationWrite{Audit: &fb.AuditEntry{User: "admin", Action: fb.AuditIntegrationUpdate, IntegrationID: in.ID,
			Outcome: fb.AuditOutcomeSuccess, Changes: fb.Changes{"name": {"gh", "GitHub"}}},
			TokenDropped: func(key string) *fb.AuditEntry {
				return &fb.AuditEntry{User: key, Action: fb.AuditTokenDelete, IntegrationID: in.ID, Outcome: fb.AuditOutcomeSuccess}
			}}, nil
	})
	must(t, err)
	deepEqual(t, "tokens dropped by the move", dropped, []string{"alice", "bob"})
	deleted, _, err := s.Audit(ctx, fb.AuditQuery{Action: fb.AuditTokenDelete})
	must(t, err)
	if len(deleted) != 2 || deleted[0].User != "bob" || deleted[1].User != "alice" {
		t.Fatalf("audit entries of the dropped tokens: %+v", deleted)
	}
	if changed.Version != "2" || changed.Name != "GitHub" || !changed.Settings.RequireUserPAT || changed.RepositoryCount != 1 {
		t.Fatalf("changed %+v", changed)
	}
	got, err = s.Integration(ctx, in.ID)
	must(t, err)
	deepEqual(t, "changed integration read back", got, changed)
	if n := auditCount(t, s); n != 4 {
		t.Fatalf("%d audit entries, want 4", n)
	}

	// UpdateIntegration writes whatever the version, and moves it on.
	must(t, s.UpdateIntegration(ctx, &got))
	if got.Version != "3" {
		t.Fatalf("version %q after UpdateIntegration, want 3", got.Version)
	}

	for _, tc := range []struct {
		name      string
		ifVersion string
		err       error
		code      fb.Code
	}{
		{"stale version", "2", nil, fb.EVersionMismatch},
		{"change refuses", "3", fb.Errorf(fb.EInvalid, "no"), fb.EInvalid},
		{"plain error", "", errors.New("boom"), fb.EInternal},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := s.ChangeIntegration(ctx, in.ID, tc.ifVersion, func(cur *fb.Integration) (fb.IntegrationWrite, error) {
				cur.Name = "lost"
				return fb.IntegrationWrite{Discovered: true, At: at(9), Audit: &fb.AuditEntry{Action: "x"}}, tc.err
			})
			wantCode(t, err, tc.code)
			after, err := s.Integration(ctx, in.ID)
			must(t, err)
			deepEqual(t, "integration after a refused change", after, got)
			if n := auditCount(t, s); n != 4 {
				t.Fatalf("%d audit entries after a refused change, want 4", n)
			}
		})
	}
	_, _, err = s.ChangeIntegration(ctx, "nope", "", func(*fb.Integration) (fb.IntegrationWrite, error) { return fb.IntegrationWrite{}, nil })
	wantCode(t, err, fb.ENotFound)

	// Deleting: a stale version leaves it; the current one deletes it with its audit entry.
	gone := &fb.AuditEntry{User: "admin", Action: fb.AuditIntegrationDelete, IntegrationID: in.ID, Outcome: fb.AuditOutcomeSuccess}
	wantCode(t, s.DeleteIntegrationWith(ctx, in.ID, "1", gone), fb.EVersionMismatch)
	if _, err := s.Integration(ctx, in.ID); err != nil {
		t.Fatalf("a stale delete removed it: %v", err)
	}
	must(t, s.DeleteIntegrationWith(ctx, in.ID, "3", gone))
	_, err = s.Integration(ctx, in.ID)
	wantCode(t, err, fb.ENotFound)
	if n := auditCount(t, s); n != 5 {
		t.Fatalf("%d audit entries after the delete, want 5", n)
	}
	wantCode(t, s.DeleteIntegrationWith(ctx, in.ID, "", nil), fb.ENotFound)
}

// testConcurrentChanges: changes made at once each merge into what the one
// before wrote, so none is lost, on either database.
func testConcurrentChanges(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	in := createIntegration(t, s, "gh", "tok")
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for k := range n {
		wg.Go(func() {
			_, _, err := s.ChangeIntegration(ctx, in.ID, "", func(cur *fb.Integration) (fb.IntegrationWrite, error) {
				cur.Projects = append(cur.Projects, fmt.Sprintf("P%d", k))
				return fb.IntegrationWrite{}, nil
			})
			errs <- err
		})
		wg.Go(func() {
			_, err := s.ChangeSettings(ctx, "", func(st *fb.Settings) (*fb.AuditEntry, error) {
				st.BranchNameMaxLength++
				return nil, nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	got, err := s.Integration(ctx, in.ID)
	must(t, err)
	slices.Sort(got.Projects)
	if len(got.Projects) != n || got.Version != fmt.Sprint(n+1) {
		t.Fatalf("after %d concurrent changes: projects %v, version %s", n, got.Projects, got.Version)
	}
	st, err := s.Settings(ctx)
	must(t, err)
	if st.BranchNameMaxLength != fb.DefaultBranchNameMaxLength+n || st.Version != fmt.Sprint(n) {
		t.Fatalf("after %d concurrent changes: length %d, version %s", n, st.BranchNameMaxLength, st.Version)
	}
}

func testAuditChanges(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	for _, tc := range []struct {
		name    string
		changes fb.Changes
		want    string // as JSON; "null" for none
	}{
		{"none", nil, "null"},
		{"a change that changed nothing", fb.Changes{}, "{}"},
		{"fields", fb.Changes{
			"settings.requireUserPat": {false, true},
			"projects":                {[]string{}, []string{"ABC"}},
			"name":                    {nil, "GitHub"},
			"branchNameMaxLength":     {250, 100},
			"credential":              {fb.ChangeReplaced, fb.ChangeReplaced},
		}, `{"branchNameMaxLength":[250,100],"credential":["replaced","replaced"],"name":[null,"GitHub"],` +
			`"projects":[[],["ABC"]],"settings.requireUserPat":[false,true]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := fb.AuditEntry{User: "admin", Action: fb.AuditIntegrationUpdate, Outcome: fb.AuditOutcomeSuccess, Changes: tc.changes}
			must(t, s.AddAudit(ctx, &e))
			es, _, err := s.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 1}})
			must(t, err)
			if len(es) != 1 || es[0].ID != e.ID {
				t.Fatalf("newest entry %+v, want %d", es, e.ID)
			}
			got, err := json.Marshal(es[0].Changes)
			must(t, err)
			if string(got) != tc.want {
				t.Fatalf("changes read back %s, want %s", got, tc.want)
			}
		})
	}
}
