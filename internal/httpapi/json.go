package httpapi

import (
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

// The JSON shapes of API.md. Credentials are never part of an answer.

type credentialJSON struct {
	Configured bool   `json:"configured"`
	Login      string `json:"login"`
}

type integrationJSON struct {
	ID                    string                 `json:"id"`
	Name                  string                 `json:"name"`
	Kind                  fb.Kind                `json:"kind"`
	BaseURL               string                 `json:"baseUrl"`
	Region                string                 `json:"region,omitempty"`
	ServerVersion         string                 `json:"serverVersion,omitempty"`
	APIPath               string                 `json:"apiPath"`
	RepositoryFilter      string                 `json:"repositoryFilter"`
	Projects              []string               `json:"projects"`
	Settings              fb.IntegrationSettings `json:"settings"`
	ProxyURL              string                 `json:"proxyUrl"`
	CABundleConfigured    bool                   `json:"caBundleConfigured"`
	InsecureSkipTLSVerify bool                   `json:"insecureSkipTlsVerify"`
	Credential            credentialJSON         `json:"credential"`
	RepositoryCount       int                    `json:"repositoryCount"`
	DiscoveredAt          *time.Time             `json:"discoveredAt"`
	Webhook               webhookJSON            `json:"webhook"`
	CreatedAt             time.Time              `json:"createdAt"`
	UpdatedAt             time.Time              `json:"updatedAt"`
	Version               string                 `json:"version"`
}

func toIntegration(i fb.Integration, webhook webhookJSON) integrationJSON {
	projects := i.Projects
	if projects == nil {
		projects = []string{}
	}
	return integrationJSON{ID: i.ID, Name: i.Name, Kind: i.Kind, BaseURL: i.BaseURL, Region: i.Region,
		ServerVersion: i.ServerVersion, APIPath: i.APIPath, RepositoryFilter: i.RepositoryFilter, Projects: projects,
		Settings: i.Settings, ProxyURL: i.ProxyURL, CABundleConfigured: i.CABundle != "",
		InsecureSkipTLSVerify: i.InsecureSkipTLSVerify,
		Credential:            credentialJSON{Configured: i.CredentialStored || !i.Credential.IsZero(), Login: i.CredentialLogin},
		RepositoryCount:       i.RepositoryCount, DiscoveredAt: utc(i.DiscoveredAt), CreatedAt: i.CreatedAt.UTC(), UpdatedAt: i.UpdatedAt.UTC(),
		Webhook: webhook, Version: i.Version}
}

// credentialInput is a credential as clients send it.
type credentialInput struct {
	Token           string `json:"token"`
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

func (c credentialInput) credential() fb.Credential {
	return fb.Credential{Token: c.Token, AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey}
}

type integrationInput struct {
	Name                  *string          `json:"name"`
	Kind                  *fb.Kind         `json:"kind"`
	BaseURL               *string          `json:"baseUrl"`
	Region                *string          `json:"region"`
	ServerVersion         *string          `json:"serverVersion"`
	APIPath               *string          `json:"apiPath"`
	RepositoryFilter      *string          `json:"repositoryFilter"`
	Projects              *[]string        `json:"projects"`
	ProxyURL              *string          `json:"proxyUrl"`
	CABundle              *string          `json:"caBundle"`
	InsecureSkipTLSVerify *bool            `json:"insecureSkipTlsVerify"`
	Credential            *credentialInput `json:"credential"`
	WebhookSecret         *string          `json:"webhookSecret"`
	Settings              *struct {
		CreateBranch       *bool `json:"createBranch"`
		CreatePullRequest  *bool `json:"createPullRequest"`
		RequireUserPAT     *bool `json:"requireUserPat"`
		SmartCommits       *bool `json:"smartCommits"`
		EnforcePermissions *bool `json:"enforcePermissions"`
		DiffViewing        *bool `json:"diffViewing"`
	} `json:"settings"`
}

func (in integrationInput) app() app.IntegrationInput {
	out := app.IntegrationInput{Name: in.Name, Kind: in.Kind, BaseURL: in.BaseURL, Region: in.Region,
		ServerVersion: in.ServerVersion, APIPath: in.APIPath, RepositoryFilter: in.RepositoryFilter,
		Projects: in.Projects, ProxyURL: in.ProxyURL, CABundle: in.CABundle, InsecureSkipTLSVerify: in.InsecureSkipTLSVerify,
		WebhookSecret: in.WebhookSecret}
	if in.Credential != nil {
		c := in.Credential.credential()
		out.Credential = &c
	}
	if in.Settings != nil {
		out.CreateBranch, out.CreatePullRequest, out.RequireUserPAT =
			in.Settings.CreateBranch, in.Settings.CreatePullRequest, in.Settings.RequireUserPAT
		out.SmartCommits, out.EnforcePermissions, out.DiffViewing =
			in.Settings.SmartCommits, in.Settings.EnforcePermissions, in.Settings.DiffViewing
	}
	return out
}

type userTokenJSON struct {
	Configured bool            `json:"configured"`
	Status     *fb.TokenStatus `json:"status"` // null when not configured
	Login      *string         `json:"login"`
	ExpiresAt  *time.Time      `json:"expiresAt"`
}

type repositoryJSON struct {
	ID                   string        `json:"id"`
	IntegrationID        string        `json:"integrationId"`
	IntegrationName      string        `json:"integrationName"`
	Kind                 fb.Kind       `json:"kind"`
	Name                 string        `json:"name"`
	FullName             string        `json:"fullName"`
	DefaultBranch        string        `json:"defaultBranch"`
	WebURL               string        `json:"webUrl"`
	CanCreateBranch      bool          `json:"canCreateBranch"`
	CanCreatePullRequest bool          `json:"canCreatePullRequest"`
	RequireUserPAT       bool          `json:"requireUserPat"`
	UserToken            userTokenJSON `json:"userToken"`
	Index                indexJSON     `json:"index"`
}

func toRepository(v app.RepositoryView) repositoryJSON {
	out := repositoryJSON{ID: v.ID, IntegrationID: v.IntegrationID, IntegrationName: v.Integration.Name,
		Kind: v.Integration.Kind, Name: v.Name, FullName: v.FullName, DefaultBranch: v.DefaultBranch, WebURL: v.WebURL,
		CanCreateBranch: v.CanCreateBranch, CanCreatePullRequest: v.CanCreatePullRequest, RequireUserPAT: v.RequireUserPAT,
		Index: toIndex(v.Index)}
	if t := v.Token; t != nil {
		out.UserToken = userTokenJSON{Configured: true, Status: &t.Status, Login: &t.Login, ExpiresAt: utc(t.ExpiresAt)}
	}
	return out
}

func toRepositories(vs []app.RepositoryView) []repositoryJSON {
	out := make([]repositoryJSON, 0, len(vs))
	for _, v := range vs {
		out = append(out, toRepository(v))
	}
	return out
}

type tokenEntryJSON struct {
	IntegrationID   string          `json:"integrationId"`
	IntegrationName string          `json:"integrationName"`
	Kind            fb.Kind         `json:"kind"`
	Required        bool            `json:"required"`
	Configured      bool            `json:"configured"`
	Status          *fb.TokenStatus `json:"status"` // null when not configured
	Login           *string         `json:"login"`
	Scopes          []string        `json:"scopes"`
	ExpiresAt       *time.Time      `json:"expiresAt"`
	UpdatedAt       *time.Time      `json:"updatedAt"`
	CheckedAt       *time.Time      `json:"checkedAt"`
}

func toTokenEntry(e app.TokenEntry) tokenEntryJSON {
	out := tokenEntryJSON{IntegrationID: e.Integration.ID, IntegrationName: e.Integration.Name, Kind: e.Integration.Kind,
		Required: e.Required, Scopes: []string{}}
	if t := e.Token; t != nil {
		updated := t.UpdatedAt.UTC()
		out.Configured, out.Status, out.Login, out.ExpiresAt, out.UpdatedAt, out.CheckedAt =
			true, &t.Status, &t.Login, utc(t.ExpiresAt), &updated, utc(t.CheckedAt)
		if t.Scopes != nil {
			out.Scopes = t.Scopes
		}
	}
	return out
}

type issueBranchJSON struct {
	Name         string `json:"name"`
	WebURL       string `json:"webUrl"`
	RepositoryID string `json:"repositoryId"`
	SHA          string `json:"sha"`
	// TrackerLink is the state of its link on the Jira issue: linked,
	// pending (retrying) or failed; null with the local tracker.
	TrackerLink *string `json:"trackerLink"`
}

type issuePullRequestJSON struct {
	fb.PullRequest
	RepositoryID string     `json:"repositoryId"`
	Author       loginJSON  `json:"author"`
	UpdatedAt    *time.Time `json:"updatedAt"`
	TrackerLink  *string    `json:"trackerLink"`
}

type loginJSON struct {
	Login string `json:"login"`
}

type commitAuthorJSON struct {
	Name  string    `json:"name"`
	Email string    `json:"email"`
	User  *userJSON `json:"user"` // the tracker user with that email; null when none is known
}

type userJSON struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
}

type commitJSON struct {
	SHA          string           `json:"sha"`
	RepositoryID string           `json:"repositoryId"`
	Message      string           `json:"message"`
	Author       commitAuthorJSON `json:"author"`
	AuthoredAt   time.Time        `json:"authoredAt"`
	WebURL       string           `json:"webUrl"`
}

func toCommits(cs []app.CommitView) []commitJSON {
	out := make([]commitJSON, 0, len(cs))
	for _, c := range cs {
		j := commitJSON{SHA: c.SHA, RepositoryID: c.RepositoryID, Message: c.Message,
			Author: commitAuthorJSON{Name: c.AuthorName, Email: c.AuthorEmail}, AuthoredAt: c.AuthoredAt.UTC(), WebURL: c.WebURL}
		if c.User != nil {
			j.Author.User = &userJSON{Name: c.User.Name, DisplayName: c.User.DisplayName}
		}
		out = append(out, j)
	}
	return out
}

type commitsJSON struct {
	Count  int          `json:"count"`
	Values []commitJSON `json:"values"`
	Next   string       `json:"next,omitempty"`
}

type tagJSON struct {
	Name         string `json:"name"`
	WebURL       string `json:"webUrl"`
	RepositoryID string `json:"repositoryId"`
	SHA          string `json:"sha"`
}

type indexErrorJSON struct {
	Code    fb.Code `json:"code"`
	Message string  `json:"message"`
}

type indexJSON struct {
	State     fb.IndexStateName `json:"state"`
	IndexedAt *time.Time        `json:"indexedAt"`
	Commits   int64             `json:"commits"`
	Error     *indexErrorJSON   `json:"error"`
	RetryAt   *time.Time        `json:"retryAt,omitempty"`
}

func toIndex(st fb.IndexState) indexJSON {
	out := indexJSON{State: st.State, IndexedAt: utc(st.IndexedAt), Commits: st.Commits, RetryAt: utc(st.RetryAt)}
	if out.State == "" {
		out.State = fb.IndexPending
	}
	if st.ErrorCode != "" {
		out.Error = &indexErrorJSON{Code: st.ErrorCode, Message: st.ErrorMessage}
	}
	return out
}

type webhookJSON struct {
	URL              string `json:"url"`
	SecretConfigured bool   `json:"secretConfigured"`
}

type issueJSON struct {
	Key                  string                 `json:"key"`
	Summary              string                 `json:"summary"`
	Type                 string                 `json:"type"`
	Project              string                 `json:"project"`
	CanUseDevTools       bool                   `json:"canUseDevTools"`
	BranchNameSuggestion string                 `json:"branchNameSuggestion"`
	Repositories         []repositoryJSON       `json:"repositories"`
	Branches             []issueBranchJSON      `json:"branches"`
	PullRequests         []issuePullRequestJSON `json:"pullRequests"`
	Commits              commitsJSON            `json:"commits"`
	Tags                 []tagJSON              `json:"tags"`
	// Where the tracker keeps them (the local one): API.md "Acting on git data".
	Status   *string        `json:"status,omitempty"`
	Comments *[]commentJSON `json:"comments,omitempty"`
	Worklog  *[]worklogJSON `json:"worklog,omitempty"`
}

func toIssue(v app.IssueView, commitsNext string) issueJSON {
	out := issueJSON{Key: v.Issue.Key, Summary: v.Issue.Summary, Type: v.Issue.Type, Project: v.Issue.Project,
		CanUseDevTools: v.CanUseDevTools, BranchNameSuggestion: v.BranchNameSuggestion,
		Repositories: toRepositories(v.Repositories), Branches: []issueBranchJSON{}, PullRequests: []issuePullRequestJSON{},
		Commits: commitsJSON{Count: v.CommitCount, Values: toCommits(v.Commits), Next: commitsNext}, Tags: []tagJSON{}}
	for _, b := range v.Branches {
		out.Branches = append(out.Branches, issueBranchJSON{Name: b.Name, WebURL: b.WebURL, RepositoryID: b.RepositoryID,
			SHA: b.SHA, TrackerLink: orNull(v.TrackerLinks[b.WebURL])})
	}
	for _, pr := range v.PullRequests {
		j := issuePullRequestJSON{PullRequest: pr.PullRequest, RepositoryID: pr.RepositoryID,
			Author: loginJSON{Login: pr.Author}, TrackerLink: orNull(v.TrackerLinks[pr.WebURL])}
		if j.State == "" {
			j.State = fb.PullOpen
		}
		if !pr.UpdatedAt.IsZero() {
			j.UpdatedAt = utc(&pr.UpdatedAt)
		}
		out.PullRequests = append(out.PullRequests, j)
	}
	for _, t := range v.Tags {
		out.Tags = append(out.Tags, tagJSON{Name: t.Name, WebURL: t.WebURL, RepositoryID: t.RepositoryID, SHA: t.SHA})
	}
	addActivity(&out, v.Activity)
	return out
}

type auditJSON struct {
	Time          time.Time `json:"time"`
	User          string    `json:"user"`
	Action        string    `json:"action"`
	IntegrationID *string   `json:"integrationId"` // null where the action concerns none
	RepositoryID  *string   `json:"repositoryId"`
	Issue         *string   `json:"issue"`
	Target        *string   `json:"target"`
	Actor         *fb.Actor `json:"actor"`
	Outcome       string    `json:"outcome"`
	Code          *string   `json:"code"`
	// Changes is what an admin change changed; null for other actions.
	Changes fb.Changes `json:"changes"`
}

func toAudit(es []fb.AuditEntry) []auditJSON {
	out := make([]auditJSON, 0, len(es))
	for _, e := range es {
		a := auditJSON{Time: e.Time.UTC(), User: e.User, Action: e.Action, IntegrationID: orNull(e.IntegrationID),
			RepositoryID: orNull(e.RepositoryID), Issue: orNull(e.Issue), Target: orNull(e.Target), Outcome: e.Outcome,
			Code: orNull(e.Code), Changes: e.Changes}
		if e.Actor.Type != "" {
			actor := e.Actor
			a.Actor = &actor
		}
		out = append(out, a)
	}
	return out
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// orNull is nil for "", so absent values answer null rather than "".
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
