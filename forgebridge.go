// Package forgebridge holds the domain of the product: integrations with git
// hosting services, their repositories, the people's own tokens for them, the
// actor who performed an action, and the interfaces the adapters implement.
// It imports nothing of the project; every other package may import it.
package forgebridge

import (
	"context"
	"log/slog"
	"time"
)

// Kind names a git hosting service family and how forgebridge talks to it.
type Kind string

const (
	KindGitHub            Kind = "github"
	KindGitHubEnterprise  Kind = "github-enterprise"
	KindGitLab            Kind = "gitlab"
	KindGitLabSelfManaged Kind = "gitlab-self-managed"
	KindAzureDevOps       Kind = "azure-devops"
	KindVSTS              Kind = "vsts"
	KindTFS               Kind = "tfs"
	KindCodeCommit        Kind = "codecommit"
)

// Kinds lists every kind an integration may have, in the order the UI shows them.
var Kinds = []Kind{KindGitHub, KindGitHubEnterprise, KindGitLab, KindGitLabSelfManaged,
	KindAzureDevOps, KindVSTS, KindTFS, KindCodeCommit}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	for _, v := range Kinds {
		if k == v {
			return true
		}
	}
	return false
}

// UsesAccessKeys reports whether credentials of this kind are an access key
// id and secret access key rather than a single token.
func (k Kind) UsesAccessKeys() bool { return k == KindCodeCommit }

// Credential is a secret that authenticates to a provider: a personal access
// token, or for CodeCommit an IAM access key. It never prints its secret: its
// String, GoString and LogValue are redacted so a stray %v or slog attribute
// cannot leak it.
type Credential struct {
	Token           string
	AccessKeyID     string
	SecretAccessKey string
}

// IsZero reports whether no secret is set.
func (c Credential) IsZero() bool {
	return c.Token == "" && c.AccessKeyID == "" && c.SecretAccessKey == ""
}

func (c Credential) String() string       { return "[redacted credential]" }
func (c Credential) GoString() string     { return "forgebridge.Credential{[redacted]}" }
func (c Credential) LogValue() slog.Value { return slog.StringValue("[redacted credential]") }

// IntegrationSettings are the feature switches of one integration.
type IntegrationSettings struct {
	CreateBranch      bool `json:"createBranch"`
	CreatePullRequest bool `json:"createPullRequest"`
	RequireUserPAT    bool `json:"requireUserPat"`
	// SmartCommits turns on smart-commit commands (#comment, #time, #TRANSITION)
	// in commits indexed for the first time.
	SmartCommits bool `json:"smartCommits"`
	// EnforcePermissions shows the integration's repositories and git data to a
	// person only where the host lets their own saved token read the repository.
	EnforcePermissions bool `json:"enforcePermissions"`
	// DiffViewing lets people open a commit's changed files and diff.
	DiffViewing bool `json:"diffViewing"`
}

// DefaultIntegrationSettings are the settings of a new integration.
var DefaultIntegrationSettings = IntegrationSettings{CreateBranch: true, CreatePullRequest: true, DiffViewing: true}

// Integration is one connection to a git hosting account or organisation.
type Integration struct {
	ID      string
	Name    string
	Kind    Kind
	BaseURL string // web address of the service; empty for the public github/gitlab
	Region  string // codecommit only
	// ServerVersion picks the api-version of tfs calls (2017 … 2022); empty: learnt.
	ServerVersion string

	// APIPath replaces the provider's default repository list path.
	APIPath string
	// RepositoryFilter is a JMESPath expression applied to each page of the list answer.
	RepositoryFilter string
	// Projects are the tracker project keys the integration serves; empty means all.
	Projects []string
	Settings IntegrationSettings

	// ProxyURL, when set, is used for every call of this integration instead of the environment's proxy.
	ProxyURL string
	// CABundle is extra PEM certificates trusted for this integration.
	CABundle string
	// InsecureSkipTLSVerify turns TLS verification off. Off by default.
	InsecureSkipTLSVerify bool

	Credential      Credential // the service credential, decrypted
	CredentialLogin string     // who the provider says the service credential is
	// CredentialUserID is the provider's stable id of the service account
	// (TokenInfo.UserID); empty until the credential is next validated.
	CredentialUserID string

	// CredentialStored says a credential is stored; listings carry it
	// without decrypting the credential itself.
	CredentialStored bool

	RepositoryCount int
	DiscoveredAt    *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
	// Version changes with every write of the integration's configuration
	// (not with a discovery): an If-Match made against another version is
	// refused with EVersionMismatch.
	Version string
}

// ServesProject reports whether the integration is associated with the tracker project.
func (i Integration) ServesProject(key string) bool {
	if len(i.Projects) == 0 {
		return true
	}
	for _, p := range i.Projects {
		if p == key {
			return true
		}
	}
	return false
}

// Repository is one repository discovered through an integration.
type Repository struct {
	ID            string // forgebridge's id, stable across rediscovery
	IntegrationID string
	ExternalID    string // the provider's id (GitHub numeric id, GitLab project id, Azure repo GUID, CodeCommit repo id)
	Name          string
	FullName      string // owner/name, group/sub/name, Project/Repo or the CodeCommit name
	DefaultBranch string
	WebURL        string
	// CanCreateBranch and CanCreatePullRequest say what the provider supports for this repository.
	CanCreateBranch      bool
	CanCreatePullRequest bool
}

// Branch is a branch on a provider. Name is the short name ("main").
type Branch struct {
	Name   string `json:"name"`
	SHA    string `json:"sha"`
	WebURL string `json:"webUrl,omitempty"`
}

// PullRequest is a pull or merge request on a provider.
type PullRequest struct {
	ID           string `json:"id"`
	Number       int    `json:"number"`
	Title        string `json:"title"`
	WebURL       string `json:"webUrl"`
	SourceBranch string `json:"sourceBranch"`
	TargetBranch string `json:"targetBranch"`

	// Filled in by listings (indexing); a pull request just created is open.
	Description string    `json:"-"`
	State       PullState `json:"state,omitempty"`
	Draft       bool      `json:"draft"`
	Author      string    `json:"-"` // the provider login of who opened it
	UpdatedAt   time.Time `json:"-"`
}

// PullState is where a pull request stands, in the same words for every provider.
type PullState string

const (
	PullOpen     PullState = "open"
	PullMerged   PullState = "merged"
	PullDeclined PullState = "declined" // closed without merging, abandoned
)

// NewPullRequest is what a person asks a provider to open.
type NewPullRequest struct {
	SourceBranch string
	TargetBranch string
	Title        string
	Description  string
	Draft        bool
}

// TokenStatus is what forgebridge knows of a saved user token.
type TokenStatus string

const (
	TokenValid      TokenStatus = "valid"
	TokenInvalid    TokenStatus = "invalid"
	TokenUnverified TokenStatus = "unverified"
	// TokenExpired is a token whose ExpiresAt has passed: used like an invalid one.
	TokenExpired TokenStatus = "expired"
)

// TokenInfo is what a provider says about a credential when it is validated.
type TokenInfo struct {
	Login string
	// UserID is the provider's stable id of the account (GitHub and GitLab
	// user id, Azure's connectionData authenticatedUser.id, AWS's UserId):
	// unlike a login it cannot be renamed, so it decides whose a token is.
	UserID    string
	Scopes    []string   // empty where the provider does not tell
	ExpiresAt *time.Time // nil where the provider does not tell
}

// UserToken is one person's credential for one integration.
type UserToken struct {
	UserKey       string
	IntegrationID string
	Credential    Credential
	Login         string
	// ProviderUserID is TokenInfo.UserID of the token's account; empty for
	// a token saved before forgebridge recorded it, until its next check.
	ProviderUserID string
	Scopes         []string
	ExpiresAt      *time.Time
	Status         TokenStatus
	CheckedAt      *time.Time
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// StatusAt is the token's status as of now: TokenExpired once its expiry
// has passed, whatever the last check said, else the recorded status.
func (t UserToken) StatusAt(now time.Time) TokenStatus {
	if t.ExpiresAt != nil && !now.Before(*t.ExpiresAt) {
		return TokenExpired
	}
	return t.Status
}

// ActorType says whose credential performed an action on a provider.
type ActorType string

const (
	ActorUser        ActorType = "user"
	ActorIntegration ActorType = "integration"
)

// Actor is who performed an action on the provider.
type Actor struct {
	Type  ActorType `json:"type"`
	Login string    `json:"login"`
}

// AuditKeysRotate and AuditKeysRetire are the audit actions of
// `forgebridge keys rotate` (API.md) and `keys retire`.
const (
	AuditKeysRotate = "keys.rotate"
	AuditKeysRetire = "keys.retire"
)

// Settings are the global settings.
type Settings struct {
	RequireUserPATEverywhere bool   `json:"requireUserPatEverywhere"`
	BranchNameTemplate       string `json:"branchNameTemplate"`
	BranchNameMaxLength      int    `json:"branchNameMaxLength"`
	// Version changes with every write of the settings (VersionMismatch).
	Version string `json:"version"`
}

// Default branch name template and length cap (DESIGN.md §3).
const (
	DefaultBranchNameTemplate  = "${issuekey}-${summary}"
	DefaultBranchNameMaxLength = 250
)

// DefaultSettings are the settings of a new installation.
var DefaultSettings = Settings{
	BranchNameTemplate:  DefaultBranchNameTemplate,
	BranchNameMaxLength: DefaultBranchNameMaxLength,
}

// User is a person known to the tracker. Key is stable (Jira's user key; for
// the local tracker the name); Name is what people type and see.
type User struct {
	Key         string
	Name        string
	DisplayName string
	Admin       bool
	Active      bool
	Email       string // optional: commits whose author has it are shown as this user's
}

// PeopleByEmail is the optional part of a Tracker that says who wrote a
// commit: the active users whose email is one of those asked, matched
// case-insensitively, by lower-cased email. An email two users share
// matches neither.
type PeopleByEmail interface {
	UsersByEmail(ctx context.Context, emails []string) (map[string]User, error)
}

// IssueActor is the optional part of a Tracker that carries out smart-commit
// commands (API.md "Acting on git data") as the tracker user as, with that
// user's own permissions, never as a service account: the local directory
// directly, Jira through as's own OAuth grant from "Sign in with Jira" (an
// error with EGrantRequired when as has none). Each method does its work
// once per call; the caller makes commands idempotent.
type IssueActor interface {
	// Comment adds body to the issue as a comment written by as.
	Comment(ctx context.Context, as User, issueKey, body string) error
	// LogWork logs seconds of work on the issue, started at started, with an
	// optional comment.
	LogWork(ctx context.Context, as User, issueKey string, seconds int64, comment string, started time.Time) error
	// Transition performs the issue's transition whose name, lower case with
	// spaces as hyphens, is name ("start-progress"), with an optional
	// comment; EInvalid when the issue's workflow offers no such transition
	// from its status.
	Transition(ctx context.Context, as User, issueKey, name, comment string) error
}

// Project is a tracker project.
type Project struct {
	Key  string
	Name string
}

// Issue is a tracker issue.
type Issue struct {
	Key     string
	Summary string
	Type    string
	Project string // the project key
}

// Tracker permissions that gate every action (Jira's names).
const (
	PermBrowseProjects = "BROWSE_PROJECTS"
	PermViewDevTools   = "VIEW_DEV_TOOLS"
)

// Tracker is where issues, projects, people and permissions live.
type Tracker interface {
	// User returns the person with that key; ENotFound when there is none.
	User(ctx context.Context, key string) (User, error)
	// Issue returns the issue; ENotFound when there is none.
	Issue(ctx context.Context, key string) (Issue, error)
	// Permissions returns which of the gating permissions user holds on project.
	Permissions(ctx context.Context, user User, projectKey string) (map[string]bool, error)
	// IssuePermissions returns which of them user holds on the issue itself,
	// which an issue security level can narrow below the project's.
	IssuePermissions(ctx context.Context, user User, issue Issue) (map[string]bool, error)
	// BrowsableProjects returns the keys of the projects user may browse.
	BrowsableProjects(ctx context.Context, user User) ([]string, error)
	// ProjectKeys returns the key of every project the tracker knows: what
	// an issue key in git data may start with.
	ProjectKeys(ctx context.Context) ([]string, error)
}

// IssueBranch is a branch recorded against an issue.
type IssueBranch struct {
	IssueKey     string
	RepositoryID string
	Name         string
	SHA          string
	WebURL       string
	CreatedAt    time.Time
}

// IssuePullRequest is a pull request recorded against an issue.
type IssuePullRequest struct {
	IssueKey     string
	RepositoryID string
	PullRequest
	CreatedAt time.Time
}

// TrackerLink is a link to a branch or pull request written back to the
// tracker's issue, and whether the tracker has taken it.
type TrackerLink struct {
	GlobalID  string
	IssueKey  string
	URL       string
	Status    string // TrackerLinkLinked, TrackerLinkPending or TrackerLinkFailed
	UpdatedAt time.Time
}

// Tracker link states.
const (
	TrackerLinkLinked  = "linked"
	TrackerLinkPending = "pending" // refused or unreachable; retried later
	TrackerLinkFailed  = "failed"  // given up on
)

// Audit actions (API.md).
const (
	AuditBranchCreate      = "branch.create"
	AuditBranchDelete      = "branch.delete"
	AuditPullRequestCreate = "pullrequest.create"
	AuditTokenSave         = "token.save"
	AuditTokenDelete       = "token.delete"
	AuditTokenInvalidated  = "token.invalidated"
	AuditIntegrationCreate = "integration.create"
	AuditIntegrationUpdate = "integration.update"
	AuditIntegrationDelete = "integration.delete"
	AuditSettingsUpdate    = "settings.update"
	AuditUserCreate        = "user.create"
	AuditUserUpdate        = "user.update"
	AuditUserDelete        = "user.delete"
	AuditUserEnrol         = "user.enrol"
	AuditUserPassword      = "user.password"
	AuditPermissionsUpdate = "permissions.update"
	AuditProjectCreate     = "project.create"
	AuditIssueCreate       = "issue.create"
	AuditAPITokenIssue     = "apitoken.issue"
	AuditAPITokenRevoke    = "apitoken.revoke"

	AuditSignInFailure  = "signin.failure"
	AuditOutcomeSuccess = "success"
	AuditOutcomeFailure = "failure"
)

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID            int64
	ActionID      string // when set, writing the entry again under the same id stores it once (retried writes)
	Time          time.Time
	User          string // the forgebridge user name
	Action        string
	IntegrationID string
	RepositoryID  string
	Issue         string
	Target        string // the branch name, pull request URL or other object acted on
	Actor         Actor  // zero for actions that called no provider
	Outcome       string
	Code          string // the error code of a failure
	// Changes names what an admin change changed; nil for other actions.
	Changes Changes
}

// Changes are what an admin change did: for each field, by its path in the
// request body with dots ("settings.requireUserPat"), its value before and
// after (null where there was none). A credential or secret is only ever
// ChangeReplaced, never its value.
type Changes map[string][2]any

// ChangeReplaced stands for a secret in Changes, before and after.
const ChangeReplaced = "replaced"

// APIToken is a forgebridge API credential. Only its hash is stored.
type APIToken struct {
	ID         string // shown and used to revoke it; not a secret
	Hash       string // hex SHA-256 of the token
	UserKey    string
	UserName   string
	Name       string // what it is for; web sessions are SessionTokenName
	CreatedAt  time.Time
	ExpiresAt  *time.Time // nil: does not expire
	LastUsedAt *time.Time // nil: never used; updated at most once a minute
	IssuedBy   string     // the admin (or "cli") who issued it; "" for a person's own
}

// SessionTokenName names the API tokens that web sign-ins make, and
// JiraSessionTokenName those that signing in with a Jira token makes. Only
// sign-ins use these names: a new password ends the tokens so named.
const (
	SessionTokenName     = "web session"
	JiraSessionTokenName = "jira session"
)

// IsSessionTokenName reports whether an API token name is a sign-in's.
func IsSessionTokenName(name string) bool {
	return name == SessionTokenName || name == JiraSessionTokenName
}

// UserPatch changes a user of the local directory; nil fields keep their value.
type UserPatch struct {
	DisplayName *string
	Email       *string
	Admin       *bool
	Active      *bool
}

// Enrolment is a one-time link with which a person sets their own web
// password. Only the hash of its secret is stored.
type Enrolment struct {
	Hash      string
	UserKey   string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Cipher encrypts and authenticates secrets at rest. associatedData binds a
// ciphertext to the row it belongs to, so it cannot be moved to another row.
type Cipher interface {
	Encrypt(plaintext, associatedData []byte) ([]byte, error)
	Decrypt(ciphertext, associatedData []byte) ([]byte, error)
}
