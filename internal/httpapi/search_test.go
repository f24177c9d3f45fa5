package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/gitmirror"
	"github.com/forgebridge/forgebridge/internal/gitmirror/gittest"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/forgebridge/forgebridge/internal/store"
)

// withHistory gives the env's repository a mirror of gittest.Synth's
// history of n commits, tagged v1.0 at main's commit 200, all indexed; it
// answers the PROJ keys of main's commits after 200 (the v1.0..main release).
func (e *env) withHistory(t *testing.T, n int) []string {
	t.Helper()
	git, err := gitmirror.Find(context.Background())
	if err != nil {
		t.Skip(err)
	}
	st := e.svc.Store.(*store.Store)
	x := &index.Indexer{Git: git, Dir: t.TempDir()}
	e.svc.Index = app.Indexing{Store: st, Search: st, Range: x.RangeCommits}
	dir := gittest.Synth(t, x.MirrorDir(e.repoID), n)
	var commits []fb.Commit
	var v10 string
	for line := range strings.Lines(gittest.Git(t, "", "--git-dir="+dir, "log", "--all", "--format=%H %at %ae")) {
		f := strings.Fields(line)
		at, _ := strconv.ParseInt(f[1], 10, 64)
		i := int((at - 1600000000) / 60)
		if i == 200 {
			v10 = f[0]
		}
		if keys := gittest.Keys(i); len(keys) > 0 {
			commits = append(commits, fb.Commit{SHA: f[0], Message: gittest.Message(i), AuthorEmail: f[2],
				AuthoredAt: time.Unix(at, 0).UTC(), Keys: keys})
		}
	}
	gittest.Git(t, "", "--git-dir="+dir, "tag", "v1.0", v10)
	if err := st.AddCommits(context.Background(), e.repoID, commits); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := 201; i <= n; i++ {
		if (i%7 == 0 || i%11 == 0) && i%gittest.BranchEvery != gittest.BranchEvery/2 {
			want = append(want, fmt.Sprintf("PROJ-%d", i))
		}
	}
	slices.Sort(want)
	return want
}

func TestSearchIssuesRoute(t *testing.T) {
	e := newEnv(t)
	want := e.withHistory(t, 300)
	base := "/api/v1/search/issues?repositoryId=" + e.repoID + "&range=" + url.QueryEscape("v1.0..main")

	// JSON pages, walked through their next links.
	var keys []string
	path := base + "&limit=7"
	for pages := 0; path != ""; pages++ {
		r := e.do("GET", path, e.alice, nil)
		if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
		var page struct {
			Values []map[string]any
			Next   string
		}
		if err := json.Unmarshal(r.body, &page); err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Values {
			keys = append(keys, v["key"].(string))
			if v["commits"] != 1.0 || v["lastActivity"] == "" {
				t.Errorf("issue %v", v)
			}
		}
		path = page.Next
		if pages > 10 {
			t.Fatal("too many pages")
		}
	}
	slices.Sort(keys)
	if !slices.Equal(keys, want) {
		t.Fatalf("pages gave %v, want %v", keys, want)
	}

	// The exports: by format, and by Accept.
	r := e.do("GET", base+"&format=csv", e.alice, nil)
	lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") ||
		!strings.Contains(r.header.Get("Content-Disposition"), "attachment") || len(lines) != len(want)+1 ||
		lines[0] != "key,commits,branches,pullRequests,lastActivity" {
		t.Errorf("CSV: %d %v %d lines:\n%s", r.status, r.header, len(lines), r.body)
	}
	r = e.do("GET", base, e.alice, nil, "Accept", "text/markdown")
	md := string(r.body)
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/markdown") ||
		!strings.HasPrefix(md, "# Issues v1.0..main in acme/app\n") || strings.Count(md, "\n- ") != len(want) ||
		!strings.Contains(md, "- PROJ-231: 1 commit, 0 branches, 0 pull requests") {
		t.Errorf("Markdown: %d %v\n%s", r.status, r.header, md)
	}

	for _, tc := range []struct {
		name, path, token string
		status            int
		code              fb.Code
	}{
		{"unauthenticated", base, "", http.StatusUnauthorized, fb.EUnauthenticated},
		{"no development tools", base, e.bob, http.StatusForbidden, fb.EForbidden},
		{"unknown ref", "/api/v1/search/issues?repositoryId=" + e.repoID + "&range=v1.0..v2", e.alice, http.StatusBadRequest, fb.EInvalid},
		{"an option as a ref", "/api/v1/search/issues?repositoryId=" + e.repoID + "&range=--all..main", e.alice, http.StatusBadRequest, fb.EInvalid},
		{"range without a repository", "/api/v1/search/issues?range=v1.0..main", e.alice, http.StatusBadRequest, fb.EInvalid},
		{"bad time", "/api/v1/search/issues?since=yesterday", e.alice, http.StatusBadRequest, fb.EInvalid},
		{"bad format", base + "&format=pdf", e.alice, http.StatusBadRequest, fb.EInvalid},
		{"bad cursor", base + "&cursor=%21", e.alice, http.StatusBadRequest, fb.EInvalid},
		{"unknown repository", "/api/v1/search/issues?repositoryId=nope", e.alice, http.StatusNotFound, fb.ENotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("GET", tc.path, tc.token, nil)
			if r.status != tc.status || r.code() != string(tc.code) {
				t.Errorf("%d %s, want %d %s", r.status, r.body, tc.status, tc.code)
			}
			if strings.Contains(string(r.body), "fatal") || strings.Contains(string(r.body), "mirrors") {
				t.Errorf("git's words leak: %s", r.body)
			}
		})
	}

	// bob sees nothing without a repository: not even how many issues there are.
	r = e.do("GET", "/api/v1/search/issues", e.bob, nil)
	if r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != `{"values":[]}` {
		t.Errorf("bob's search: %d %s", r.status, r.body)
	}
}
