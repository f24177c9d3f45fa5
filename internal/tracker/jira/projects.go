package jira

import (
	"context"
	"crypto/sha256"
	"net/http"
	"net/url"
	"slices"
	"sync"

	fb "github.com/forgebridge/forgebridge"
)

// Listing what a person may see must not cost one Jira call per Jira
// project: an instance can have thousands. Three things keep it small:
// only the projects some integration serves are asked about
// (BrowsableProjectsAmong); a person signed in through Jira's OAuth is asked
// about as themselves, whose project list is one call (GET /project answers
// only what the caller may browse), with the token their web session carries
// or else with their kept grant (so an API token's request costs one call
// too); and answers are kept per person for the cache period.

// personTokenKey is the context key of a person's own Jira access token.
type personTokenKey struct{}

type personToken struct{ userKey, token string }

// WithPersonToken returns ctx carrying the Jira OAuth access token of the
// person with that Jira user key, so questions about their own permissions
// are asked as them: fewer calls, and less that the service account needs.
// The token is used only for questions about that very user.
func WithPersonToken(ctx context.Context, userKey, token string) context.Context {
	if userKey == "" || token == "" {
		return ctx
	}
	return context.WithValue(ctx, personTokenKey{}, personToken{userKey: userKey, token: token})
}

// tokenOf returns the access token ctx carries for u, if any and Jira has
// not refused it lately.
func (t *Tracker) tokenOf(ctx context.Context, u fb.User) (string, bool) {
	pt, ok := ctx.Value(personTokenKey{}).(personToken)
	if !ok || u.Key == "" || pt.userKey != u.Key {
		return "", false
	}
	if t.isRefused(pt.token) {
		return "", false
	}
	return pt.token, true
}

// isRefused reports whether Jira refused the person's token lately.
func (t *Tracker) isRefused(token string) bool {
	_, refused := t.refused.get(sha256.Sum256([]byte(token)), t.now())
	return refused
}

// refusedToken reports whether Jira turned the person's token away (an
// OAuth access token lasts an hour), remembering it so it is not tried
// again on every page: the service account answers instead.
func (t *Tracker) refusedToken(token string, err error) bool {
	if fb.ErrorCode(err) != fb.EUnauthenticated && statusOf(err) != http.StatusForbidden {
		return false
	}
	t.refused.put(sha256.Sum256([]byte(token)), struct{}{}, t.now())
	return true
}

// asPerson asks Jira about the person as themselves: with the token ctx
// carries for them, else (or when Jira refuses that one) with an access
// token of their kept grant, renewed once if Jira refuses it. ok is false
// when no token of theirs could ask: the caller then asks as the service
// account, so a missing, refused or failing grant never fails the question
// by itself. Otherwise ask's error is returned as is.
func (t *Tracker) asPerson(ctx context.Context, u fb.User, ask func(token string) error) (bool, error) {
	if token, ok := t.tokenOf(ctx, u); ok {
		if err := ask(token); !t.refusedToken(token, err) {
			return true, err
		}
	}
	stale, renewed := "", false
	for {
		token, fresh, ok := t.keptToken(ctx, u, stale)
		if !ok {
			return false, nil
		}
		renewed = renewed || fresh
		err := ask(token)
		if !t.refusedToken(token, err) {
			return true, err
		}
		// Only an expired token (401) is worth renewing, once: a 403 (the
		// person's permissions, a proxy) would refuse a new one alike.
		if renewed || fb.ErrorCode(err) != fb.EUnauthenticated {
			break
		}
		stale = token
	}
	// Jira refuses even a renewed token: not again for the cache period.
	t.noGrant.put(u.Key, struct{}{}, t.now())
	return false, nil
}

// keptToken returns an access token of the person's kept grant, through
// grantToken (the one refresh path, one rotation across instances; a grant
// Jira no longer honours is dropped there). stale is a token Jira just
// refused; one already known refused is renewed too (the web session's
// token is the grant's until the grant is renewed); renewed says it was.
// ok is false when grants are not kept, the person has none (remembered
// for the cache period), or it cannot give a token now (the store or
// Jira's token endpoint failing: remembered for grantRetry, so that a
// failing endpoint is not asked again on every request).
func (t *Tracker) keptToken(ctx context.Context, u fb.User, stale string) (token string, renewed, ok bool) {
	if !t.KeepsGrants() || u.Key == "" {
		return "", false, false
	}
	if _, none := t.noGrant.get(u.Key, t.now()); none {
		return "", false, false
	}
	if _, failing := t.grantFailing.get(u.Key, t.now()); failing {
		return "", false, false
	}
	token, err := t.grantToken(ctx, u, stale, false)
	renewed = stale != ""
	if err == nil && stale == "" && t.isRefused(token) {
		token, err = t.grantToken(ctx, u, token, false)
		renewed = true
	}
	switch {
	case fb.ErrorCode(err) == fb.EGrantRequired:
		t.noGrant.put(u.Key, struct{}{}, t.now())
	case err != nil:
		t.grantFailing.put(u.Key, struct{}{}, t.now())
	}
	return token, renewed, err == nil
}

// projectList is the keys of projects, as GET /rest/api/2/project answers.
func (t *Tracker) projectList(ctx context.Context, token string, w whose) ([]string, error) {
	var projects []struct {
		Key string `json:"key"`
	}
	err := t.call(ctx, request{method: http.MethodGet, path: "/rest/api/2/project", token: token, whose: w}, &projects)
	if err != nil {
		return nil, err
	}
	keys := make([]string, len(projects))
	for i, p := range projects {
		keys[i] = p.Key
	}
	return keys, nil
}

// ProjectKeys returns the keys of the projects the service account sees
// (GET /rest/api/2/project): the prefixes an issue key in git data may
// have. The list is reused for the cache period.
func (t *Tracker) ProjectKeys(ctx context.Context) ([]string, error) {
	if keys, ok := t.allProjects.get(struct{}{}, t.now()); ok {
		return slices.Clone(keys), nil // the cached list stays the cache's
	}
	keys, err := t.projectList(ctx, t.token.Token, service)
	if err != nil {
		return nil, describe(err, "listing projects")
	}
	t.allProjects.put(struct{}{}, keys, t.now())
	return slices.Clone(keys), nil
}

// ownProjects returns the projects the person may browse, asked as them
// (asPerson: one call, kept for the cache period). ok is false when there is
// no fresh answer and no token of theirs could ask: the caller then asks as
// the service account.
func (t *Tracker) ownProjects(ctx context.Context, u fb.User) ([]string, bool, error) {
	// What Jira answered them stands for the cache period, however they
	// come back.
	pk := personKey{u.Key, u.Name}
	if keys, ok := t.ownProjectLists.get(pk, t.now()); ok {
		return keys, true, nil
	}
	var keys []string
	ok, err := t.asPerson(ctx, u, func(token string) (err error) {
		keys, err = t.projectList(ctx, token, person)
		return err
	})
	if !ok {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, describe(err, "listing your projects")
	}
	t.keepOwnProjects(u, keys)
	return keys, true, nil
}

// keepOwnProjects keeps the person's project list for the cache period, and
// one of the projects beyond it, as the first to try when it is over.
func (t *Tracker) keepOwnProjects(u fb.User, keys []string) {
	pk := personKey{u.Key, u.Name}
	t.ownProjectLists.put(pk, keys, t.now())
	if len(keys) > 0 {
		t.lastBrowsable.put(pk, keys[0], t.now())
	}
}

// learnOwnProjects asks Jira, while the person's token is at hand at sign-in,
// which projects they may browse, so that the listing that follows costs no
// call. Best effort: without an answer the listing asks itself.
func (t *Tracker) learnOwnProjects(ctx context.Context, u fb.User, token string) {
	if keys, err := t.projectList(ctx, token, person); err == nil {
		t.keepOwnProjects(u, keys)
	}
}

// BrowsableProjects returns the keys of the projects the user may browse.
// Asked as the person when ctx carries their token (one call); otherwise
// every project the service account sees is checked for the user's Browse
// Projects permission (cached like every decision): Jira has no call
// answering this for another user at once, so callers that know which
// projects matter use BrowsableProjectsAmong.
func (t *Tracker) BrowsableProjects(ctx context.Context, u fb.User) ([]string, error) {
	if own, ok, err := t.ownProjects(ctx, u); ok || err != nil {
		return slices.Clone(own), err
	}
	projects, err := t.ProjectKeys(ctx)
	if err != nil {
		return nil, err
	}
	return t.browsableOf(ctx, u, projects, false)
}

// BrowsableProjectsAmong returns which of the candidate projects the user
// may browse, asking Jira about those alone (or, as the person, listing
// their projects in one call). A candidate that does not exist is left out.
func (t *Tracker) BrowsableProjectsAmong(ctx context.Context, u fb.User, candidates []string) ([]string, error) {
	if len(candidates) == 0 {
		return nil, nil
	}
	if own, ok, err := t.ownProjects(ctx, u); err != nil {
		return nil, err
	} else if ok {
		mine := make(map[string]bool, len(own))
		for _, p := range own {
			mine[p] = true
		}
		return slices.DeleteFunc(slices.Clone(candidates), func(p string) bool { return !mine[p] }), nil
	}
	return t.browsableOf(ctx, u, candidates, false)
}

// BrowsesAnyProject reports whether the user may browse at least one
// project: what decides whether an integration serving every project is
// theirs to see. As the person it is their project list; otherwise projects
// already known to be browsable are tried first, and the search stops at the
// first one, so only a person who may browse nothing costs a check of
// every project.
func (t *Tracker) BrowsesAnyProject(ctx context.Context, u fb.User) (bool, error) {
	if own, ok, err := t.ownProjects(ctx, u); ok || err != nil {
		return len(own) > 0, err
	}
	projects, err := t.ProjectKeys(ctx)
	if err != nil {
		return false, err
	}
	cached := t.personDecisions(u.Key, u.Name)
	now := t.now()
	for _, p := range projects {
		k := decisionKey{userKey: u.Key, userName: u.Name, scope: projectScope(p), perm: fb.PermBrowseProjects}
		if ok, hit := cached.get(k, now); hit && ok {
			return true, nil
		}
	}
	// The project they were last found to browse, kept beyond the cache
	// period, most often answers with one call.
	if last, ok := t.lastBrowsable.get(personKey{u.Key, u.Name}, now); ok && slices.Contains(projects, last) {
		if found, err := t.browsableOf(ctx, u, []string{last}, true); err != nil || len(found) > 0 {
			return len(found) > 0, err
		}
	}
	found, err := t.browsableOf(ctx, u, projects, true)
	return len(found) > 0, err
}

// checkConcurrency is how many permission checks one listing runs at once:
// a few, since Jira is shared.
const checkConcurrency = 4

// browsableOf checks the user's Browse Projects permission on each project
// (cached decisions first), checkConcurrency at a time. With first it stops
// after the batch that found one, so a listing never asks more than a batch
// beyond; any error but a project deleted since it was listed ends it too,
// rather than asking a failing Jira about every project.
func (t *Tracker) browsableOf(ctx context.Context, u fb.User, projects []string, first bool) ([]string, error) {
	var out []string
	for batch := range slices.Chunk(projects, checkConcurrency) {
		allowed := make([]bool, len(batch))
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for i, p := range batch {
			wg.Go(func() { allowed[i], errs[i] = t.holds(ctx, u, projectScope(p), fb.PermBrowseProjects) })
		}
		wg.Wait()
		for i, p := range batch {
			switch {
			case errs[i] != nil && fb.ErrorCode(errs[i]) != fb.ENotFound:
				return nil, errs[i]
			case allowed[i] && errs[i] == nil:
				out = append(out, p)
				t.lastBrowsable.put(personKey{u.Key, u.Name}, p, t.now())
			}
		}
		if first && len(out) > 0 {
			return out[:1], nil
		}
	}
	return out, nil
}

// ownPermissions answers the gating permissions on a project as the person
// themselves (asPerson), with one GET /rest/api/2/mypermissions?projectKey=…
// (instead of one permission search per permission as the service account).
// ok is false when no token of theirs could ask.
func (t *Tracker) ownPermissions(ctx context.Context, u fb.User, sc scope) (map[string]bool, bool, error) {
	if sc.param != "projectKey" {
		return nil, false, nil
	}
	var answer struct {
		Permissions map[string]struct {
			HavePermission bool `json:"havePermission"`
		} `json:"permissions"`
	}
	q := url.Values{"projectKey": {sc.key}}
	ok, err := t.asPerson(ctx, u, func(token string) error {
		return t.call(ctx, request{method: http.MethodGet, path: "/rest/api/2/mypermissions", query: q, token: token, whose: person}, &answer)
	})
	switch {
	case !ok:
		return nil, false, nil
	case statusOf(err) == http.StatusNotFound:
		// Jira answers alike a project that does not exist and one the
		// person may not see: they hold nothing on it.
		return map[string]bool{fb.PermBrowseProjects: false, fb.PermViewDevTools: false}, true, nil
	case err != nil:
		return nil, false, describe(err, "checking your permissions")
	}
	out := make(map[string]bool, len(gatingPermissions))
	for _, perm := range gatingPermissions {
		out[perm] = answer.Permissions[perm].HavePermission
	}
	return out, true, nil
}
