package jira

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

var _ fb.PeopleByEmail = (*Tracker)(nil)

// authorsFor is how long who has an email is remembered, found or not: a
// page of commits asks about each of its authors, and authors rarely change
// hands.
const authorsFor = 10 * time.Minute

// authorSearchPage is how many users one search for an email asks for:
// Jira matches prefixes, so an email is also a prefix of longer ones
// (bob@example.com of bob@example.com.au); Jira 10 answers at most 100.
const authorSearchPage = 100

// author is what the cache keeps for one email: the one active user with
// it, or none.
type author struct {
	user  fb.User
	found bool
}

// UsersByEmail says who wrote commits: for each email, the one active Jira
// user whose e-mail address is exactly it (case-insensitive), found with
// Jira's user search; an email no active user has, or that several have,
// matches nobody. Answers are remembered for authorsFor, failures not. An
// email Jira hides from the service account (User email visibility) matches
// nobody.
func (t *Tracker) UsersByEmail(ctx context.Context, emails []string) (map[string]fb.User, error) {
	out := map[string]fb.User{}
	var ask []string
	seen := map[string]bool{}
	now := t.now()
	for _, e := range emails {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" || seen[e] {
			continue
		}
		seen[e] = true
		if a, ok := t.authors.get(e, now); ok {
			if a.found {
				out[e] = a.user
			}
			continue
		}
		ask = append(ask, e)
	}
	found := make([]author, len(ask))
	errs := make([]error, len(ask))
	sem := make(chan struct{}, 4) // a few searches at a time: Jira is shared
	var wg sync.WaitGroup
	for i, e := range ask {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			found[i], errs[i] = t.userWithEmail(ctx, e)
		})
	}
	wg.Wait()
	for i, e := range ask {
		if errs[i] != nil {
			return nil, errs[i]
		}
		t.authors.put(e, found[i], t.now())
		if found[i].found {
			out[e] = found[i].user
		}
	}
	return out, nil
}

// userWithEmail searches Jira's users for one lower-cased email.
func (t *Tracker) userWithEmail(ctx context.Context, email string) (author, error) {
	q := url.Values{
		"username":        {email},
		"includeActive":   {"true"},
		"includeInactive": {"false"},
		"maxResults":      {strconv.Itoa(authorSearchPage)},
	}
	var users []jiraUser
	err := t.call(ctx, request{method: http.MethodGet, path: "/rest/api/2/user/search", query: q, token: t.token.Token, whose: service}, &users)
	if statusOf(err) == http.StatusNotFound {
		return author{}, nil // no user matched, as some versions answer
	}
	if err != nil {
		return author{}, describe(err, "looking up who wrote a commit")
	}
	var a author
	for _, ju := range users {
		if !ju.Active || !strings.EqualFold(strings.TrimSpace(ju.EmailAddress), email) {
			continue
		}
		if a.found {
			return author{}, nil // shared by several: nobody's
		}
		a.user, a.found = t.toUser(ju), true
		a.user.Email = ju.EmailAddress
	}
	return a, nil
}
