// Package jira is the tracker backed by Jira Data Center or Server (8.14 and
// later) through its REST API v2: people, issues and project permissions come
// from Jira, read with a service account's personal access token, and links to
// branches and pull requests are written back to the issues.
package jira

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// grantRetry is how long a person whose kept grant could not give a token
// (the store or Jira's token endpoint failing) is asked about as the
// service account before their grant is tried again.
const grantRetry = time.Minute

// Defaults of Config.
const (
	DefaultAdminGroup = "jira-administrators"
	DefaultCacheTTL   = 60 * time.Second
)

// Config is how forgebridge reaches Jira.
type Config struct {
	// BaseURL is Jira's address, with its context path if it has one
	// (https://jira.example.com or https://example.com/jira).
	BaseURL string
	// ServiceToken is the service account's personal access token. It is sent
	// only to BaseURL's host and never appears in an error or a log.
	ServiceToken string
	// AdminGroup names the Jira group whose members are forgebridge admins;
	// DefaultAdminGroup when empty.
	AdminGroup string
	// CacheTTL is how long a permission decision or a user lookup is reused,
	// so a change in Jira takes effect within it; DefaultCacheTTL when zero,
	// no caching when negative.
	CacheTTL time.Duration
	// OAuth is forgebridge's OAuth 2.0 client in Jira, for "Sign in with
	// Jira"; nil when not configured.
	OAuth *OAuthConfig
	// Grants, when set with OAuth, keeps each person's grant from "Sign in
	// with Jira" so smart commits act as them (IssueActor); sign-in then
	// asks for the WRITE scope.
	Grants GrantStore
	// Now, when set, is the clock of the caches and the readiness probe
	// (tests and benchmarks); time.Now otherwise.
	Now func() time.Time
	// HTTPClient, when set, is used for every call (tests); otherwise a client
	// with timeouts and the environment's proxy is built. Redirects to another
	// host are refused either way, so the tokens only ever reach Jira.
	HTTPClient *http.Client
	// Observe, when set, is told of every call to Jira once it ends (its
	// retries included): the operation (opOf's names), the outcome
	// (ok, rejected, client_error, unavailable, canceled) and how long it
	// took. /metrics counts and times calls with it.
	Observe func(op, outcome string, d time.Duration)
}

// Tracker answers forgebridge's questions about people, issues and
// permissions from Jira. It is safe for concurrent use.
type Tracker struct {
	base       string        // BaseURL without a trailing slash
	token      fb.Credential // the service token; redacted when printed
	adminGroup string
	client     *http.Client
	oauth      *OAuthConfig // nil: "Sign in with Jira" is not configured
	grants     GrantStore   // nil: people's grants are not kept
	retryWaits []time.Duration
	now        func() time.Time
	onCall     func(op, outcome string, d time.Duration) // Config.Observe

	ttl       time.Duration
	decisions *lru[personKey, *lru[decisionKey, bool]] // each person's own, so one cannot evict another's
	users     *lru[string, fb.User]
	// allProjects is the service account's project list; ownProjectLists
	// each person's, asked as them (projects.go).
	allProjects     *lru[struct{}, []string]
	ownProjectLists *lru[personKey, []string]
	// missing is the projects and issues Jira said do not exist, so a
	// stale name in an integration is not asked about on every page;
	// refused the hashes of person tokens Jira no longer accepts.
	missing *lru[scope, struct{}]
	refused *lru[[32]byte, struct{}]
	// noGrant is the people whose kept grant cannot ask Jira as them
	// (none, or Jira no longer honours it), by Jira user key, so their
	// questions go to the service account without a look at the store.
	noGrant *lru[string, struct{}]
	// grantFailing is the people whose grant could not give a token lately
	// (the store or Jira's token endpoint failing), not asked again for
	// grantRetry.
	grantFailing *lru[string, struct{}]
	// lastBrowsable is a project each person was last found to browse,
	// tried first when the question is whether they browse any.
	lastBrowsable *lru[personKey, string]
	probe         probe                     // Ready's last answer (ready.go)
	authors       *ttlCache[string, author] // by lower-cased email
}

var _ fb.Tracker = (*Tracker)(nil)

// String and GoString name the tracker without its token, so that printing
// it with %v, %+v or %#v cannot leak the token.
func (t *Tracker) String() string   { return "jira.Tracker(" + t.base + ")" }
func (t *Tracker) GoString() string { return t.String() }

// New checks the configuration and returns a Tracker. It makes no call to
// Jira: Check validates the service token.
func New(cfg Config) (*Tracker, error) {
	u, err := url.Parse(strings.TrimSpace(cfg.BaseURL))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fb.Errorf(fb.EInvalid, "The Jira URL %q is not a valid http(s) URL.", cfg.BaseURL)
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fb.Errorf(fb.EInvalid, "The Jira URL must be Jira's base address only, without credentials, query or fragment.")
	}
	if cfg.ServiceToken == "" {
		return nil, fb.Errorf(fb.EInvalid, "The Jira service account's personal access token is not set (FORGEBRIDGE_JIRA_TOKEN).")
	}
	oauth, err := newOAuth(cfg.OAuth)
	if err != nil {
		return nil, err
	}
	t := &Tracker{
		base:       strings.TrimRight(u.String(), "/"),
		oauth:      oauth,
		grants:     cfg.Grants,
		token:      fb.Credential{Token: cfg.ServiceToken},
		adminGroup: cfg.AdminGroup,
		retryWaits: defaultRetryWaits,
		now:        time.Now,
		onCall:     cfg.Observe,
	}
	if t.adminGroup == "" {
		t.adminGroup = DefaultAdminGroup
	}
	if cfg.Now != nil {
		t.now = cfg.Now
	}
	ttl := cfg.CacheTTL
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	t.ttl = ttl
	t.decisions = newLRU[personKey, *lru[decisionKey, bool]](0, maxPeople)
	t.users = newLRU[string, fb.User](ttl, maxUsers)
	t.allProjects = newLRU[struct{}, []string](ttl, 1)
	t.ownProjectLists = newLRU[personKey, []string](ttl, maxPeople)
	t.missing = newLRU[scope, struct{}](ttl, maxUsers)
	t.refused = newLRU[[32]byte, struct{}](ttl, maxPeople)
	t.noGrant = newLRU[string, struct{}](ttl, maxPeople)
	t.grantFailing = newLRU[string, struct{}](grantRetry, maxPeople)
	t.lastBrowsable = newLRU[personKey, string](0, maxPeople)
	authorTTL := authorsFor
	if ttl < 0 {
		authorTTL = ttl
	}
	t.authors = newTTLCache[string, author](authorTTL)
	t.client = newHTTPClient(cfg.HTTPClient, u.Host)
	return t, nil
}

// errForeignRedirect refuses a redirect that would carry a token off Jira's host.
var errForeignRedirect = errors.New("jira: refusing a redirect to another host than Jira's")

// newHTTPClient returns base (or a new client with timeouts and the
// environment's proxy) refusing redirects to any host but Jira's.
func newHTTPClient(base *http.Client, host string) *http.Client {
	var c http.Client
	if base != nil {
		c = *base
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = http.ProxyFromEnvironment
		tr.DialContext = (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		tr.TLSHandshakeTimeout = 5 * time.Second
		tr.ResponseHeaderTimeout = 10 * time.Second
		c = http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if !strings.EqualFold(req.URL.Host, host) {
			return fmt.Errorf("%w: %s", errForeignRedirect, req.URL.Host)
		}
		if len(via) >= 5 {
			return errors.New("jira: too many redirects")
		}
		return nil
	}
	return &c
}

// jiraUser is Jira's user bean, as /myself and /user answer it.
type jiraUser struct {
	Key          string `json:"key"`
	Name         string `json:"name"`
	DisplayName  string `json:"displayName"`
	EmailAddress string `json:"emailAddress"`
	Active       bool   `json:"active"`
	Groups       struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	} `json:"groups"`
}

func (t *Tracker) toUser(ju jiraUser) fb.User {
	u := fb.User{Key: ju.Key, Name: ju.Name, DisplayName: ju.DisplayName, Active: ju.Active}
	for _, g := range ju.Groups.Items {
		// Jira group names are case-insensitive.
		if strings.EqualFold(g.Name, t.adminGroup) {
			u.Admin = true
		}
	}
	return u
}

// Check validates the service token at start-up and returns the service
// account. A rejected token is EUnauthenticated.
func (t *Tracker) Check(ctx context.Context) (fb.User, error) {
	var ju jiraUser
	err := t.call(ctx, request{method: http.MethodGet, path: "/rest/api/2/myself", token: t.token.Token, whose: startup}, &ju)
	if statusOf(err) == http.StatusForbidden {
		// Jira turning the token away from /myself is a rejection too.
		return fb.User{}, &fb.Error{Code: fb.EUnauthenticated, Err: err,
			Message: "Jira rejected the service token (HTTP 403); an administrator must check the service account and FORGEBRIDGE_JIRA_TOKEN."}
	}
	if err != nil {
		return fb.User{}, describe(err, "checking the service account")
	}
	if !ju.Active {
		return fb.User{}, fb.Errorf(fb.EUnauthenticated, "Jira rejected the service token: the service account %s is deactivated.", ju.Name)
	}
	return t.toUser(ju), nil
}

// Ping reports whether Jira answers, for readiness reports. It asks for
// Jira's server information, which needs no permission.
func (t *Tracker) Ping(ctx context.Context) error {
	var info struct {
		Version string `json:"version"`
	}
	err := t.call(ctx, request{method: http.MethodGet, path: "/rest/api/2/serverInfo", token: t.token.Token, whose: service}, &info)
	return describe(err, "asking for Jira's server information")
}

// UserForToken returns the Jira user a personal access token belongs to,
// for signing in. The token is used for this one call and not kept.
// EUnauthenticated when Jira rejects it or the account is deactivated.
func (t *Tracker) UserForToken(ctx context.Context, personalToken string) (fb.User, error) {
	if strings.TrimSpace(personalToken) == "" {
		return fb.User{}, fb.Errorf(fb.EUnauthenticated, "A Jira personal access token is required.")
	}
	var ju jiraUser
	q := url.Values{"expand": {"groups"}}
	err := t.call(ctx, request{method: http.MethodGet, path: "/rest/api/2/myself", query: q, token: personalToken, whose: person}, &ju)
	if err != nil {
		return fb.User{}, describe(err, "signing you in")
	}
	if !ju.Active {
		return fb.User{}, fb.Errorf(fb.EUnauthenticated, "The Jira account %s is deactivated.", ju.Name)
	}
	u := t.toUser(ju)
	t.learnOwnProjects(ctx, u, personalToken)
	return u, nil
}

// User returns the Jira user with that user key (the stable key, not the
// name). A deactivated user is returned with Active false: callers refuse it.
// Answers are cached for the TTL; failures are not.
func (t *Tracker) User(ctx context.Context, key string) (fb.User, error) {
	if key == "" {
		return fb.User{}, fb.Errorf(fb.ENotFound, "No Jira user has an empty key.")
	}
	if u, ok := t.users.get(key, t.now()); ok {
		return u, nil
	}
	var ju jiraUser
	q := url.Values{"key": {key}, "expand": {"groups"}}
	err := t.call(ctx, request{method: http.MethodGet, path: "/rest/api/2/user", query: q, token: t.token.Token, whose: service}, &ju)
	if statusOf(err) == http.StatusNotFound {
		return fb.User{}, fb.Errorf(fb.ENotFound, "No Jira user has the key %q.", key)
	}
	if err != nil {
		return fb.User{}, describe(err, "looking up a user")
	}
	u := t.toUser(ju)
	t.users.put(key, u, t.now())
	return u, nil
}

// Issue returns the issue; ENotFound when it does not exist or the service
// account cannot see it (Jira answers both with 404).
func (t *Tracker) Issue(ctx context.Context, key string) (fb.Issue, error) {
	var ji struct {
		Key    string `json:"key"`
		Fields struct {
			Summary   string `json:"summary"`
			IssueType struct {
				Name string `json:"name"`
			} `json:"issuetype"`
			Project struct {
				Key string `json:"key"`
			} `json:"project"`
		} `json:"fields"`
	}
	if key == "" {
		return fb.Issue{}, fb.Errorf(fb.ENotFound, "An issue key is required.")
	}
	q := url.Values{"fields": {"summary,issuetype,project"}}
	err := t.call(ctx, request{method: http.MethodGet, path: "/rest/api/2/issue/" + url.PathEscape(key), query: q, token: t.token.Token, whose: service}, &ji)
	if statusOf(err) == http.StatusNotFound {
		return fb.Issue{}, fb.Errorf(fb.ENotFound, "Issue %s does not exist in Jira, or forgebridge's service account may not browse it.", key)
	}
	if err != nil {
		return fb.Issue{}, describe(err, "looking up an issue")
	}
	// Jira answers for a moved issue under its new key.
	return fb.Issue{Key: ji.Key, Summary: ji.Fields.Summary, Type: ji.Fields.IssueType.Name, Project: ji.Fields.Project.Key}, nil
}

// gatingPermissions are the permissions Permissions and IssuePermissions report.
var gatingPermissions = []string{fb.PermBrowseProjects, fb.PermViewDevTools}

// scope is what a permission is checked on: a project, or one issue, whose
// security level can narrow what its project grants.
type scope struct {
	param string // the permission search's parameter: "projectKey" or "issueKey"
	key   string
}

func projectScope(key string) scope { return scope{param: "projectKey", key: key} }
func issueScope(key string) scope   { return scope{param: "issueKey", key: key} }

// Permissions returns whether the user holds Browse Projects and View
// Development Tools on the project, as Jira answers the service account's
// permission search. Decisions are cached for the configured TTL; failures
// are not.
func (t *Tracker) Permissions(ctx context.Context, u fb.User, projectKey string) (map[string]bool, error) {
	return t.permissions(ctx, u, projectScope(projectKey))
}

// IssuePermissions returns which of BROWSE_PROJECTS and VIEW_DEV_TOOLS the user holds on the issue itself, which an issue security level can narrow below the project's.
//
// Jira answers the permission search for the issue, so a user left out of
// the issue's security level holds neither, whatever the project grants.
// Decisions are cached per issue for the configured TTL, apart from the
// project's; failures are not. ENotFound when the issue does not exist.
func (t *Tracker) IssuePermissions(ctx context.Context, u fb.User, issue fb.Issue) (map[string]bool, error) {
	if issue.Key == "" {
		return nil, fb.Errorf(fb.ENotFound, "An issue key is required.")
	}
	return t.permissions(ctx, u, issueScope(issue.Key))
}

// permissions answers every gating permission on the scope: from the cache,
// else as the person when ctx carries their token (one call), else with the
// service account's permission searches, concurrently.
func (t *Tracker) permissions(ctx context.Context, u fb.User, sc scope) (map[string]bool, error) {
	if out, ok := t.cachedPermissions(u, sc); ok {
		return out, nil
	}
	if own, ok, err := t.ownPermissions(ctx, u, sc); err != nil {
		return nil, err
	} else if ok {
		cache, now := t.personDecisions(u.Key, u.Name), t.now()
		for perm, v := range own {
			cache.put(decisionKey{userKey: u.Key, userName: u.Name, scope: sc, perm: perm}, v, now)
		}
		return own, nil
	}
	out := make(map[string]bool, len(gatingPermissions))
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, perm := range gatingPermissions {
		wg.Go(func() {
			ok, err := t.holds(ctx, u, sc, perm)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = err
				}
				return
			}
			out[perm] = ok
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// cachedPermissions returns every gating decision on the scope when all are fresh.
func (t *Tracker) cachedPermissions(u fb.User, sc scope) (map[string]bool, bool) {
	cache, now := t.personDecisions(u.Key, u.Name), t.now()
	out := make(map[string]bool, len(gatingPermissions))
	for _, perm := range gatingPermissions {
		ok, hit := cache.get(decisionKey{userKey: u.Key, userName: u.Name, scope: sc, perm: perm}, now)
		if !hit {
			return nil, false
		}
		out[perm] = ok
	}
	return out, true
}

// holds answers one permission decision, from the person's cache when fresh.
func (t *Tracker) holds(ctx context.Context, u fb.User, sc scope, perm string) (bool, error) {
	cache := t.personDecisions(u.Key, u.Name)
	k := decisionKey{userKey: u.Key, userName: u.Name, scope: sc, perm: perm}
	if ok, hit := cache.get(k, t.now()); hit {
		return ok, nil
	}
	if _, gone := t.missing.get(sc, t.now()); gone {
		return false, notFound(sc)
	}
	ok, err := t.search(ctx, u, sc, perm)
	if fb.ErrorCode(err) == fb.ENotFound {
		t.missing.put(sc, struct{}{}, t.now())
	}
	if err != nil {
		return false, err
	}
	cache.put(k, ok, t.now())
	return ok, nil
}

// permissionPage is how many users one permission search asks for (Jira's maximum).
const permissionPage = 1000

// search asks Jira whether the user holds one permission on the project or
// issue. The search matches user names, display names and e-mail addresses
// by prefix and lists only active users, so the answer is searched for the
// very user (by key, else by name), page after full page.
func (t *Tracker) search(ctx context.Context, u fb.User, sc scope, perm string) (bool, error) {
	if u.Name == "" {
		return false, fb.Errorf(fb.EInternal, "A Jira permission check needs the user's name.")
	}
	for start := 0; ; {
		q := url.Values{
			"username":    {u.Name},
			"permissions": {perm},
			sc.param:      {sc.key},
			"startAt":     {strconv.Itoa(start)},
			"maxResults":  {strconv.Itoa(permissionPage)},
		}
		var users []jiraUser
		err := t.call(ctx, request{method: http.MethodGet, path: "/rest/api/2/user/permission/search", query: q, token: t.token.Token, whose: service}, &users)
		if statusOf(err) == http.StatusNotFound {
			return false, notFound(sc)
		}
		if err != nil {
			return false, describe(err, "checking permissions")
		}
		for _, ju := range users {
			if sameUser(u, ju) {
				return true, nil
			}
		}
		if len(users) < permissionPage {
			return false, nil
		}
		start += len(users)
	}
}

// notFound says that the project or issue does not exist.
func notFound(sc scope) error {
	if sc.param == "issueKey" {
		return fb.Errorf(fb.ENotFound, "Issue %s does not exist in Jira.", sc.key)
	}
	return fb.Errorf(fb.ENotFound, "Project %s does not exist in Jira.", sc.key)
}

// sameUser reports whether a user of a search answer is u: the same key
// (unique and stable), or when u has none the same name (case-insensitive in Jira).
func sameUser(u fb.User, ju jiraUser) bool {
	if u.Key != "" {
		return ju.Key == u.Key
	}
	return strings.EqualFold(ju.Name, u.Name)
}

// RemoteLink is a link from a Jira issue to a branch or pull request.
type RemoteLink struct {
	// GlobalID identifies the linked object (at most 255 characters): adding
	// a link with the GlobalID of an existing one updates that one.
	GlobalID string
	URL      string
	Title    string
	Summary  string
	// IconURL is a 16×16 icon of the hosting service; IconTitle its tooltip.
	IconURL   string
	IconTitle string
	// Resolved shows the link struck through (a merged or closed pull request).
	Resolved bool
}

// Remote links written by forgebridge name it as their application, so Jira
// groups them and other tools can tell them apart.
const (
	linkApplicationType = "com.forgebridge"
	linkApplicationName = "forgebridge"
	linkRelationship    = "Development"
)

// AddRemoteLink adds the link to the issue, or updates the issue's link with
// the same GlobalID, so a retry never duplicates it.
func (t *Tracker) AddRemoteLink(ctx context.Context, issueKey string, link RemoteLink) error {
	if link.GlobalID == "" || len(link.GlobalID) > 255 {
		return fb.Errorf(fb.EInvalid, "A remote link needs a global id of 1 to 255 characters.")
	}
	if link.URL == "" || link.Title == "" {
		return fb.Errorf(fb.EInvalid, "A remote link needs a URL and a title.")
	}
	type icon struct {
		URL16x16 string `json:"url16x16,omitempty"`
		Title    string `json:"title,omitempty"`
	}
	type status struct {
		Resolved bool `json:"resolved"`
	}
	type object struct {
		URL     string  `json:"url"`
		Title   string  `json:"title"`
		Summary string  `json:"summary,omitempty"`
		Icon    *icon   `json:"icon,omitempty"`
		Status  *status `json:"status"`
	}
	body := struct {
		GlobalID    string            `json:"globalId"`
		Application map[string]string `json:"application"`
		Relation    string            `json:"relationship"`
		Object      object            `json:"object"`
	}{
		GlobalID:    link.GlobalID,
		Application: map[string]string{"type": linkApplicationType, "name": linkApplicationName},
		Relation:    linkRelationship,
		Object: object{URL: link.URL, Title: link.Title, Summary: link.Summary,
			Status: &status{Resolved: link.Resolved}},
	}
	if link.IconURL != "" {
		body.Object.Icon = &icon{URL16x16: link.IconURL, Title: link.IconTitle}
	}
	path := "/rest/api/2/issue/" + url.PathEscape(issueKey) + "/remotelink"
	err := t.call(ctx, request{method: http.MethodPost, path: path, body: body, token: t.token.Token, whose: service}, nil)
	switch statusOf(err) {
	case 0:
		return describe(err, "adding a remote link")
	case http.StatusNotFound:
		return fb.Errorf(fb.ENotFound, "Issue %s does not exist in Jira, or forgebridge's service account may not browse it.", issueKey)
	case http.StatusForbidden:
		return &fb.Error{Code: fb.EForbidden, Err: err, Message: fmt.Sprintf(
			"Jira refused to add a link to issue %s: forgebridge's service account needs the Link Issues permission on its project.", issueKey)}
	default:
		return describe(err, "adding a remote link")
	}
}

// describe turns a *statusError left over by a method's own mapping into an
// *fb.Error naming what was being done; *fb.Error and nil pass through.
func describe(err error, doing string) error {
	var se *statusError
	if !errors.As(err, &se) {
		return err
	}
	switch {
	case se.whose == person && se.status == http.StatusForbidden:
		// The person's own token was turned down: theirs to fix, not the
		// service account's, and no outage. (A 401 never gets here: call
		// reports it through rejected, with the same code.)
		return &fb.Error{Code: fb.EUnauthenticated, Err: se, Message: fmt.Sprintf(
			"Jira did not accept your token while %s: sign in to Jira in a browser to check that your account may use Jira, then try again with a valid token.", doing)}
	case se.status == http.StatusForbidden:
		return &fb.Error{Code: fb.ETrackerUnavailable, Err: se, Message: fmt.Sprintf(
			"Jira refused forgebridge's service account while %s; a Jira administrator must grant it the permission (Browse users, Administer Jira or Administer project).", doing)}
	case se.status == http.StatusBadRequest:
		msg := fmt.Sprintf("Jira refused the request while %s.", doing)
		if len(se.messages) > 0 {
			msg = fmt.Sprintf("Jira refused the request while %s: %s", doing, strings.Join(se.messages, " "))
		}
		return &fb.Error{Code: fb.EInvalid, Err: se, Message: msg}
	default:
		return &fb.Error{Code: fb.ETrackerUnavailable, Err: se, Message: unavailableMessage}
	}
}
