// Package gitlab is forgebridge's driver for GitLab.com and self-managed
// GitLab (kinds gitlab and gitlab-self-managed): it validates tokens, lists
// projects, branches and merge requests, and creates branches and merge
// requests through the REST API v4, with the caller's token on every call;
// it tells git how to fetch a project (GitRemote) and reads GitLab's
// webhook deliveries (ParseWebhook).
//
// Provider calls per operation, on success: Validate 2 (token self, user);
// CreateBranch 1; CreatePullRequest 1; Repositories, Branches and
// PullRequests one per page of 100; GitRemote none. When a branch or merge
// request already exists, one more read looks it up for the error's
// Existing. TestCallCounts holds these numbers.
package gitlab

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/jmespath/go-jmespath"
	gl "gitlab.com/gitlab-org/api/client-go"
	"golang.org/x/time/rate"
)

const (
	defaultWebURL = "https://gitlab.com"
	perPage       = 100
	// maxPages stops a server that keeps answering "next page" forever.
	maxPages = 2000
	// requiredScope is the token scope forgebridge needs to create branches and merge requests.
	requiredScope = "api"
)

type driver struct {
	client  *gl.Client
	web     *url.URL   // the web address, where git is served too
	apiPath string     // escaped path below /api/v4 of the repository list
	query   url.Values // its query parameters
	filter  *jmespath.JMESPath
}

// New builds the driver of a gitlab or gitlab-self-managed integration.
func New(in fb.Integration, opts provider.Options) (provider.Provider, error) {
	web := strings.TrimRight(in.BaseURL, "/")
	switch in.Kind {
	case fb.KindGitLab:
		if web == "" {
			web = defaultWebURL
		}
	case fb.KindGitLabSelfManaged:
		if web == "" {
			return nil, fb.Errorf(fb.EInvalid, "A self-managed GitLab integration needs the web address of the GitLab server.")
		}
	default:
		return nil, fb.Errorf(fb.EInvalid, "The GitLab driver does not serve integrations of kind %q.", in.Kind)
	}
	// People paste the API address too; the API lives at the web address + /api/v4.
	web = strings.TrimSuffix(web, "/api/v4")
	host, err := provider.HostOf(web)
	if err != nil {
		return nil, err
	}
	webURL, err := url.Parse(web)
	if err != nil {
		return nil, fb.Errorf(fb.EInvalid, "The GitLab address cannot be used.")
	}
	apiPath, query, err := listPath(in.APIPath)
	if err != nil {
		return nil, err
	}
	filter, err := provider.CompileFilter(in.RepositoryFilter)
	if err != nil {
		return nil, err
	}
	hc, err := provider.NewHTTPClient(in, opts, host)
	if err != nil {
		return nil, err
	}
	clientOpts := []gl.ClientOptionFunc{
		gl.WithBaseURL(web + "/api/v4"),
		gl.WithHTTPClient(hc),
		// The client retries 429 and 5xx of every method, POST included, up to
		// five times. A retried create whose first attempt did reach GitLab
		// would answer "already exists" for our own branch, and retrying a
		// rate-limited call only burns the quota. Reads are already retried
		// briefly by provider.NewHTTPClient, so the client's retries are off.
		gl.WithoutRetries(),
		gl.WithCustomRetryMax(0),
		// The client's limiter paces all calls of one client from the first
		// answer's RateLimit-Limit; the limit is per token and this client
		// serves many tokens, so a 429 is reported (ERateLimited) instead.
		gl.WithCustomLimiter(rate.NewLimiter(rate.Inf, 0)),
		gl.WithURLWarningLogger(slog.New(slog.DiscardHandler)),
	}
	if opts.UserAgent != "" {
		clientOpts = append(clientOpts, gl.WithUserAgent(opts.UserAgent))
	}
	// The client's own token stays empty: each call carries its credential.
	client, err := gl.NewClient("", clientOpts...)
	if err != nil {
		// The client's error quotes the address, which may carry user:password.
		return nil, fb.Errorf(fb.EInvalid, "The GitLab address cannot be used.")
	}
	return &driver{client: client, web: webURL, apiPath: apiPath, query: query, filter: filter}, nil
}

// listPath splits the integration's API path (GitLab's default: the projects
// the token's user may push to) into an escaped path below /api/v4 and a query.
func listPath(apiPath string) (string, url.Values, error) {
	if apiPath == "" {
		// Keyset paging by id is GitLab's recommended way through long project
		// lists; servers without it ignore the parameters and page by offset.
		return "projects", url.Values{
			"membership": {"true"}, "min_access_level": {"30"},
			"pagination": {"keyset"}, "order_by": {"id"}, "sort": {"asc"},
		}, nil
	}
	u, err := url.Parse(apiPath)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Fragment != "" {
		return "", nil, fb.Errorf(fb.EInvalid, "The API path %q must be a path below /api/v4, such as /groups/acme/projects.", apiPath)
	}
	p := strings.TrimPrefix(u.EscapedPath(), "/")
	p = strings.TrimPrefix(p, "api/v4/")
	if p == "" {
		return "", nil, fb.Errorf(fb.EInvalid, "The API path %q names no list.", apiPath)
	}
	return p, u.Query(), nil
}

// call holds what every request of one provider call carries: the caller's
// context and token.
func (d *driver) call(ctx context.Context, cred fb.Credential) ([]gl.RequestOptionFunc, error) {
	if cred.Token == "" {
		return nil, fb.Errorf(fb.ETokenRejected, "No GitLab token was given.")
	}
	return []gl.RequestOptionFunc{gl.WithContext(ctx), gl.WithToken(gl.PrivateToken, cred.Token)}, nil
}

func (d *driver) Validate(ctx context.Context, cred fb.Credential) (fb.TokenInfo, error) {
	opts, err := d.call(ctx, cred)
	if err != nil {
		return fb.TokenInfo{}, err
	}
	var info fb.TokenInfo
	pat, resp, err := d.client.PersonalAccessTokens.GetSinglePersonalAccessToken(opts...)
	switch {
	case err == nil:
		if pat.Revoked || !pat.Active {
			return fb.TokenInfo{}, fb.Errorf(fb.ETokenRejected, "GitLab says this token is revoked or no longer active.")
		}
		info.Scopes = pat.Scopes
		if pat.ExpiresAt != nil {
			t := time.Time(*pat.ExpiresAt)
			info.ExpiresAt = &t
		}
	case statusOf(resp) == http.StatusNotFound:
		// Servers before GitLab 15.5 have no token self endpoint: the user
		// alone is known, not the scopes or the expiry.
	default:
		return fb.TokenInfo{}, d.mapError(cred, opValidate, "", resp, err)
	}
	user, resp, err := d.client.Users.CurrentUser(opts...)
	if err != nil {
		return fb.TokenInfo{}, d.mapError(cred, opValidate, "", resp, err)
	}
	info.Login, info.UserID = user.Username, strconv.FormatInt(int64(user.ID), 10)
	return info, nil
}

// project is the part of GitLab's project the driver uses.
type project struct {
	ID                int64  `json:"id"`
	Name              string `json:"name"`
	Path              string `json:"path"`
	PathWithNamespace string `json:"path_with_namespace"`
	DefaultBranch     string `json:"default_branch"`
	WebURL            string `json:"web_url"`
	Archived          bool   `json:"archived"`
	// merge_requests_access_level replaced merge_requests_enabled in GitLab 12; both may be absent.
	MergeRequestsAccessLevel string `json:"merge_requests_access_level"`
	MergeRequestsEnabled     *bool  `json:"merge_requests_enabled"`
}

func (p project) mergeRequestsOn() bool {
	if p.MergeRequestsAccessLevel != "" {
		return p.MergeRequestsAccessLevel != "disabled"
	}
	return p.MergeRequestsEnabled == nil || *p.MergeRequestsEnabled
}

func (d *driver) Repositories(ctx context.Context, cred fb.Credential) ([]fb.Repository, error) {
	var repos []fb.Repository
	seen := map[int64]bool{}
	err := d.eachPage(ctx, cred, opListRepositories, d.apiPath, d.query, func(page []byte) error {
		page, err := provider.FilterPage(d.filter, page)
		if err != nil {
			return err
		}
		var projects []project
		if err := json.Unmarshal(page, &projects); err != nil {
			return d.badList(err)
		}
		for _, p := range projects {
			if p.ID == 0 || p.PathWithNamespace == "" {
				return d.badList(nil)
			}
			// Offset pages shift when projects are created meanwhile.
			if seen[p.ID] {
				continue
			}
			seen[p.ID] = true
			name := p.Path
			if name == "" {
				name = p.Name
			}
			// An empty repository has no default branch to branch from; an
			// archived project is read-only.
			writable := p.DefaultBranch != "" && !p.Archived
			repos = append(repos, fb.Repository{
				ExternalID: strconv.FormatInt(p.ID, 10), Name: name, FullName: p.PathWithNamespace,
				DefaultBranch: p.DefaultBranch, WebURL: p.WebURL,
				CanCreateBranch: writable, CanCreatePullRequest: writable && p.mergeRequestsOn(),
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return repos, nil
}

func (d *driver) badList(err error) error {
	msg := "GitLab's repository list is not a list of projects."
	if d.filter != nil {
		msg = "The repository filter must keep GitLab's project objects (with id and path_with_namespace)."
		return &fb.Error{Code: fb.EInvalid, Message: msg, Err: err}
	}
	return &fb.Error{Code: fb.EProviderUnavailable, Message: msg, Err: err}
}

type branch struct {
	Name   string `json:"name"`
	WebURL string `json:"web_url"`
	Commit struct {
		ID string `json:"id"`
	} `json:"commit"`
}

func (d *driver) Branches(ctx context.Context, cred fb.Credential, repo fb.Repository) ([]fb.Branch, error) {
	pid, err := projectID(repo)
	if err != nil {
		return nil, err
	}
	var out []fb.Branch
	path := "projects/" + gl.PathEscape(pid) + "/repository/branches"
	err = d.eachPage(ctx, cred, opListBranches, path, url.Values{}, func(page []byte) error {
		var branches []branch
		if err := json.Unmarshal(page, &branches); err != nil {
			return &fb.Error{Code: fb.EProviderUnavailable, Message: "GitLab's branch list is not a list of branches.", Err: err}
		}
		for _, b := range branches {
			out = append(out, fb.Branch{Name: b.Name, SHA: b.Commit.ID, WebURL: b.WebURL})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachPage GETs every page of a list, following the Link header's next page
// (keyset and offset paging) or else X-Next-Page, and hands each page's raw
// JSON to fn.
func (d *driver) eachPage(ctx context.Context, cred fb.Credential, o op, path string, query url.Values, fn func([]byte) error) error {
	opts, err := d.call(ctx, cred)
	if err != nil {
		return err
	}
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("per_page", strconv.Itoa(perPage))
	for range maxPages {
		req, err := d.client.NewRequest(http.MethodGet, path, nil, opts)
		if err != nil {
			return &fb.Error{Code: fb.EInvalid, Message: "The GitLab list path is not a valid URL path.", Err: err}
		}
		req.URL.RawQuery = q.Encode()
		var buf bytes.Buffer
		resp, err := d.client.Do(req, &buf)
		if err != nil {
			return d.mapError(cred, o, "", resp, err)
		}
		if err := fn(buf.Bytes()); err != nil {
			return err
		}
		next := nextPage(resp, q)
		if next == nil {
			return nil
		}
		q = next
	}
	return &fb.Error{Code: fb.EProviderUnavailable,
		Message: "GitLab kept answering with more pages than forgebridge reads (" + strconv.Itoa(maxPages) + ")."}
}

// nextPage returns the query of the next page, or nil on the last page. The
// Link header's address is not followed as it is: a GitLab behind a proxy may
// announce another scheme or host; only its query is taken.
func nextPage(resp *gl.Response, cur url.Values) url.Values {
	if resp.NextLink != "" {
		if u, err := url.Parse(resp.NextLink); err == nil && u.RawQuery != "" {
			next := u.Query()
			if next.Encode() != cur.Encode() {
				return next
			}
			return nil
		}
	}
	if n := resp.Header.Get("X-Next-Page"); n != "" && n != cur.Get("page") {
		next := url.Values{}
		for k, v := range cur {
			next[k] = v
		}
		next.Set("page", n)
		return next
	}
	return nil
}

func (d *driver) CreateBranch(ctx context.Context, cred fb.Credential, repo fb.Repository, name, base string) (fb.Branch, error) {
	pid, err := projectID(repo)
	if err != nil {
		return fb.Branch{}, err
	}
	if base == "" {
		base = repo.DefaultBranch
	}
	if base == "" {
		return fb.Branch{}, fb.Errorf(fb.EProviderRejected,
			"%s is empty (it has no default branch), so there is nothing to branch from. Push a first commit to it.", repo.FullName)
	}
	opts, err := d.call(ctx, cred)
	if err != nil {
		return fb.Branch{}, err
	}
	b, resp, err := d.client.Branches.CreateBranch(pid, &gl.CreateBranchOptions{Branch: &name, Ref: &base}, opts...)
	if err != nil {
		e := d.mapError(cred, opCreateBranch, base, resp, err)
		if e.Code == fb.EAlreadyExists {
			e.Existing = d.existingBranch(opts, pid, repo, name)
		}
		return fb.Branch{}, e
	}
	out := fb.Branch{Name: b.Name, WebURL: b.WebURL}
	if b.Commit != nil {
		out.SHA = b.Commit.ID
	}
	return out, nil
}

// existingBranch names the branch a create collided with, from GitLab when
// it answers, else from the project's address.
func (d *driver) existingBranch(opts []gl.RequestOptionFunc, pid string, repo fb.Repository, name string) *fb.Existing {
	if b, _, err := d.client.Branches.GetBranch(pid, name, opts...); err == nil {
		return &fb.Existing{Name: b.Name, WebURL: b.WebURL}
	}
	ex := &fb.Existing{Name: name}
	if repo.WebURL != "" {
		ex.WebURL = repo.WebURL + "/-/tree/" + name
	}
	return ex
}

func (d *driver) CreatePullRequest(ctx context.Context, cred fb.Credential, repo fb.Repository, pr fb.NewPullRequest) (fb.PullRequest, error) {
	pid, err := projectID(repo)
	if err != nil {
		return fb.PullRequest{}, err
	}
	if pr.TargetBranch == "" {
		pr.TargetBranch = repo.DefaultBranch
	}
	if pr.SourceBranch == "" || pr.TargetBranch == "" {
		return fb.PullRequest{}, fb.Errorf(fb.EInvalid, "A merge request needs a source and a target branch.")
	}
	opts, err := d.call(ctx, cred)
	if err != nil {
		return fb.PullRequest{}, err
	}
	// GitLab's API has no draft flag on create: a title starting with
	// "Draft:" makes the merge request a draft.
	title := pr.Title
	prefixed := pr.Draft && !isDraftTitle(title)
	if prefixed {
		title = draftPrefix + title
	}
	mr, resp, err := d.client.MergeRequests.CreateMergeRequest(pid, &gl.CreateMergeRequestOptions{
		Title: &title, Description: &pr.Description,
		SourceBranch: &pr.SourceBranch, TargetBranch: &pr.TargetBranch,
	}, opts...)
	if err != nil {
		e := d.mapError(cred, opCreatePullRequest, "", resp, err)
		if e.Code == fb.EAlreadyExists {
			e.Existing = d.existingMergeRequest(opts, pid, repo, pr, e)
		}
		return fb.PullRequest{}, e
	}
	out := fb.PullRequest{
		ID: strconv.FormatInt(mr.ID, 10), Number: int(mr.IID), Title: mr.Title, WebURL: mr.WebURL,
		SourceBranch: mr.SourceBranch, TargetBranch: mr.TargetBranch, Description: mr.Description,
		State: fb.PullOpen, Draft: mr.Draft || mr.WorkInProgress, UpdatedAt: updatedAt(mr.UpdatedAt),
	}
	if mr.Author != nil {
		out.Author = mr.Author.Username
	}
	if prefixed {
		// The title is what the person wrote; being a draft is not part of it.
		out.Title = strings.TrimPrefix(out.Title, draftPrefix)
	}
	return out, nil
}

func updatedAt(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

const draftPrefix = "Draft: "

// isDraftTitle reports whether GitLab already reads a title as a draft.
func isDraftTitle(title string) bool {
	t := strings.ToLower(strings.TrimSpace(title))
	return strings.HasPrefix(t, "draft:") || strings.HasPrefix(t, "[draft]") || strings.HasPrefix(t, "(draft)")
}

// existingMergeRequest finds the open merge request a create collided with.
func (d *driver) existingMergeRequest(opts []gl.RequestOptionFunc, pid string, repo fb.Repository, pr fb.NewPullRequest, e *fb.Error) *fb.Existing {
	state := "opened"
	mrs, _, err := d.client.MergeRequests.ListProjectMergeRequests(pid, &gl.ListProjectMergeRequestsOptions{
		State: &state, SourceBranch: &pr.SourceBranch, TargetBranch: &pr.TargetBranch,
	}, opts...)
	if err == nil && len(mrs) > 0 {
		return &fb.Existing{ID: strconv.FormatInt(mrs[0].ID, 10), Number: int(mrs[0].IID), WebURL: mrs[0].WebURL}
	}
	// GitLab's message names it: "… for this source branch: !7".
	if i := strings.LastIndex(e.Message, "!"); i >= 0 {
		if iid, err := strconv.Atoi(strings.TrimRight(e.Message[i+1:], ".")); err == nil {
			ex := &fb.Existing{Number: iid}
			if repo.WebURL != "" {
				ex.WebURL = repo.WebURL + "/-/merge_requests/" + strconv.Itoa(iid)
			}
			return ex
		}
	}
	return nil
}

// projectID is how the API addresses a repository: its numeric id, which
// survives renames, else its full path (escaped by the client).
func projectID(repo fb.Repository) (string, error) {
	switch {
	case repo.ExternalID != "":
		return repo.ExternalID, nil
	case repo.FullName != "":
		return repo.FullName, nil
	}
	return "", fb.Errorf(fb.EInvalid, "The repository has neither a GitLab project id nor a path.")
}
