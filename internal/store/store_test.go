package store_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// TestStore runs the one suite on every kind of store.
func TestStore(t *testing.T) {
	suite := []struct {
		name string
		fn   func(t *testing.T, s *store.Store, c *storetest.Cipher)
	}{
		{"Migrate", testMigrate},
		{"Settings", testSettings},
		{"SettingsVersions", testSettingsVersions},
		{"IntegrationVersions", testIntegrationVersions},
		{"ConcurrentChanges", testConcurrentChanges},
		{"AuditChanges", testAuditChanges},
		{"Integrations", testIntegrations},
		{"IntegrationWithRepositories", testIntegrationWithRepositories},
		{"RepositoryWithIntegration", testRepositoryWithIntegration},
		{"DeleteIntegrationCascades", testDeleteIntegrationCascades},
		{"ReplaceRepositories", testReplaceRepositories},
		{"RepositoriesPaging", testRepositoriesPaging},
		{"UserTokens", testUserTokens},
		{"CiphertextBoundToRow", testCiphertextBoundToRow},
		{"CheckAndReencryptSecrets", testCheckAndReencryptSecrets},
		{"Audit", testAudit},
		{"IssueLinks", testIssueLinks},
		{"Directory", testDirectory},
		{"APITokens", testAPITokens},
		{"ConcurrentWrites", testConcurrentWrites},
		{"Index", testIndex},
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			for _, tc := range suite {
				t.Run(tc.name, func(t *testing.T) {
					c := storetest.NewCipher()
					s := b.Open(t, c)
					if s.Dialect() != b.Name {
						t.Fatalf("Dialect() = %q, want %q", s.Dialect(), b.Name)
					}
					tc.fn(t, s, c)
				})
			}
		})
	}
}

func wantCode(t *testing.T, err error, code fb.Code) {
	t.Helper()
	if got := fb.ErrorCode(err); got != code {
		t.Fatalf("error = %v, want code %q", err, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func deepEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

// at returns a time in whole microseconds, as the store keeps them.
func at(sec int) time.Time {
	return time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC).Add(time.Duration(sec) * time.Second)
}

func createIntegration(t *testing.T, s *store.Store, name, token string) fb.Integration {
	t.Helper()
	in := fb.Integration{Name: name, Kind: fb.KindGitHub, Settings: fb.DefaultIntegrationSettings,
		Credential: fb.Credential{Token: token}, CredentialLogin: "bot"}
	must(t, s.CreateIntegration(t.Context(), &in))
	return in
}

func putToken(t *testing.T, s *store.Store, userKey, integrationID, token string) fb.UserToken {
	t.Helper()
	tok := fb.UserToken{UserKey: userKey, IntegrationID: integrationID, Credential: fb.Credential{Token: token}, Login: userKey + "-login"}
	must(t, s.PutUserToken(t.Context(), &tok))
	return tok
}

func testMigrate(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	// Open migrated already; again is a no-op.
	must(t, s.Migrate(t.Context()))
	must(t, s.Ping(t.Context()))
}

func testSettings(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	got, err := s.Settings(ctx)
	must(t, err)
	defaults := fb.DefaultSettings
	defaults.Version = "0"
	deepEqual(t, "settings before any update", got, defaults)
	for _, want := range []fb.Settings{
		{RequireUserPATEverywhere: true, BranchNameTemplate: "feature/${issuekey}", BranchNameMaxLength: 60, Version: "1"},
		{RequireUserPATEverywhere: false, BranchNameTemplate: "${issuekey}", BranchNameMaxLength: 100, Version: "2"},
	} {
		must(t, s.UpdateSettings(ctx, want))
		got, err := s.Settings(ctx)
		must(t, err)
		deepEqual(t, "settings after update", got, want)
	}
}

func testIntegrationWithRepositories(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	repos := []fb.Repository{{ExternalID: "1", Name: "a", FullName: "acme/a", DefaultBranch: "main", WebURL: "https://x/acme/a"},
		{ExternalID: "2", Name: "b", FullName: "acme/b", DefaultBranch: "main", WebURL: "https://x/acme/b"}}
	in := fb.Integration{Name: "GH", Kind: fb.KindGitHub, Credential: fb.Credential{Token: "t"}, Settings: fb.DefaultIntegrationSettings}
	must(t, s.CreateIntegrationWithRepositories(ctx, &in, repos, at(5)))
	if in.ID == "" || in.RepositoryCount != 2 || in.DiscoveredAt == nil || !in.DiscoveredAt.Equal(at(5)) {
		t.Fatalf("created %+v", in)
	}
	got, _, err := s.Repositories(ctx, fb.RepositoryQuery{Page: fb.Page{Limit: 10}, IntegrationIDs: []string{in.ID}})
	must(t, err)
	if len(got) != 2 || got[0].ID != repos[0].ID {
		t.Fatalf("repositories after create: %+v", got)
	}

	in.BaseURL = "https://github.example.com"
	must(t, s.UpdateIntegrationWithRepositories(ctx, &in, repos[1:], at(6)))
	stored, err := s.Integration(ctx, in.ID)
	must(t, err)
	if stored.BaseURL != in.BaseURL || stored.RepositoryCount != 1 || !stored.DiscoveredAt.Equal(at(6)) || in.RepositoryCount != 1 {
		t.Fatalf("after update: stored %+v, returned %+v", stored, in)
	}

	// People's tokens stay through a rename, and go when the address changes.
	putToken(t, s, "alice", in.ID, "ghp_alice")
	in.Name = "GitHub"
	must(t, s.UpdateIntegration(ctx, &in))
	if _, err := s.UserToken(ctx, "alice", in.ID); err != nil {
		t.Fatalf("a rename removed the token: %v", err)
	}
	for _, move := range []func(*fb.Integration){
		func(i *fb.Integration) { i.BaseURL = "https://elsewhere.example" },
		func(i *fb.Integration) { i.ProxyURL = "http://proxy.example:3128" },
		func(i *fb.Integration) { i.InsecureSkipTLSVerify = true },
	} {
		putToken(t, s, "alice", in.ID, "ghp_alice")
		move(&in)
		must(t, s.UpdateIntegration(ctx, &in))
		_, err := s.UserToken(ctx, "alice", in.ID)
		wantCode(t, err, fb.ENotFound)
	}

	// An update of an integration that is gone writes nothing.
	missing := fb.Integration{ID: "nope", Name: "x", Kind: fb.KindGitHub, Credential: fb.Credential{Token: "t"}}
	wantCode(t, s.UpdateIntegrationWithRepositories(ctx, &missing, repos, at(7)), fb.ENotFound)
	if _, err := s.Repository(ctx, repos[0].ID); fb.ErrorCode(err) != fb.ENotFound {
		t.Errorf("a repository of the failed update exists: %v", err)
	}
}

func testIntegrations(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	discovered := at(0)
	gh := fb.Integration{
		Name: "GitHub", Kind: fb.KindGitHubEnterprise, BaseURL: "https://ghe.example.com", ServerVersion: "2022",
		APIPath: "/api/v3/user/repos", RepositoryFilter: "[?archived == `false`]", Projects: []string{"ABC", "DEF"},
		Settings: fb.IntegrationSettings{CreateBranch: true, RequireUserPAT: true, SmartCommits: true},
		ProxyURL: "http://proxy:3128", CABundle: "-----BEGIN CERTIFICATE-----", InsecureSkipTLSVerify: true,
		Credential: fb.Credential{Token: "ghp_integration"}, CredentialLogin: "bot",
		RepositoryCount: 7, DiscoveredAt: &discovered,
	}
	must(t, s.CreateIntegration(ctx, &gh))
	if gh.ID == "" || gh.CreatedAt.IsZero() || !gh.UpdatedAt.Equal(gh.CreatedAt) {
		t.Fatalf("CreateIntegration assigned ID %q, CreatedAt %v, UpdatedAt %v", gh.ID, gh.CreatedAt, gh.UpdatedAt)
	}
	cc := fb.Integration{
		Name: "codecommit", Kind: fb.KindCodeCommit, Region: "eu-west-1", Settings: fb.DefaultIntegrationSettings,
		Credential: fb.Credential{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: "wJalrXUtnFEMI/K7MDENG"},
	}
	must(t, s.CreateIntegration(ctx, &cc))
	if cc.ID == gh.ID {
		t.Fatalf("two integrations got the same id %q", cc.ID)
	}

	for _, want := range []fb.Integration{gh, cc} {
		got, err := s.Integration(ctx, want.ID)
		must(t, err)
		deepEqual(t, "Integration", got, want)
	}
	all, err := s.Integrations(ctx)
	must(t, err)
	deepEqual(t, "Integrations (by name), not decrypted", all, []fb.Integration{sealed(cc), sealed(gh)})

	upd := gh
	upd.Name, upd.Projects, upd.Credential = "GitHub Enterprise", nil, fb.Credential{Token: "ghp_rotated"}
	upd.Settings.CreatePullRequest = true
	upd.Settings.SmartCommits, upd.Settings.EnforcePermissions, upd.Settings.DiffViewing = false, true, true
	// The store keeps what discovery and creation recorded, whatever the caller sends.
	upd.RepositoryCount, upd.DiscoveredAt, upd.CreatedAt = 0, nil, time.Time{}
	must(t, s.UpdateIntegration(ctx, &upd))
	if upd.RepositoryCount != 7 || upd.DiscoveredAt == nil || !upd.DiscoveredAt.Equal(discovered) || !upd.CreatedAt.Equal(gh.CreatedAt) {
		t.Fatalf("UpdateIntegration filled in count %d, discovered %v, created %v", upd.RepositoryCount, upd.DiscoveredAt, upd.CreatedAt)
	}
	got, err := s.Integration(ctx, gh.ID)
	must(t, err)
	deepEqual(t, "Integration after update", got, upd)

	missing := fb.Integration{ID: "nope", Name: "x", Kind: fb.KindGitHub}
	err = s.UpdateIntegration(ctx, &missing)
	wantCode(t, err, fb.ENotFound)
	if msg := fb.ErrorMessage(err); msg != "integration nope not found" {
		t.Errorf("message = %q", msg)
	}
	_, err = s.Integration(ctx, "nope")
	wantCode(t, err, fb.ENotFound)
	wantCode(t, s.DeleteIntegration(ctx, "nope"), fb.ENotFound)

	must(t, s.DeleteIntegration(ctx, cc.ID))
	_, err = s.Integration(ctx, cc.ID)
	wantCode(t, err, fb.ENotFound)
}

func testDeleteIntegrationCascades(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	a := createIntegration(t, s, "a", "tok-a")
	b := createIntegration(t, s, "b", "tok-b")
	reposA := []fb.Repository{{ExternalID: "1", Name: "x", FullName: "o/x"}, {ExternalID: "2", Name: "y", FullName: "o/y"}}
	reposB := []fb.Repository{{ExternalID: "1", Name: "z", FullName: "o/z"}}
	must(t, s.ReplaceRepositories(ctx, a.ID, reposA, at(0)))
	must(t, s.ReplaceRepositories(ctx, b.ID, reposB, at(0)))
	putToken(t, s, "alice", a.ID, "user-a")
	tokB := putToken(t, s, "alice", b.ID, "user-b")

	must(t, s.DeleteIntegration(ctx, a.ID))

	for _, r := range reposA {
		_, err := s.Repository(ctx, r.ID)
		wantCode(t, err, fb.ENotFound)
	}
	_, err := s.UserToken(ctx, "alice", a.ID)
	wantCode(t, err, fb.ENotFound)
	repos, _, err := s.Repositories(ctx, fb.RepositoryQuery{})
	must(t, err)
	deepEqual(t, "repositories left", repos, reposB)
	toks, err := s.UserTokens(ctx, "alice")
	must(t, err)
	deepEqual(t, "tokens left", toks, []fb.UserToken{sealedToken(tokB)})
	wantCode(t, s.DeleteIntegration(ctx, a.ID), fb.ENotFound)
}

func testReplaceRepositories(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	in := createIntegration(t, s, "gh", "tok")
	first := []fb.Repository{
		{ExternalID: "1", Name: "api", FullName: "acme/api", DefaultBranch: "main", WebURL: "https://x/acme/api", CanCreateBranch: true, CanCreatePullRequest: true},
		{ExternalID: "2", Name: "web", FullName: "acme/web", DefaultBranch: "master", WebURL: "https://x/acme/web", CanCreateBranch: true},
		{ExternalID: "3", Name: "docs", FullName: "acme/docs", DefaultBranch: "main", WebURL: "https://x/acme/docs"},
	}
	must(t, s.ReplaceRepositories(ctx, in.ID, first, at(1)))
	ids := map[string]bool{}
	for _, r := range first {
		if r.ID == "" || ids[r.ID] || r.IntegrationID != in.ID {
			t.Fatalf("ReplaceRepositories set ID %q, IntegrationID %q (ids so far %v)", r.ID, r.IntegrationID, ids)
		}
		ids[r.ID] = true
		got, err := s.Repository(ctx, r.ID)
		must(t, err)
		deepEqual(t, "Repository", got, r)
	}
	checkDiscovery(t, s, in.ID, 3, at(1))

	second := []fb.Repository{
		{ExternalID: "1", Name: "api2", FullName: "acme/api2", DefaultBranch: "trunk", WebURL: "https://x/acme/api2"},
		{ExternalID: "4", Name: "new", FullName: "acme/new", DefaultBranch: "main", WebURL: "https://x/acme/new", CanCreatePullRequest: true},
	}
	must(t, s.ReplaceRepositories(ctx, in.ID, second, at(2)))
	if second[0].ID != first[0].ID {
		t.Errorf("repository with external id 1 changed id from %q to %q", first[0].ID, second[0].ID)
	}
	if ids[second[1].ID] {
		t.Errorf("new repository reused id %q", second[1].ID)
	}
	for _, gone := range first[1:] {
		_, err := s.Repository(ctx, gone.ID)
		wantCode(t, err, fb.ENotFound)
	}
	repos, next, err := s.Repositories(ctx, fb.RepositoryQuery{})
	must(t, err)
	deepEqual(t, "repositories after second discovery", repos, second)
	if next != "" {
		t.Errorf("next = %q on the only page", next)
	}
	checkDiscovery(t, s, in.ID, 2, at(2))

	must(t, s.ReplaceRepositories(ctx, in.ID, nil, at(3)))
	repos, _, err = s.Repositories(ctx, fb.RepositoryQuery{})
	must(t, err)
	if len(repos) != 0 {
		t.Errorf("repositories after an empty discovery: %v", repos)
	}
	checkDiscovery(t, s, in.ID, 0, at(3))

	wantCode(t, s.ReplaceRepositories(ctx, "nope", first, at(4)), fb.ENotFound)
}

func checkDiscovery(t *testing.T, s *store.Store, id string, count int, when time.Time) {
	t.Helper()
	in, err := s.Integration(t.Context(), id)
	must(t, err)
	if in.RepositoryCount != count || in.DiscoveredAt == nil || !in.DiscoveredAt.Equal(when) {
		t.Fatalf("integration has count %d, discovered %v; want %d, %v", in.RepositoryCount, in.DiscoveredAt, count, when)
	}
}

func testRepositoriesPaging(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	a := createIntegration(t, s, "a", "tok-a")
	b := createIntegration(t, s, "b", "tok-b")
	var reposA, reposB []fb.Repository
	for i := range 250 {
		// Each full name appears twice (i and i+125 differ in parity, so in
		// different integrations), in different cases: order must fall back on id.
		org := []string{"acme", "Acme", "ACME"}[i%3]
		r := fb.Repository{ExternalID: fmt.Sprint(i), Name: fmt.Sprintf("repo-%03d", i%125), FullName: fmt.Sprintf("%s/repo-%03d", org, i%125)}
		if i%2 == 0 {
			reposA = append(reposA, r)
		} else {
			reposB = append(reposB, r)
		}
	}
	reposA = append(reposA, fb.Repository{ExternalID: "x1", Name: "50%off", FullName: "special/50%off"},
		fb.Repository{ExternalID: "x2", Name: "repo_100", FullName: "special/repo_100"})
	must(t, s.ReplaceRepositories(ctx, a.ID, reposA, at(0)))
	must(t, s.ReplaceRepositories(ctx, b.ID, reposB, at(0)))
	percent, underscore := reposA[len(reposA)-2], reposA[len(reposA)-1]
	all := append(slices.Clone(reposA), reposB...)
	sort.Slice(all, func(i, j int) bool {
		ki, kj := strings.ToLower(all[i].FullName), strings.ToLower(all[j].FullName)
		return ki < kj || ki == kj && all[i].ID < all[j].ID
	})

	// Three pages of 100, 100 and 52, in order, no duplicates.
	var got []fb.Repository
	var sizes []int
	q := fb.RepositoryQuery{Page: fb.Page{Limit: 100}}
	for {
		page, next, err := s.Repositories(ctx, q)
		must(t, err)
		got = append(got, page...)
		sizes = append(sizes, len(page))
		if next == "" {
			break
		}
		if len(sizes) > 10 {
			t.Fatal("paging does not end")
		}
		q.Cursor = next
	}
	deepEqual(t, "page sizes", sizes, []int{100, 100, 52})
	deepEqual(t, "repositories paged in order", ids(got), ids(all))

	filter := func(keep func(fb.Repository) bool) []string {
		var out []string
		for _, r := range all {
			if keep(r) {
				out = append(out, r.ID)
			}
		}
		return out
	}
	contains := func(sub string) func(fb.Repository) bool {
		return func(r fb.Repository) bool { return strings.Contains(strings.ToLower(r.FullName), sub) }
	}
	inA := func(r fb.Repository) bool { return r.IntegrationID == a.ID }
	for _, tc := range []struct {
		name string
		q    fb.RepositoryQuery
		want []string
	}{
		{"every integration", fb.RepositoryQuery{}, ids(all)},
		{"both integrations", fb.RepositoryQuery{IntegrationIDs: []string{a.ID, b.ID}}, ids(all)},
		{"one integration", fb.RepositoryQuery{IntegrationIDs: []string{a.ID}}, filter(inA)},
		{"no integration", fb.RepositoryQuery{IntegrationIDs: []string{}}, nil},
		{"unknown integration", fb.RepositoryQuery{IntegrationIDs: []string{"nope"}}, nil},
		{"text in any case", fb.RepositoryQuery{Text: "ACME/Repo-01"}, filter(contains("acme/repo-01"))},
		// As LIKE wildcards these would also match acme/repo-050 and acme/repo-1xx.
		{"percent is literal", fb.RepositoryQuery{Text: "50%"}, []string{percent.ID}},
		{"underscore is literal", fb.RepositoryQuery{Text: "o_1"}, []string{underscore.ID}},
		{"text and integration", fb.RepositoryQuery{Text: "repo-1", IntegrationIDs: []string{a.ID}},
			filter(func(r fb.Repository) bool { return inA(r) && contains("repo-1")(r) })},
		{"no match", fb.RepositoryQuery{Text: "zzz"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, limit := range []int{7, 1000} {
				q := tc.q
				q.Limit = limit
				var got []string
				for range 100 {
					page, next, err := s.Repositories(ctx, q)
					must(t, err)
					if len(page) > limit {
						t.Fatalf("limit %d: page of %d", limit, len(page))
					}
					got = append(got, ids(page)...)
					if next == "" {
						break
					}
					q.Cursor = next
				}
				deepEqual(t, fmt.Sprintf("limit %d", limit), got, tc.want)
			}
		})
	}

	// A page that ends exactly at the last row has no next.
	page, next, err := s.Repositories(ctx, fb.RepositoryQuery{IntegrationIDs: []string{b.ID}, Page: fb.Page{Limit: len(reposB)}})
	must(t, err)
	if len(page) != len(reposB) || next != "" {
		t.Errorf("exact page: %d repositories, next %q; want %d and none", len(page), next, len(reposB))
	}
	page, next, err = s.Repositories(ctx, fb.RepositoryQuery{})
	must(t, err)
	if len(page) != store.DefaultLimit || next == "" {
		t.Errorf("default limit: %d repositories, next %q", len(page), next)
	}
	_, _, err = s.Repositories(ctx, fb.RepositoryQuery{Page: fb.Page{Cursor: "not a cursor"}})
	wantCode(t, err, fb.EInvalid)
}

func ids(repos []fb.Repository) []string {
	var out []string
	for _, r := range repos {
		out = append(out, r.ID)
	}
	return out
}

func testUserTokens(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	a := createIntegration(t, s, "a", "tok-a")
	b := createIntegration(t, s, "b", "tok-b")

	wantCode(t, s.PutUserToken(ctx, &fb.UserToken{UserKey: "alice", IntegrationID: "nope", Credential: fb.Credential{Token: "x"}}), fb.ENotFound)
	wantCode(t, s.PutUserToken(ctx, &fb.UserToken{UserKey: "alice", IntegrationID: a.ID}), fb.EInvalid)

	expires := at(3600)
	tok := fb.UserToken{UserKey: "alice", IntegrationID: a.ID, Credential: fb.Credential{Token: "ghp_alice1"},
		Login: "alice-gh", Scopes: []string{"repo", "read:org"}, ExpiresAt: &expires}
	must(t, s.PutUserToken(ctx, &tok))
	if tok.Status != fb.TokenUnverified || tok.CreatedAt.IsZero() {
		t.Fatalf("PutUserToken set Status %q, CreatedAt %v", tok.Status, tok.CreatedAt)
	}
	got, err := s.UserToken(ctx, "alice", a.ID)
	must(t, err)
	deepEqual(t, "UserToken", got, tok)

	checked := at(10)
	replaced := fb.UserToken{UserKey: "alice", IntegrationID: a.ID, Credential: fb.Credential{Token: "ghp_alice2"},
		Login: "alice-gh", Status: fb.TokenValid, CheckedAt: &checked}
	must(t, s.PutUserToken(ctx, &replaced))
	if !replaced.CreatedAt.Equal(tok.CreatedAt) {
		t.Errorf("replacing changed CreatedAt from %v to %v", tok.CreatedAt, replaced.CreatedAt)
	}
	got, err = s.UserToken(ctx, "alice", a.ID)
	must(t, err)
	deepEqual(t, "UserToken after replace", got, replaced)

	tokB := putToken(t, s, "alice", b.ID, "ghp_alice_b")
	tokBob := putToken(t, s, "bob", a.ID, "ghp_bob")
	ofA, err := s.IntegrationUserTokens(ctx, a.ID)
	must(t, err)
	deepEqual(t, "IntegrationUserTokens", ofA, []fb.UserToken{replaced, tokBob})
	list, err := s.UserTokens(ctx, "alice")
	must(t, err)
	want := []fb.UserToken{sealedToken(replaced), sealedToken(tokB)}
	sort.Slice(want, func(i, j int) bool { return want[i].IntegrationID < want[j].IntegrationID })
	deepEqual(t, "UserTokens", list, want)
	list, err = s.UserTokens(ctx, "carol")
	must(t, err)
	if len(list) != 0 {
		t.Errorf("UserTokens of a user without any: %v", list)
	}

	checkedAt := at(20)
	check := replaced
	check.Status, check.CheckedAt, check.Scopes = fb.TokenInvalid, &checkedAt, []string{"repo"}
	must(t, s.RecordTokenCheck(ctx, &check))
	got, err = s.UserToken(ctx, "alice", a.ID)
	must(t, err)
	if got.Status != fb.TokenInvalid || got.CheckedAt == nil || !got.CheckedAt.Equal(at(20)) || len(got.Scopes) != 1 ||
		got.Credential != replaced.Credential || !got.UpdatedAt.Equal(replaced.UpdatedAt) {
		t.Errorf("after RecordTokenCheck: %+v", got)
	}
	// A check of a token that was replaced meanwhile changes nothing.
	stale := tok
	stale.Status = fb.TokenValid
	wantCode(t, s.RecordTokenCheck(ctx, &stale), fb.ENotFound)
	if got, _ := s.UserToken(ctx, "alice", a.ID); got.Status != fb.TokenInvalid {
		t.Errorf("a stale check overwrote the status: %q", got.Status)
	}
	wantCode(t, s.RecordTokenCheck(ctx, &fb.UserToken{UserKey: "carol", IntegrationID: a.ID, Status: fb.TokenValid}), fb.ENotFound)

	must(t, s.DeleteUserToken(ctx, "alice", a.ID))
	_, err = s.UserToken(ctx, "alice", a.ID)
	wantCode(t, err, fb.ENotFound)
	wantCode(t, s.DeleteUserToken(ctx, "alice", a.ID), fb.ENotFound)
	if _, err := s.UserToken(ctx, "bob", a.ID); err != nil {
		t.Errorf("deleting alice's token touched bob's: %v", err)
	}
}

func testCiphertextBoundToRow(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	a := createIntegration(t, s, "a", "tok-integration-a")
	b := createIntegration(t, s, "b", "tok-integration-b")
	putToken(t, s, "alice", a.ID, "tok-alice")
	putToken(t, s, "bob", a.ID, "tok-bob")

	n, err := s.ExecRaw(ctx, `UPDATE user_tokens SET credential =
			(SELECT credential FROM user_tokens WHERE user_key = 'alice' AND integration_id = ?)
		WHERE user_key = 'bob' AND integration_id = ?`, a.ID, a.ID)
	must(t, err)
	if n != 1 {
		t.Fatalf("moved %d ciphertexts", n)
	}
	_, err = s.UserToken(ctx, "bob", a.ID)
	wantCode(t, err, fb.EInternal)
	if msg := fb.ErrorMessage(err); !strings.Contains(msg, "bob") || strings.Contains(err.Error(), "tok-alice") {
		t.Errorf("reading a moved ciphertext: %v", err)
	}
	// A listing does not decrypt: one row that cannot be opened breaks nobody's page.
	if list, err := s.UserTokens(ctx, "bob"); err != nil || len(list) != 1 || !list[0].Credential.IsZero() {
		t.Errorf("UserTokens with an undecryptable row: %v %v", list, err)
	}
	if _, err := s.UserToken(ctx, "alice", a.ID); err != nil {
		t.Errorf("the original row no longer reads: %v", err)
	}

	_, err = s.ExecRaw(ctx, `UPDATE integrations SET credential = (SELECT credential FROM integrations WHERE id = ?) WHERE id = ?`, a.ID, b.ID)
	must(t, err)
	_, err = s.Integration(ctx, b.ID)
	wantCode(t, err, fb.EInternal)
	if all, err := s.Integrations(ctx); err != nil || len(all) != 2 || !all[0].CredentialStored || !all[0].Credential.IsZero() {
		t.Errorf("Integrations with an undecryptable row: %v %v", all, err)
	}

	checked, err := s.CheckSecrets(ctx)
	wantCode(t, err, fb.EInternal)
	msg := fb.ErrorMessage(err)
	if checked != 4 || !strings.Contains(msg, "2 of 4") || !strings.Contains(msg, "user bob") || !strings.Contains(msg, "integration "+b.ID) {
		t.Errorf("CheckSecrets = %d, %q", checked, msg)
	}
	for _, secret := range []string{"tok-alice", "tok-bob", "tok-integration"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("CheckSecrets error reveals %q: %v", secret, err)
		}
	}
}

func testCheckAndReencryptSecrets(t *testing.T, s *store.Store, c *storetest.Cipher) {
	ctx := t.Context()
	a := createIntegration(t, s, "a", "tok-a")
	none := fb.Integration{Name: "no credential", Kind: fb.KindGitLab}
	must(t, s.CreateIntegration(ctx, &none))
	putToken(t, s, "alice", a.ID, "tok-alice")
	putToken(t, s, "bob", a.ID, "tok-bob")

	n, err := s.CheckSecrets(ctx)
	must(t, err)
	if n != 3 {
		t.Fatalf("CheckSecrets read %d secrets, want 3", n)
	}

	c.RotateKey()
	n, err = s.ReencryptSecrets(ctx)
	must(t, err)
	if n != 3 {
		t.Fatalf("ReencryptSecrets = %d, want 3", n)
	}
	c.RetireOldKeys() // only the new key remains: everything must be under it
	n, err = s.CheckSecrets(ctx)
	must(t, err)
	if n != 3 {
		t.Fatalf("CheckSecrets after re-encryption read %d, want 3", n)
	}
	got, err := s.UserToken(ctx, "bob", a.ID)
	must(t, err)
	if got.Credential.Token != "tok-bob" {
		t.Errorf("re-encrypted token reads back wrong")
	}
	in, err := s.Integration(ctx, none.ID)
	must(t, err)
	if !in.Credential.IsZero() {
		t.Errorf("integration without credential reads one back")
	}

	// Retiring a key nothing was re-encrypted from loses the secrets: both
	// methods say so.
	c.RotateKey()
	c.RetireOldKeys()
	n, err = s.CheckSecrets(ctx)
	wantCode(t, err, fb.EInternal)
	if n != 3 || !strings.Contains(fb.ErrorMessage(err), "3 of 3") {
		t.Errorf("CheckSecrets with the wrong key = %d, %v", n, err)
	}
	_, err = s.ReencryptSecrets(ctx)
	wantCode(t, err, fb.EInternal)
}

func testAudit(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	var added []fb.AuditEntry
	for i := range 25 {
		e := fb.AuditEntry{
			Time: at(i), User: []string{"alice", "bob"}[i%2], Action: fb.AuditTokenSave,
			IntegrationID: "int-1", RepositoryID: "repo-1", Issue: "ABC-1", Target: fmt.Sprintf("branch-%d", i),
			Actor: fb.Actor{Type: fb.ActorUser, Login: "gh-login"}, Outcome: fb.AuditOutcomeSuccess,
		}
		if i%3 == 0 {
			e.Action, e.Outcome, e.Code = fb.AuditBranchCreate, fb.AuditOutcomeFailure, string(fb.EProviderDenied)
		}
		must(t, s.AddAudit(ctx, &e))
		if len(added) > 0 && e.ID <= added[len(added)-1].ID {
			t.Fatalf("audit id %d after %d", e.ID, added[len(added)-1].ID)
		}
		added = append(added, e)
	}
	newestFirst := slices.Clone(added)
	slices.Reverse(newestFirst)

	all, next, err := s.Audit(ctx, fb.AuditQuery{})
	must(t, err)
	deepEqual(t, "Audit", all, newestFirst)
	if next != "" {
		t.Errorf("next = %q on the only page", next)
	}

	pick := func(keep func(fb.AuditEntry) bool) []int64 {
		var out []int64
		for _, e := range newestFirst {
			if keep(e) {
				out = append(out, e.ID)
			}
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		q     fb.AuditQuery
		limit int
		want  []int64
	}{
		{"all in pages of 10", fb.AuditQuery{}, 10, pick(func(fb.AuditEntry) bool { return true })},
		{"one user", fb.AuditQuery{User: "alice"}, 4, pick(func(e fb.AuditEntry) bool { return e.User == "alice" })},
		{"one user, page ends at the last entry", fb.AuditQuery{User: "alice"}, 13, pick(func(e fb.AuditEntry) bool { return e.User == "alice" })},
		{"one action", fb.AuditQuery{Action: fb.AuditBranchCreate}, 3, pick(func(e fb.AuditEntry) bool { return e.Action == fb.AuditBranchCreate })},
		{"user and action", fb.AuditQuery{User: "bob", Action: fb.AuditBranchCreate}, 2,
			pick(func(e fb.AuditEntry) bool { return e.User == "bob" && e.Action == fb.AuditBranchCreate })},
		{"unknown user", fb.AuditQuery{User: "nobody"}, 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Limit = tc.limit
			var got []int64
			pages := 0
			for {
				page, next, err := s.Audit(ctx, q)
				must(t, err)
				pages++
				if len(page) > tc.limit {
					t.Fatalf("page of %d entries, limit %d", len(page), tc.limit)
				}
				for _, e := range page {
					got = append(got, e.ID)
				}
				if next == "" {
					break
				}
				if pages > 30 {
					t.Fatal("paging does not end")
				}
				q.Cursor = next
			}
			deepEqual(t, "entry ids", got, tc.want)
			if wantPages := max(1, (len(tc.want)+tc.limit-1)/tc.limit); pages != wantPages {
				t.Errorf("%d pages, want %d", pages, wantPages)
			}
		})
	}

	e := fb.AuditEntry{User: "alice", Action: fb.AuditSettingsUpdate, Outcome: fb.AuditOutcomeSuccess}
	before := time.Now().Add(-time.Second)
	must(t, s.AddAudit(ctx, &e))
	if e.Time.Before(before) || e.Time.After(time.Now().Add(time.Second)) {
		t.Errorf("AddAudit set Time %v", e.Time)
	}
	_, _, err = s.Audit(ctx, fb.AuditQuery{Page: fb.Page{Cursor: "!!"}})
	wantCode(t, err, fb.EInvalid)
}

func testIssueLinks(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	br := fb.IssueBranch{IssueKey: "ABC-1", RepositoryID: "r1", Name: "ABC-1-fix", SHA: "aaa", WebURL: "https://x/b", CreatedAt: at(0)}
	must(t, s.AddIssueBranch(ctx, br))
	again := br
	again.SHA, again.CreatedAt = "bbb", at(5)
	must(t, s.AddIssueBranch(ctx, again))
	other := fb.IssueBranch{IssueKey: "ABC-1", RepositoryID: "r2", Name: "ABC-1-fix", SHA: "ccc", CreatedAt: at(1)}
	must(t, s.AddIssueBranch(ctx, other))
	branches, err := s.IssueBranches(ctx, "ABC-1")
	must(t, err)
	deepEqual(t, "IssueBranches", branches, []fb.IssueBranch{br, other})
	branches, err = s.IssueBranches(ctx, "ABC-2")
	must(t, err)
	if len(branches) != 0 {
		t.Errorf("branches of an issue without any: %v", branches)
	}

	pr := fb.IssuePullRequest{IssueKey: "ABC-1", RepositoryID: "r1", CreatedAt: at(2), PullRequest: fb.PullRequest{
		ID: "987", Number: 12, Title: "Fix", WebURL: "https://x/pr/12", SourceBranch: "ABC-1-fix", TargetBranch: "main"}}
	must(t, s.AddIssuePullRequest(ctx, pr))
	dup := pr
	dup.Title, dup.CreatedAt = "Changed", at(9)
	must(t, s.AddIssuePullRequest(ctx, dup))
	// The same pull request may mention another issue.
	pr2 := pr
	pr2.IssueKey = "ABC-2"
	must(t, s.AddIssuePullRequest(ctx, pr2))
	// A pull request just created is open, and a draft only when recorded so.
	pr.State, pr2.State = fb.PullOpen, fb.PullOpen
	draft := fb.IssuePullRequest{IssueKey: "ABC-3", RepositoryID: "r1", CreatedAt: at(3), PullRequest: fb.PullRequest{
		ID: "988", Number: 13, Title: "Draft", State: fb.PullOpen, Draft: true, Author: "alice-gh", UpdatedAt: at(3)}}
	must(t, s.AddIssuePullRequest(ctx, draft))
	for issue, want := range map[string][]fb.IssuePullRequest{"ABC-1": {pr}, "ABC-2": {pr2}, "ABC-3": {draft}} {
		got, err := s.IssuePullRequests(ctx, issue)
		must(t, err)
		deepEqual(t, "IssuePullRequests("+issue+")", got, want)
	}

	// An action's audit entry and its issue record are written together.
	e := fb.AuditEntry{Time: at(9), User: "alice", Action: fb.AuditBranchCreate, Issue: "PROJ-9", Outcome: fb.AuditOutcomeSuccess}
	must(t, s.RecordAction(ctx, &e, &fb.IssueBranch{IssueKey: "PROJ-9", RepositoryID: "r9", Name: "PROJ-9-x", SHA: "abc",
		WebURL: "https://x/b", CreatedAt: at(9)}, nil))
	prEntry := fb.AuditEntry{Time: at(10), User: "alice", Action: fb.AuditPullRequestCreate, Issue: "PROJ-9", Outcome: fb.AuditOutcomeSuccess}
	must(t, s.RecordAction(ctx, &prEntry, nil, &fb.IssuePullRequest{IssueKey: "PROJ-9", RepositoryID: "r9",
		PullRequest: fb.PullRequest{ID: "77", Number: 7, Title: "t", WebURL: "https://x/pr/7"}, CreatedAt: at(10)}))
	if e.ID == 0 || prEntry.ID == 0 {
		t.Errorf("RecordAction did not set the audit ids: %d %d", e.ID, prEntry.ID)
	}
	if bs, err := s.IssueBranches(ctx, "PROJ-9"); err != nil || len(bs) != 1 || bs[0].Name != "PROJ-9-x" {
		t.Errorf("IssueBranches after RecordAction: %+v %v", bs, err)
	}
	if prs, err := s.IssuePullRequests(ctx, "PROJ-9"); err != nil || len(prs) != 1 || prs[0].ID != "77" {
		t.Errorf("IssuePullRequests after RecordAction: %+v %v", prs, err)
	}
	if entries, _, err := s.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, User: "alice"}); err != nil || len(entries) < 2 {
		t.Errorf("audit after RecordAction: %d entries, %v", len(entries), err)
	}

	// Tracker links: recorded, then updated in place by global id.
	l := fb.TrackerLink{GlobalID: "forgebridge:r1:branch:PROJ-1-x", IssueKey: "PROJ-1", URL: "https://example.com/b",
		Status: fb.TrackerLinkPending, UpdatedAt: at(1)}
	must(t, s.PutTrackerLink(ctx, l))
	l.Status, l.UpdatedAt = fb.TrackerLinkLinked, at(2)
	must(t, s.PutTrackerLink(ctx, l))
	must(t, s.PutTrackerLink(ctx, fb.TrackerLink{GlobalID: "other", IssueKey: "PROJ-2", URL: "u", Status: fb.TrackerLinkFailed, UpdatedAt: at(3)}))
	links, err := s.TrackerLinks(ctx, "PROJ-1")
	must(t, err)
	deepEqual(t, "TrackerLinks", links, []fb.TrackerLink{l})
}

func testDirectory(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	alice := fb.User{Key: "u1", Name: "alice", DisplayName: "Alice A.", Admin: true, Active: true}
	must(t, s.CreateUser(ctx, alice, nil))
	wantCode(t, s.CreateUser(ctx, fb.User{Key: "u1", Name: "other"}, nil), fb.EAlreadyExists)
	wantCode(t, s.CreateUser(ctx, fb.User{Key: "u2", Name: "alice"}, nil), fb.EAlreadyExists)
	bob := fb.User{Key: "u2", Name: "bob", Active: false}
	must(t, s.CreateUser(ctx, bob, nil))
	for _, want := range []fb.User{alice, bob} {
		got, err := s.User(ctx, want.Key)
		must(t, err)
		deepEqual(t, "User", got, want)
	}
	_, err := s.User(ctx, "nobody")
	wantCode(t, err, fb.ENotFound)

	hash, err := s.PasswordHash(ctx, "u1")
	must(t, err)
	if hash != "" {
		t.Errorf("password hash before any was set: %q", hash)
	}
	must(t, s.SetPasswordHash(ctx, "u1", "$argon2id$v=19$abc"))
	hash, err = s.PasswordHash(ctx, "u1")
	must(t, err)
	if hash != "$argon2id$v=19$abc" {
		t.Errorf("PasswordHash = %q", hash)
	}
	wantCode(t, s.SetPasswordHash(ctx, "nobody", "x"), fb.ENotFound)
	_, err = s.PasswordHash(ctx, "nobody")
	wantCode(t, err, fb.ENotFound)

	projects := []fb.Project{{Key: "ABC", Name: "Alphabet"}, {Key: "DEF", Name: "Definitions"}}
	for _, p := range slices.Backward(projects) {
		must(t, s.CreateProject(ctx, p, nil))
	}
	wantCode(t, s.CreateProject(ctx, fb.Project{Key: "ABC", Name: "again"}, nil), fb.EAlreadyExists)
	list, err := s.Projects(ctx)
	must(t, err)
	deepEqual(t, "Projects", list, projects)
	p, err := s.Project(ctx, "DEF")
	must(t, err)
	deepEqual(t, "Project", p, projects[1])
	_, err = s.Project(ctx, "XYZ")
	wantCode(t, err, fb.ENotFound)

	for _, tc := range []struct {
		name  string
		perms []string
		want  []string
	}{
		{"set, sorted and deduplicated", []string{fb.PermViewDevTools, fb.PermBrowseProjects, fb.PermViewDevTools}, []string{fb.PermBrowseProjects, fb.PermViewDevTools}},
		{"replaced", []string{fb.PermBrowseProjects}, []string{fb.PermBrowseProjects}},
		{"cleared", nil, nil},
	} {
		must(t, s.SetPermissions(ctx, "ABC", "u1", tc.perms, nil))
		got, err := s.Permissions(ctx, "ABC", "u1")
		must(t, err)
		deepEqual(t, "Permissions "+tc.name, got, tc.want)
	}
	must(t, s.SetPermissions(ctx, "DEF", "u2", []string{fb.PermBrowseProjects}, nil))
	got, err := s.Permissions(ctx, "DEF", "u1")
	must(t, err)
	if len(got) != 0 {
		t.Errorf("another user's permissions leaked: %v", got)
	}
	wantCode(t, s.SetPermissions(ctx, "XYZ", "u1", []string{fb.PermBrowseProjects}, nil), fb.ENotFound)
	wantCode(t, s.SetPermissions(ctx, "ABC", "nobody", []string{fb.PermBrowseProjects}, nil), fb.ENotFound)

	issue := fb.Issue{Key: "ABC-1", Summary: "Fix the thing", Type: "Bug", Project: "ABC"}
	must(t, s.CreateIssue(ctx, issue, nil))
	wantCode(t, s.CreateIssue(ctx, issue, nil), fb.EAlreadyExists)
	wantCode(t, s.CreateIssue(ctx, fb.Issue{Key: "XYZ-1", Project: "XYZ"}, nil), fb.ENotFound)
	gotIssue, err := s.Issue(ctx, "ABC-1")
	must(t, err)
	deepEqual(t, "Issue", gotIssue, issue)
	_, err = s.Issue(ctx, "ABC-2")
	wantCode(t, err, fb.ENotFound)
}

func testAPITokens(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	tok := fb.APIToken{Hash: strings.Repeat("ab", 32), UserKey: "u1", UserName: "alice", CreatedAt: at(0).Add(789 * time.Nanosecond)}
	must(t, s.CreateAPIToken(ctx, &tok, nil))
	wantCode(t, s.CreateAPIToken(ctx, &tok, nil), fb.EAlreadyExists)
	got, err := s.APIToken(ctx, tok.Hash)
	must(t, err)
	tok.CreatedAt = at(0) // kept to the microsecond
	deepEqual(t, "APIToken", got, tok)
	_, err = s.APIToken(ctx, strings.Repeat("cd", 32))
	wantCode(t, err, fb.ENotFound)

	expires := at(3600)
	short := fb.APIToken{Hash: strings.Repeat("ef", 32), UserKey: "u1", UserName: "alice", CreatedAt: at(0), ExpiresAt: &expires}
	must(t, s.CreateAPIToken(ctx, &short, nil))
	got, err = s.APIToken(ctx, short.Hash)
	must(t, err)
	deepEqual(t, "APIToken with expiry", got, short)

	must(t, s.DeleteAPIToken(ctx, short.Hash))
	_, err = s.APIToken(ctx, short.Hash)
	wantCode(t, err, fb.ENotFound)
	wantCode(t, s.DeleteAPIToken(ctx, short.Hash), fb.ENotFound)

	must(t, s.CreateAPIToken(ctx, &short, nil)) // expires at(3600)
	for _, c := range []struct {
		now  time.Time
		want int
	}{{at(3599), 0}, {at(3600), 1}, {at(7200), 0}} {
		n, err := s.DeleteExpiredAPITokens(ctx, c.now)
		must(t, err)
		if n != c.want {
			t.Errorf("DeleteExpiredAPITokens(%v) removed %d, want %d", c.now, n, c.want)
		}
	}
	if _, err := s.APIToken(ctx, tok.Hash); err != nil {
		t.Errorf("a token without expiry was removed: %v", err)
	}
}

// testConcurrentWrites writes from many goroutines at once, as the HTTP
// handlers do; on SQLite no writer may see SQLITE_BUSY.
func testConcurrentWrites(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	in := createIntegration(t, s, "a", "tok")
	const workers, entries = 20, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*(entries+3))
	for w := range workers {
		wg.Go(func() {
			user := fmt.Sprintf("user-%02d", w)
			for i := range 2 {
				tok := fb.UserToken{UserKey: user, IntegrationID: in.ID, Credential: fb.Credential{Token: fmt.Sprintf("tok-%d-%d", w, i)}}
				errs <- s.PutUserToken(ctx, &tok)
			}
			for range entries {
				errs <- s.AddAudit(ctx, &fb.AuditEntry{User: user, Action: fb.AuditTokenSave, Outcome: fb.AuditOutcomeSuccess})
			}
			errs <- s.ReplaceRepositories(ctx, in.ID, []fb.Repository{{ExternalID: user, FullName: "o/" + user}}, at(w))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	log, _, err := s.Audit(ctx, fb.AuditQuery{})
	must(t, err)
	if len(log) != workers*entries {
		t.Errorf("%d audit entries, want %d", len(log), workers*entries)
	}
	for w := range workers {
		tok, err := s.UserToken(ctx, fmt.Sprintf("user-%02d", w), in.ID)
		must(t, err)
		if want := fmt.Sprintf("tok-%d-1", w); tok.Credential.Token != want {
			t.Errorf("user %d token is not the last put", w)
		}
	}
	checkCount, err := s.CheckSecrets(ctx)
	must(t, err)
	if checkCount != workers+1 {
		t.Errorf("CheckSecrets read %d, want %d", checkCount, workers+1)
	}
}

// TestSecretsNotInSQLiteFile reads the database files: the tokens must only
// be there encrypted.
func TestSecretsNotInSQLiteFile(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s, err := store.Open(ctx, filepath.Join(dir, "fb.db"), storetest.NewCipher())
	must(t, err)
	secrets := []string{"ghp_integrationPlaintext123", "AKIAPLAINTEXTKEYID", "secretAccessKeyPlaintext/xyz", "glpat-userPlaintext456"}
	in := fb.Integration{Name: "gh", Kind: fb.KindGitHub, Credential: fb.Credential{Token: secrets[0]}}
	must(t, s.CreateIntegration(ctx, &in))
	cc := fb.Integration{Name: "cc", Kind: fb.KindCodeCommit, Credential: fb.Credential{AccessKeyID: secrets[1], SecretAccessKey: secrets[2]}}
	must(t, s.CreateIntegration(ctx, &cc))
	tok := fb.UserToken{UserKey: "alice", IntegrationID: in.ID, Credential: fb.Credential{Token: secrets[3]}, Login: "visible-login-marker"}
	must(t, s.PutUserToken(ctx, &tok))

	// Read while open (rows may still sit in the WAL file) and after closing.
	check := func(when string) {
		var all []byte
		files, err := filepath.Glob(filepath.Join(dir, "*"))
		must(t, err)
		for _, f := range files {
			b, err := os.ReadFile(f)
			must(t, err)
			all = append(all, b...)
		}
		// The control: the scan does see the rows.
		if !bytes.Contains(all, []byte("visible-login-marker")) {
			t.Fatalf("%s: the token's login is not in the database files: the scan is broken", when)
		}
		for _, secret := range secrets {
			if bytes.Contains(all, []byte(secret)) {
				t.Errorf("%s: the database files contain a plaintext secret", when)
			}
		}
	}
	check("open")
	must(t, s.Close())
	check("closed")
}

// TestOpenSQLiteURI opens a file: URI that already carries a parameter, and
// checks the store set WAL mode.
func TestOpenSQLiteURI(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "uri.db")
	s, err := store.Open(t.Context(), "file:"+path+"?mode=rwc", storetest.NewCipher())
	must(t, err)
	defer s.Close()
	must(t, s.UpdateSettings(t.Context(), fb.DefaultSettings))
	if _, err := os.Stat(path + "-wal"); err != nil {
		t.Errorf("no write-ahead log next to the database: %v", err)
	}
}

func BenchmarkPutUserToken(b *testing.B) {
	s := storetest.OpenSQLite(b, nil)
	in := fb.Integration{Name: "gh", Kind: fb.KindGitHub}
	must2(b, s.CreateIntegration(b.Context(), &in))
	i := 0
	for b.Loop() {
		tok := fb.UserToken{UserKey: fmt.Sprintf("user-%d", i%1000), IntegrationID: in.ID, Credential: fb.Credential{Token: "ghp_token"}}
		must2(b, s.PutUserToken(b.Context(), &tok))
		i++
	}
}

func BenchmarkRepositoriesPage(b *testing.B) {
	s := storetest.OpenSQLite(b, nil)
	in := fb.Integration{Name: "gh", Kind: fb.KindGitHub}
	must2(b, s.CreateIntegration(b.Context(), &in))
	var repos []fb.Repository
	for i := range 5000 {
		repos = append(repos, fb.Repository{ExternalID: fmt.Sprint(i), FullName: fmt.Sprintf("org%d/repo-%d", i%50, i)})
	}
	must2(b, s.ReplaceRepositories(b.Context(), in.ID, repos, time.Now()))
	_, cursor, err := s.Repositories(b.Context(), fb.RepositoryQuery{Page: fb.Page{Limit: 2000}})
	must2(b, err)
	for b.Loop() {
		page, _, err := s.Repositories(b.Context(), fb.RepositoryQuery{Page: fb.Page{Limit: 100, Cursor: cursor}, Text: "repo"})
		must2(b, err)
		if len(page) != 100 {
			b.Fatalf("page of %d", len(page))
		}
	}
}

func must2(b *testing.B, err error) {
	b.Helper()
	if err != nil {
		b.Fatal(err)
	}
}

// sealed is an integration as a listing returns it: its credential not decrypted.
func sealed(in fb.Integration) fb.Integration {
	in.Credential = fb.Credential{}
	return in
}

// sealedToken is a user token as a listing returns it: its credential not decrypted.
func sealedToken(t fb.UserToken) fb.UserToken {
	t.Credential = fb.Credential{}
	return t
}

// testRepositoryWithIntegration checks that the one-query read of an action
// answers what Repository and Integration answer apart, and their errors.
func testRepositoryWithIntegration(t *testing.T, s *store.Store, _ *storetest.Cipher) {
	ctx := t.Context()
	repos := []fb.Repository{{ExternalID: "1", Name: "a", FullName: "acme/a", DefaultBranch: "main", WebURL: "https://x/acme/a",
		CanCreateBranch: true}}
	in := fb.Integration{Name: "GH", Kind: fb.KindGitHub, Credential: fb.Credential{Token: "secret-t"},
		Settings: fb.DefaultIntegrationSettings, Projects: []string{"PROJ"}, CredentialUserID: "42"}
	must(t, s.CreateIntegrationWithRepositories(ctx, &in, repos, at(5)))
	wantRepo, err := s.Repository(ctx, repos[0].ID)
	must(t, err)
	wantIn, err := s.Integration(ctx, in.ID)
	must(t, err)
	gotRepo, gotIn, err := s.RepositoryWithIntegration(ctx, repos[0].ID)
	must(t, err)
	deepEqual(t, "repository", gotRepo, wantRepo)
	deepEqual(t, "integration", gotIn, wantIn)
	if gotIn.Credential.Token != "secret-t" {
		t.Errorf("credential not decrypted: %q", gotIn.Credential.Token)
	}
	if _, _, err := s.RepositoryWithIntegration(ctx, "missing"); fb.ErrorCode(err) != fb.ENotFound {
		t.Errorf("missing repository: %v, want not_found", err)
	}
}
