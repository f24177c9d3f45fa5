package store_test

import (
	"context"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// TestHostPermissions runs the remembered host answers on every kind of store.
func TestHostPermissions(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s := b.Open(t, nil)
			at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			var ids [2][]string
			for i, name := range []string{"one", "two"} {
				in := fb.Integration{Name: name, Kind: fb.KindGitHub, BaseURL: "https://" + name + ".example.com", Credential: fb.Credential{Token: "t"}}
				repos := []fb.Repository{{ExternalID: "1", Name: "a", FullName: name + "/a"}, {ExternalID: "2", Name: "b", FullName: name + "/b"}}
				must(t, s.CreateIntegrationWithRepositories(ctx, &in, repos, at))
				got, err := s.IntegrationRepositories(ctx, in.ID)
				must(t, err)
				for _, r := range got {
					ids[i] = append(ids[i], r.ID)
				}
			}
			a, b2, c := ids[0][0], ids[0][1], ids[1][0]
			tok := at.Add(-time.Hour)
			must(t, s.PutHostPermission(ctx, "alice", fb.HostPermission{RepositoryID: a, Readable: true, TokenUpdatedAt: tok, CheckedAt: at}))
			must(t, s.PutHostPermission(ctx, "alice", fb.HostPermission{RepositoryID: b2, Readable: false, TokenUpdatedAt: tok, CheckedAt: at}))
			must(t, s.PutHostPermission(ctx, "alice", fb.HostPermission{RepositoryID: c, Readable: true, TokenUpdatedAt: tok, CheckedAt: at}))
			must(t, s.PutHostPermission(ctx, "bob", fb.HostPermission{RepositoryID: a, Readable: false, TokenUpdatedAt: tok, CheckedAt: at}))
			// A second answer replaces the first.
			must(t, s.PutHostPermission(ctx, "alice", fb.HostPermission{RepositoryID: c, Readable: false, TokenUpdatedAt: at, CheckedAt: at.Add(time.Minute)}))
			// An answer about a repository that is gone is dropped.
			must(t, s.PutHostPermission(ctx, "alice", fb.HostPermission{RepositoryID: "gone", Readable: true, TokenUpdatedAt: tok, CheckedAt: at}))

			got, err := s.HostPermissions(ctx, "alice", []string{a, b2, c, "gone", "never"})
			must(t, err)
			want := map[string]fb.HostPermission{
				a:  {RepositoryID: a, Readable: true, TokenUpdatedAt: tok, CheckedAt: at},
				b2: {RepositoryID: b2, Readable: false, TokenUpdatedAt: tok, CheckedAt: at},
				c:  {RepositoryID: c, Readable: false, TokenUpdatedAt: at, CheckedAt: at.Add(time.Minute)},
			}
			if len(got) != len(want) {
				t.Fatalf("alice's answers = %+v", got)
			}
			for id, w := range want {
				if g := got[id]; g.RepositoryID != w.RepositoryID || g.Readable != w.Readable || !g.TokenUpdatedAt.Equal(w.TokenUpdatedAt) || !g.CheckedAt.Equal(w.CheckedAt) {
					t.Errorf("answer for %s = %+v, want %+v", id, g, w)
				}
			}

			// A token change forgets one integration's answers of one person.
			must(t, s.ForgetHostPermissions(ctx, "alice", mustIntegration(t, s, a)))
			got, err = s.HostPermissions(ctx, "alice", []string{a, b2, c})
			must(t, err)
			if len(got) != 1 || got[c].RepositoryID != c {
				t.Errorf("after forgetting integration one: %+v", got)
			}
			if got, _ := s.HostPermissions(ctx, "bob", []string{a}); len(got) != 1 {
				t.Errorf("bob's answer went with alice's: %+v", got)
			}
			if got, _ := s.HostPermissions(ctx, "alice", nil); len(got) != 0 {
				t.Errorf("no repositories asked: %+v", got)
			}
		})
	}
}

func mustIntegration(t *testing.T, s interface {
	Repository(context.Context, string) (fb.Repository, error)
}, repositoryID string) string {
	t.Helper()
	r, err := s.Repository(context.Background(), repositoryID)
	must(t, err)
	return r.IntegrationID
}
