package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/tracker/jira"
)

// jiraToken reads the Jira service account's token from the environment or
// from the file FORGEBRIDGE_JIRA_TOKEN_FILE names; never from a flag.
func jiraToken(getenv func(string) string) (string, error) {
	t, err := secretEnv(getenv, "FORGEBRIDGE_JIRA_TOKEN")
	if err == nil && t == "" {
		err = fmt.Errorf("the Jira tracker needs the service account's personal access token in FORGEBRIDGE_JIRA_TOKEN or FORGEBRIDGE_JIRA_TOKEN_FILE")
	}
	return t, err
}

// openJira configures the Jira tracker; checkJira then checks its service token.
// observe sees each call to Jira (metrics); grants keeps people's Jira
// grants for smart commits (nil: not kept).
func openJira(ctx context.Context, getenv func(string) string, baseURL string, observe func(op, outcome string, d time.Duration),
	grants jira.GrantStore) (*jira.Tracker, error) {
	if baseURL == "" {
		return nil, fmt.Errorf("--tracker jira needs --jira-url (or FORGEBRIDGE_JIRA_URL)")
	}
	token, err := jiraToken(getenv)
	if err != nil {
		return nil, err
	}
	cfg := jira.Config{BaseURL: baseURL, ServiceToken: token, AdminGroup: getenv("FORGEBRIDGE_JIRA_ADMIN_GROUP"), Observe: observe}
	if v := getenv("FORGEBRIDGE_JIRA_CACHE_TTL"); v != "" {
		ttl, err := time.ParseDuration(v)
		if err != nil || ttl > time.Hour {
			return nil, fmt.Errorf("FORGEBRIDGE_JIRA_CACHE_TTL=%q must be a duration of at most 1h (0s: no caching)", v)
		}
		cfg.CacheTTL = ttl
		if ttl == 0 {
			cfg.CacheTTL = -1 // the tracker reads 0 as its default
		}
	}
	if id := getenv("FORGEBRIDGE_JIRA_OAUTH_CLIENT_ID"); id != "" {
		secret, err := secretEnv(getenv, "FORGEBRIDGE_JIRA_OAUTH_CLIENT_SECRET")
		if err != nil {
			return nil, err
		}
		cfg.OAuth = &jira.OAuthConfig{ClientID: id, ClientSecret: secret}
		cfg.Grants = grants
	}
	return jira.New(cfg)
}

// checkJira checks the service token before serving. Only a token Jira
// rejects stops the start: while Jira cannot be reached the service starts
// degraded (/readyz says "jira":"down", and what needs Jira answers
// tracker_unavailable until it answers).
func checkJira(ctx context.Context, jt *jira.Tracker, baseURL string, log *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second) // a hanging Jira does not hold the start
	defer cancel()
	_, err := jt.Check(ctx)
	switch {
	case err == nil:
		return nil
	case fb.ErrorCode(err) == fb.EUnauthenticated:
		return fmt.Errorf("Jira at %s: %s", baseURL, message(err))
	default:
		log.Warn("Jira does not answer; serving without it until it does", "jira", baseURL, "err", fb.ErrorMessage(err))
		return nil
	}
}

// jiraKeyPrefix marks the keys of Jira users inside forgebridge. Local
// accounts (made with `users add`, names without ':') and Jira users then
// never share a key, so a Jira user named like a local administrator is not
// that administrator, and their saved tokens stay apart.
const jiraKeyPrefix = "jira:"

// withLocalAccounts is the Jira tracker plus the accounts made with
// `users add` (administrators who need no Jira account). It translates Jira
// user keys to and from their prefixed form; local accounts hold no Jira
// permission.
type withLocalAccounts struct {
	jira  *jira.Tracker
	local fb.Store
}

func tagged(u fb.User, err error) (fb.User, error) {
	if u.Key != "" {
		u.Key = jiraKeyPrefix + u.Key
	}
	return u, err
}

// jiraUser returns the Jira user behind a forgebridge user, if it is one.
func jiraUser(u fb.User) (fb.User, bool) {
	k, ok := strings.CutPrefix(u.Key, jiraKeyPrefix)
	u.Key = k
	return u, ok
}

func (t withLocalAccounts) User(ctx context.Context, key string) (fb.User, error) {
	if k, ok := strings.CutPrefix(key, jiraKeyPrefix); ok {
		return tagged(t.jira.User(ctx, k))
	}
	return t.local.User(ctx, key)
}

func (t withLocalAccounts) Issue(ctx context.Context, key string) (fb.Issue, error) {
	return t.jira.Issue(ctx, key)
}

// asJiraUser passes the person's own Jira token, if the context carries
// one for them, on to the Jira tracker under their Jira key.
func asJiraUser(ctx context.Context, u, ju fb.User) context.Context {
	if token, ok := fb.TrackerToken(ctx, u.Key); ok {
		return jira.WithPersonToken(ctx, ju.Key, token)
	}
	return ctx
}

func (t withLocalAccounts) Permissions(ctx context.Context, u fb.User, projectKey string) (map[string]bool, error) {
	if ju, ok := jiraUser(u); ok {
		return t.jira.Permissions(asJiraUser(ctx, u, ju), ju, projectKey)
	}
	return map[string]bool{}, nil
}

func (t withLocalAccounts) IssuePermissions(ctx context.Context, u fb.User, issue fb.Issue) (map[string]bool, error) {
	if ju, ok := jiraUser(u); ok {
		return t.jira.IssuePermissions(ctx, ju, issue)
	}
	return map[string]bool{}, nil
}

func (t withLocalAccounts) BrowsableProjects(ctx context.Context, u fb.User) ([]string, error) {
	if ju, ok := jiraUser(u); ok {
		return t.jira.BrowsableProjects(asJiraUser(ctx, u, ju), ju)
	}
	return nil, nil
}

func (t withLocalAccounts) BrowsableProjectsAmong(ctx context.Context, u fb.User, candidates []string) ([]string, error) {
	if ju, ok := jiraUser(u); ok {
		return t.jira.BrowsableProjectsAmong(asJiraUser(ctx, u, ju), ju, candidates)
	}
	return nil, nil
}

func (t withLocalAccounts) BrowsesAnyProject(ctx context.Context, u fb.User) (bool, error) {
	if ju, ok := jiraUser(u); ok {
		return t.jira.BrowsesAnyProject(asJiraUser(ctx, u, ju), ju)
	}
	return false, nil
}

// UserForToken checks a person's Jira token and returns them as a forgebridge user.
func (t withLocalAccounts) ProjectKeys(ctx context.Context) ([]string, error) {
	return t.jira.ProjectKeys(ctx)
}

// UsersByEmail says who wrote commits: Jira's users (local accounts are
// administrators, not commit authors), keyed as forgebridge keys them.
func (t withLocalAccounts) UsersByEmail(ctx context.Context, emails []string) (map[string]fb.User, error) {
	users, err := t.jira.UsersByEmail(ctx, emails)
	for e, u := range users {
		users[e], _ = tagged(u, nil)
	}
	return users, err
}

func (t withLocalAccounts) UserForToken(ctx context.Context, token string) (fb.User, error) {
	return tagged(t.jira.UserForToken(ctx, token))
}

func (t withLocalAccounts) OAuthConfigured() bool { return t.jira.OAuthConfigured() }

func (t withLocalAccounts) AuthorizeURL(state, codeChallenge, redirectURI string) string {
	return t.jira.AuthorizeURL(state, codeChallenge, redirectURI)
}

func (t withLocalAccounts) ExchangeCode(ctx context.Context, code, codeVerifier, redirectURI string) (string, error) {
	return t.jira.ExchangeCode(ctx, code, codeVerifier, redirectURI)
}

// The person's Jira grant, kept at "Sign in with Jira" for smart commits,
// is the Jira user's: stored under their Jira key.

func (t withLocalAccounts) KeepsGrants() bool { return t.jira.KeepsGrants() }

func (t withLocalAccounts) ExchangeGrant(ctx context.Context, code, codeVerifier, redirectURI string) (fb.JiraGrant, error) {
	return t.jira.ExchangeGrant(ctx, code, codeVerifier, redirectURI)
}

func (t withLocalAccounts) SaveGrant(ctx context.Context, userKey string, g fb.JiraGrant) error {
	if k, ok := strings.CutPrefix(userKey, jiraKeyPrefix); ok {
		return t.jira.SaveGrant(ctx, k, g)
	}
	return nil // a local account has no Jira grant
}

func (t withLocalAccounts) DropGrant(ctx context.Context, userKey string) error {
	if k, ok := strings.CutPrefix(userKey, jiraKeyPrefix); ok {
		return t.jira.DropGrant(ctx, k)
	}
	return nil
}

// Smart commits act as the Jira user through their grant; a local account
// has none.
var _ fb.IssueActor = withLocalAccounts{}

func (t withLocalAccounts) actor(as fb.User) (fb.User, error) {
	ju, ok := jiraUser(as)
	if !ok {
		return fb.User{}, fb.Errorf(fb.EGrantRequired, "%s is a forgebridge account, not a Jira user: smart commits cannot act as them in Jira.", as.Name)
	}
	return ju, nil
}

func (t withLocalAccounts) Comment(ctx context.Context, as fb.User, issueKey, body string) error {
	ju, err := t.actor(as)
	if err != nil {
		return err
	}
	return t.jira.Comment(ctx, ju, issueKey, body)
}

func (t withLocalAccounts) LogWork(ctx context.Context, as fb.User, issueKey string, seconds int64, comment string, started time.Time) error {
	ju, err := t.actor(as)
	if err != nil {
		return err
	}
	return t.jira.LogWork(ctx, ju, issueKey, seconds, comment, started)
}

func (t withLocalAccounts) Transition(ctx context.Context, as fb.User, issueKey, name, comment string) error {
	ju, err := t.actor(as)
	if err != nil {
		return err
	}
	return t.jira.Transition(ctx, ju, issueKey, name, comment)
}

// jiraLinker writes links to created branches and pull requests as Jira remote links.
type jiraLinker struct{ t *jira.Tracker }

func (l jiraLinker) LinkIssue(ctx context.Context, issueKey string, in app.IssueLink) error {
	return l.t.AddRemoteLink(ctx, issueKey, jira.RemoteLink{GlobalID: in.GlobalID, URL: in.URL, Title: in.Title,
		Summary: in.Summary, IconURL: in.IconURL, IconTitle: in.IconTitle, Resolved: in.Resolved})
}

// UnlinkIssue removes the remote link to a deleted branch.
func (l jiraLinker) UnlinkIssue(ctx context.Context, issueKey, globalID string) error {
	return l.t.DeleteRemoteLink(ctx, issueKey, globalID)
}
