// Package github is forgebridge's driver for GitHub (kind github) and GitHub
// Enterprise Server (kind github-enterprise): it validates tokens, lists
// repositories and branches, creates branches and opens pull requests over the
// official go-github SDK with the credential of each call, and translates
// GitHub's answers into forgebridge's error vocabulary.
package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	gh "github.com/google/go-github/v84/github"
	"github.com/jmespath/go-jmespath"
)

// apiVersion is the REST API version every request asks for.
const apiVersion = "2022-11-28"

// maxPages bounds a paged listing (100 items a page), so a server that keeps
// answering with a next page cannot keep a call running forever.
const maxPages = 1000

// Driver talks to one GitHub or GitHub Enterprise integration.
type Driver struct {
	in       fb.Integration
	client   *gh.Client
	webBase  string // web address repositories live under, with a trailing slash
	listPath string // repository list, relative to the API base
	filter   *jmespath.JMESPath
}

var _ provider.Provider = (*Driver)(nil)

// New builds the driver for an integration of kind github or
// github-enterprise. It matches provider.Factory.
func New(in fb.Integration, opts provider.Options) (provider.Provider, error) {
	return NewDriver(in, opts)
}

// NewDriver is New returning the concrete type.
func NewDriver(in fb.Integration, opts provider.Options) (*Driver, error) {
	base := strings.TrimRight(in.BaseURL, "/")
	var api, web string
	switch in.Kind {
	case fb.KindGitHub:
		api, web = "https://api.github.com/", "https://github.com/"
		if base != "" {
			api, web = base+"/", base+"/"
		}
	case fb.KindGitHubEnterprise:
		if base == "" {
			return nil, fb.Errorf(fb.EInvalid, "A GitHub Enterprise integration needs the address of the server (base URL), such as https://github.example.com.")
		}
		web = strings.TrimSuffix(base, "/api/v3") + "/"
		api = web + "api/v3/"
	default:
		return nil, fb.Errorf(fb.EInvalid, "The GitHub driver does not serve integrations of kind %q.", in.Kind)
	}
	host, err := provider.HostOf(api)
	if err != nil {
		return nil, err
	}
	apiURL, _ := url.Parse(api) // HostOf parsed it already
	listPath := "user/repos"
	if in.APIPath != "" {
		u, err := url.Parse(in.APIPath)
		if err != nil || u.Scheme != "" || u.Host != "" || strings.Trim(u.Path, "/") == "" {
			return nil, fb.Errorf(fb.EInvalid, "The API path %q must be a path of the GitHub API such as /orgs/acme/repos.", in.APIPath)
		}
		listPath = strings.TrimLeft(in.APIPath, "/")
	}
	filter, err := provider.CompileFilter(in.RepositoryFilter)
	if err != nil {
		return nil, err
	}
	hc, err := provider.NewHTTPClient(in, opts, host)
	if err != nil {
		return nil, err
	}
	hc.Transport = &tokenTransport{base: hc.Transport, host: strings.ToLower(host)}
	c := gh.NewClient(hc)
	c.BaseURL, c.UploadURL = apiURL, apiURL
	c.UserAgent = opts.UserAgent
	if c.UserAgent == "" {
		c.UserAgent = "forgebridge"
	}
	// Rate limits belong to each token, but the client is shared by all of
	// them: its memory of one token's limit must not stop another's calls.
	// go-github waits for a limit only when asked to through the request
	// context, which this driver never does.
	c.DisableRateLimitCheck = true
	return &Driver{in: in, client: c, webBase: web, listPath: listPath, filter: filter}, nil
}

// tokenKey carries the credential of a call in its context.
type tokenKey struct{}

// tokenTransport puts the call's token on requests to the integration's API
// host only; the guard below it refuses every other host anyway.
type tokenTransport struct {
	base http.RoundTripper
	host string
}

func (t *tokenTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.ToLower(req.URL.Host) != t.host {
		return t.base.RoundTrip(req)
	}
	req = req.Clone(req.Context())
	if tok, _ := req.Context().Value(tokenKey{}).(string); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	// Pinned rather than left to go-github's default, so that an SDK
	// upgrade cannot change the answers' shapes behind our back.
	req.Header.Set("X-GitHub-Api-Version", apiVersion)
	return t.base.RoundTrip(req)
}

// call returns the context of a call made with cred, or an error when the
// token cannot be a GitHub token at all.
func call(ctx context.Context, cred fb.Credential) (context.Context, error) {
	if strings.ContainsAny(cred.Token, "\r\n\x00") {
		return nil, fb.Errorf(fb.ETokenRejected, "The GitHub token contains characters a token never has; paste it again.")
	}
	return context.WithValue(ctx, tokenKey{}, cred.Token), nil
}

// Validate asks GitHub who the token belongs to, which scopes a classic
// token has, and when the token expires.
func (d *Driver) Validate(ctx context.Context, cred fb.Credential) (info fb.TokenInfo, err error) {
	defer scrub(&err, cred.Token)
	ctx, err = call(ctx, cred)
	if err != nil {
		return fb.TokenInfo{}, err
	}
	user, resp, err := d.client.Users.Get(ctx, "")
	if err != nil {
		return fb.TokenInfo{}, mapError(err, false)
	}
	return fb.TokenInfo{
		Login:     user.GetLogin(),
		UserID:    strconv.FormatInt(user.GetID(), 10),
		Scopes:    scopes(resp.Header),
		ExpiresAt: expiry(resp.Header.Get("github-authentication-token-expiration")),
	}, nil
}

// scopes returns the scopes GitHub lists for a classic token; fine-grained
// tokens have none (no X-OAuth-Scopes header).
func scopes(h http.Header) []string {
	out := []string{}
	for _, s := range strings.Split(h.Get("X-OAuth-Scopes"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// expiry parses github-authentication-token-expiration ("2026-12-31 00:00:00
// UTC", sometimes with a numeric offset instead of the zone name).
func expiry(v string) *time.Time {
	if v == "" {
		return nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05 MST", "2006-01-02 15:04:05 -0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			t = t.UTC()
			return &t
		}
	}
	return nil
}

// Repositories lists every repository of the integration's list path (by
// default every repository the token can see), page by page, each page
// narrowed by the integration's JMESPath filter before it is decoded.
//
// CanCreateBranch and CanCreatePullRequest are false only for archived
// repositories. The permissions block GitHub adds describes the user of the
// credential used for discovery (usually the integration's), while branches
// and pull requests may be created later with a person's own token, so
// permissions.push is not taken as a property of the repository.
func (d *Driver) Repositories(ctx context.Context, cred fb.Credential) (repos []fb.Repository, err error) {
	defer scrub(&err, cred.Token)
	ctx, err = call(ctx, cred)
	if err != nil {
		return nil, err
	}
	next, err := withPerPage(d.listPath)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for pages := 0; next != ""; pages++ {
		if pages == maxPages || seen[next] {
			return nil, fb.Errorf(fb.EProviderUnavailable, "GitHub kept answering the repository list with further pages; try again later.")
		}
		seen[next] = true
		req, err := d.client.NewRequest(http.MethodGet, next, nil)
		if err != nil {
			return nil, &fb.Error{Code: fb.EInvalid, Message: "The repository list address is not valid.", Err: err}
		}
		var body bytes.Buffer
		resp, err := d.client.Do(ctx, req, &body)
		if err != nil {
			return nil, mapError(err, false)
		}
		page, err := provider.FilterPage(d.filter, body.Bytes())
		if err != nil {
			return nil, err
		}
		var list []*gh.Repository
		if err := json.Unmarshal(page, &list); err != nil {
			if d.filter != nil {
				return nil, &fb.Error{Code: fb.EInvalid, Err: err,
					Message: "The repository filter must keep whole repositories (such as [?archived==`false`]), not parts of them."}
			}
			return nil, &fb.Error{Code: fb.EProviderUnavailable, Err: err,
				Message: "GitHub answered the repository list with something that is not a list of repositories."}
		}
		for _, r := range list {
			if r == nil || r.GetID() == 0 || r.GetFullName() == "" {
				return nil, fb.Errorf(fb.EInvalid, "The repository list holds entries that are not repositories; check the API path and the repository filter.")
			}
			repos = append(repos, fb.Repository{
				IntegrationID:        d.in.ID,
				ExternalID:           strconv.FormatInt(r.GetID(), 10),
				Name:                 r.GetName(),
				FullName:             r.GetFullName(),
				DefaultBranch:        r.GetDefaultBranch(),
				WebURL:               r.GetHTMLURL(),
				CanCreateBranch:      !r.GetArchived(),
				CanCreatePullRequest: !r.GetArchived(),
			})
		}
		next = nextLink(resp.Header.Get("Link"))
	}
	return repos, nil
}

// withPerPage adds per_page=100 to a list path that does not choose its own.
func withPerPage(path string) (string, error) {
	u, err := url.Parse(path)
	if err != nil {
		return "", fb.Errorf(fb.EInvalid, "The API path %q is not valid.", path)
	}
	q := u.Query()
	if q.Get("per_page") == "" {
		q.Set("per_page", "100")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// nextLink returns the rel="next" address of a Link header, or "".
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
			continue
		}
		for _, p := range strings.Split(params, ";") {
			if strings.ReplaceAll(strings.TrimSpace(p), " ", "") == `rel="next"` {
				return target[1 : len(target)-1]
			}
		}
	}
	return ""
}

// Branches lists every branch of the repository.
func (d *Driver) Branches(ctx context.Context, cred fb.Credential, repo fb.Repository) (branches []fb.Branch, err error) {
	defer scrub(&err, cred.Token)
	ctx, err = call(ctx, cred)
	if err != nil {
		return nil, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return nil, err
	}
	opts := &gh.BranchListOptions{ListOptions: gh.ListOptions{PerPage: 100}}
	for pages := 0; ; pages++ {
		if pages == maxPages {
			return nil, fb.Errorf(fb.EProviderUnavailable, "GitHub kept answering the branch list with further pages; try again later.")
		}
		list, resp, err := d.client.Repositories.ListBranches(ctx, owner, name, opts)
		if err != nil {
			return nil, mapError(err, false)
		}
		for _, b := range list {
			branches = append(branches, fb.Branch{Name: b.GetName(), SHA: b.GetCommit().GetSHA(),
				WebURL: d.branchURL(repo, b.GetName())})
		}
		if resp.NextPage == 0 {
			return branches, nil
		}
		opts.Page = resp.NextPage
	}
}

// CreateBranch creates name at the head of base (the default branch when
// base is empty): it reads the base branch's sha, then creates the ref.
func (d *Driver) CreateBranch(ctx context.Context, cred fb.Credential, repo fb.Repository, name, base string) (b fb.Branch, err error) {
	return d.createBranch(ctx, cred, repo, name, base, "")
}

// createBranch creates name at the head of base or, with a commit message, at a
// new empty commit on top of it with commitMessage.
func (d *Driver) createBranch(ctx context.Context, cred fb.Credential, repo fb.Repository, name, base, commitMessage string) (b fb.Branch, err error) {
	defer scrub(&err, cred.Token)
	ctx, err = call(ctx, cred)
	if err != nil {
		return fb.Branch{}, err
	}
	owner, rname, err := split(repo)
	if err != nil {
		return fb.Branch{}, err
	}
	if name == "" {
		return fb.Branch{}, fb.Errorf(fb.EInvalid, "The branch needs a name.")
	}
	if base == "" {
		base = repo.DefaultBranch
	}
	if base == "" {
		r, _, err := d.client.Repositories.Get(ctx, owner, rname)
		if err != nil {
			return fb.Branch{}, mapError(err, false)
		}
		base = r.GetDefaultBranch()
	}
	ref, _, err := d.client.Git.GetRef(ctx, owner, rname, "heads/"+base)
	if err != nil {
		if status(err) == http.StatusNotFound {
			return fb.Branch{}, d.baseMissing(ctx, owner, rname, repo.FullName, base, err)
		}
		return fb.Branch{}, mapError(err, false)
	}
	sha := ref.GetObject().GetSHA()
	if commitMessage != "" {
		if sha, err = d.emptyCommit(ctx, owner, rname, sha, commitMessage); err != nil {
			return fb.Branch{}, err
		}
	}
	_, _, err = d.client.Git.CreateRef(ctx, owner, rname, gh.CreateRef{Ref: "refs/heads/" + name, SHA: sha})
	if err != nil {
		if status(err) == http.StatusUnprocessableEntity {
			switch msg := message(err); {
			case strings.Contains(msg, "Reference already exists"):
				url := d.branchURL(repo, name)
				return fb.Branch{}, &fb.Error{Code: fb.EAlreadyExists, Err: err,
					Message:  fmt.Sprintf("The branch %s already exists in %s.", name, repo.FullName),
					Existing: &fb.Existing{Name: name, WebURL: url}}
			case strings.Contains(msg, "Reference name is invalid"), strings.Contains(msg, "Reference update failed"):
				return fb.Branch{}, &fb.Error{Code: fb.EProviderRejected, Err: err,
					Message: fmt.Sprintf("GitHub does not accept %q as a branch name in %s (%s).", name, repo.FullName, short(msg))}
			}
		}
		return fb.Branch{}, mapError(err, true)
	}
	return fb.Branch{Name: name, SHA: sha, WebURL: d.branchURL(repo, name)}, nil
}

// baseMissing tells an unknown base branch from a repository the token cannot
// see: GitHub answers 404 for both.
func (d *Driver) baseMissing(ctx context.Context, owner, name, fullName, base string, cause error) error {
	if _, _, err := d.client.Repositories.Get(ctx, owner, name); err != nil {
		if e := fb.AsError(mapError(err, false)); e != nil && slices.Equal(e.MissingScopes, []string{"repo"}) {
			return e
		}
		if s := status(err); s == http.StatusNotFound || s == http.StatusForbidden {
			return &fb.Error{Code: fb.EProviderDenied, Err: err,
				Message: fmt.Sprintf("GitHub did not show the repository %s to your token: it does not exist or the token has no access to it.", fullName)}
		}
		return mapError(err, false)
	}
	return &fb.Error{Code: fb.EProviderRejected, Err: cause,
		Message: fmt.Sprintf("The base branch %s does not exist in %s.", base, fullName)}
}

// CreatePullRequest opens a pull request from pr.SourceBranch into pr.TargetBranch.
func (d *Driver) CreatePullRequest(ctx context.Context, cred fb.Credential, repo fb.Repository, pr fb.NewPullRequest) (out fb.PullRequest, err error) {
	defer scrub(&err, cred.Token)
	ctx, err = call(ctx, cred)
	if err != nil {
		return fb.PullRequest{}, err
	}
	owner, name, err := split(repo)
	if err != nil {
		return fb.PullRequest{}, err
	}
	target := pr.TargetBranch
	if target == "" {
		target = repo.DefaultBranch
	}
	created, _, err := d.client.PullRequests.Create(ctx, owner, name, &gh.NewPullRequest{
		Title: gh.Ptr(pr.Title), Head: gh.Ptr(pr.SourceBranch), Base: gh.Ptr(target),
		Body: gh.Ptr(pr.Description), Draft: gh.Ptr(pr.Draft),
	})
	if err != nil {
		if status(err) == http.StatusUnprocessableEntity {
			if e := d.pullRejected(ctx, owner, name, repo.FullName, pr.SourceBranch, target, err); e != nil {
				return fb.PullRequest{}, e
			}
		}
		return fb.PullRequest{}, mapError(err, true)
	}
	out = fb.PullRequest{ID: strconv.FormatInt(created.GetID(), 10), Number: created.GetNumber(),
		Title: created.GetTitle(), WebURL: created.GetHTMLURL(),
		SourceBranch: created.GetHead().GetRef(), TargetBranch: created.GetBase().GetRef()}
	if out.Title == "" {
		out.Title = pr.Title
	}
	if out.SourceBranch == "" {
		out.SourceBranch = pr.SourceBranch
	}
	if out.TargetBranch == "" {
		out.TargetBranch = target
	}
	return out, nil
}

// pullRejected explains GitHub's validation failures of a new pull request,
// or returns nil for the generic mapping.
func (d *Driver) pullRejected(ctx context.Context, owner, name, fullName, source, target string, err error) error {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) {
		return nil
	}
	for _, e := range er.Errors {
		switch {
		case strings.HasPrefix(e.Message, "A pull request already exists"):
			ex := &fb.Error{Code: fb.EAlreadyExists, Err: err,
				Message: fmt.Sprintf("A pull request from %s into %s is already open in %s.", source, target, fullName)}
			open, _, lerr := d.client.PullRequests.List(ctx, owner, name,
				&gh.PullRequestListOptions{State: "open", Head: owner + ":" + source, Base: target})
			if lerr == nil && len(open) > 0 {
				p := open[0]
				ex.Existing = &fb.Existing{ID: strconv.FormatInt(p.GetID(), 10), Number: p.GetNumber(), WebURL: p.GetHTMLURL()}
			}
			return ex
		case strings.HasPrefix(e.Message, "No commits between") && source == target:
			return &fb.Error{Code: fb.EProviderRejected, Err: err,
				Message: fmt.Sprintf("A pull request needs two different branches; both are %s.", source)}
		case strings.HasPrefix(e.Message, "No commits between"):
			return &fb.Error{Code: fb.EProviderRejected, Err: err,
				Message: fmt.Sprintf("%s has no commits that %s lacks; push commits to %s before opening a pull request.", source, target, source)}
		case e.Field == "head" && e.Code == "invalid":
			return &fb.Error{Code: fb.EProviderRejected, Err: err,
				Message: fmt.Sprintf("The source branch %s does not exist in %s.", source, fullName)}
		case e.Field == "base" && e.Code == "invalid":
			return &fb.Error{Code: fb.EProviderRejected, Err: err,
				Message: fmt.Sprintf("The target branch %s does not exist in %s.", target, fullName)}
		}
	}
	return nil
}

// branchURL is the web page of a branch: {repository}/tree/{name}.
func (d *Driver) branchURL(repo fb.Repository, name string) string {
	return d.repoWeb(repo) + "/tree/" + provider.EscapeRef(name)
}

// repoWeb is the repository's page: its html_url, else built from its name.
func (d *Driver) repoWeb(repo fb.Repository) string {
	if web := strings.TrimRight(repo.WebURL, "/"); web != "" {
		return web
	}
	return d.webBase + repo.FullName
}

var _ provider.WebLinker = (*Driver)(nil)

// CommitURL, BranchURL and TagURL are the repository's pages on GitHub.
func (d *Driver) CommitURL(repo fb.Repository, sha string) string {
	return d.repoWeb(repo) + "/commit/" + url.PathEscape(sha)
}

func (d *Driver) BranchURL(repo fb.Repository, name string) string { return d.branchURL(repo, name) }

func (d *Driver) TagURL(repo fb.Repository, name string) string {
	return d.repoWeb(repo) + "/releases/tag/" + provider.EscapeRef(name)
}

// split returns the owner and name of a repository's full name.
func split(repo fb.Repository) (string, string, error) {
	owner, name, ok := strings.Cut(repo.FullName, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return "", "", fb.Errorf(fb.EInvalid, "%q is not a GitHub repository name (owner/name).", repo.FullName)
	}
	return owner, name, nil
}
