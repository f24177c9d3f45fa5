package jira

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/tracker/jira/fakejira"
)

// TestUsersByEmail: a commit author is the one active Jira user whose
// e-mail address is exactly the author's, ignoring case; prefixes, shared
// addresses and deactivated users match nobody.
func TestUsersByEmail(t *testing.T) {
	e := newEnv(t)
	// Jira's search matches prefixes: bo@example.com finds bob's too.
	e.fake.AddUser(fakejira.User{Key: "JIRAUSER10103", Name: "bo", DisplayName: "Bo", Email: "bo@example.com.au", Active: true})
	e.fake.AddUser(fakejira.User{Key: "JIRAUSER10104", Name: "twin1", Email: "team@example.com", Active: true})
	e.fake.AddUser(fakejira.User{Key: "JIRAUSER10105", Name: "twin2", Email: "Team@Example.com", Active: true})
	e.fake.AddUser(fakejira.User{Key: "JIRAUSER10106", Name: "gone", Email: "gone@example.com", Active: false})
	e.fake.AddUser(fakejira.User{Key: "JIRAUSER10107", Name: "gone2", Email: "shared@example.com", Active: false})
	e.fake.AddUser(fakejira.User{Key: "JIRAUSER10108", Name: "carol", DisplayName: "Carol", Email: "shared@example.com", Active: true})

	for _, tt := range []struct {
		email, want string // want: the user name, or "" for nobody
	}{
		{"alice@example.com", "alice"},
		{" ALICE@Example.COM ", "alice"},
		{"al@example.com", "al"},        // not alice, whose address al… does not equal
		{"bo@example.com", ""},          // only a prefix of bo's
		{"team@example.com", ""},        // two users have it
		{"gone@example.com", ""},        // deactivated
		{"shared@example.com", "carol"}, // the deactivated one does not count
		{"nobody@example.com", ""},      //
		{"alice", ""},                   // a user name, not an address
		{"", ""},                        //
	} {
		t.Run(tt.email, func(t *testing.T) {
			got, err := e.tr.UsersByEmail(context.Background(), []string{tt.email})
			if err != nil {
				t.Fatal(err)
			}
			u, ok := got[strings.ToLower(strings.TrimSpace(tt.email))]
			if tt.want == "" {
				if ok || len(got) != 0 {
					t.Errorf("matched %+v, want nobody", got)
				}
				return
			}
			if !ok || u.Name != tt.want || !u.Active || u.Key == "" {
				t.Errorf("got %+v, want %s", got, tt.want)
			}
		})
	}
}

// TestUsersByEmailSearch: one search per distinct address, as Jira's user
// search wants it; answers, found or not, are remembered for ten minutes;
// failures are errors and not remembered.
func TestUsersByEmailSearch(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	emails := []string{"alice@example.com", "Alice@Example.com", "nobody@example.com", "al@example.com"}
	if _, err := e.tr.UsersByEmail(ctx, emails); err != nil {
		t.Fatal(err)
	}
	var asked []string
	for _, c := range e.fake.Calls() {
		if c.Path != "/rest/api/2/user/search" {
			continue
		}
		q, err := url.ParseQuery(c.Query)
		if err != nil {
			t.Fatal(err)
		}
		if q.Get("includeInactive") != "false" || q.Get("maxResults") != "100" {
			t.Errorf("search %s: want active users only, 100 at most", c.Query)
		}
		asked = append(asked, q.Get("username"))
	}
	if len(asked) != 3 {
		t.Errorf("searched %q, want each distinct address once", asked)
	}

	steps := []struct {
		name      string
		do        func()
		wantCalls int
		wantAl    bool
		wantCode  fb.Code
	}{
		{name: "within ten minutes: remembered", do: func() { e.clock.Advance(9 * time.Minute) }, wantAl: true},
		{name: "deactivated meanwhile: still remembered", do: func() { e.fake.SetActive("al", false) }, wantAl: true},
		{name: "after ten minutes: asked again", do: func() { e.clock.Advance(2 * time.Minute) }, wantCalls: 3},
		{name: "Jira down: an error, not remembered", do: func() { e.clock.Advance(11 * time.Minute); e.fake.SetDown(true) },
			wantCalls: -1, wantCode: fb.ETrackerUnavailable},
		{name: "Jira back: asked again", do: func() { e.fake.SetDown(false) }, wantCalls: 3},
	}
	for _, st := range steps {
		st.do()
		e.fake.ResetCalls()
		got, err := e.tr.UsersByEmail(ctx, emails)
		n := e.calls("/rest/api/2/user/search")
		if st.wantCalls >= 0 && n != st.wantCalls || st.wantCalls < 0 && n == 0 {
			t.Errorf("%s: %d searches, want %d", st.name, n, st.wantCalls)
		}
		if st.wantCode != "" {
			assertCode(t, err, st.wantCode)
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if _, ok := got["al@example.com"]; ok != st.wantAl {
			t.Errorf("%s: al matched = %v, want %v", st.name, ok, st.wantAl)
		}
		if got["alice@example.com"].Name != "alice" {
			t.Errorf("%s: alice not matched: %+v", st.name, got)
		}
	}
}
