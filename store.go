package forgebridge

import (
	"context"
	"time"
)

// Page asks for one page of a list. Cursor is opaque: the Next of the page before.
type Page struct {
	Limit  int
	Cursor string
}

// RepositoryQuery selects repositories.
type RepositoryQuery struct {
	Page
	IntegrationIDs []string // nil: every integration; empty non-nil: none
	Text           string   // case-insensitive substring of the full name
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	Page
	User   string
	Action string
}

// IntegrationWrite is what is written with an integration, in the same
// transaction.
type IntegrationWrite struct {
	// Discovered: Repositories become the integration's repositories,
	// discovered at At, as ReplaceRepositories does.
	Discovered   bool
	Repositories []Repository
	At           time.Time
	// WebhookSecret, when not empty, replaces the integration's webhook secret.
	WebhookSecret string
	// Audit, when set, is appended to the audit log.
	Audit *AuditEntry
	// TokenDropped, when set, gives the audit entry of each person's token
	// removed because the address changed, by its user key.
	TokenDropped func(userKey string) *AuditEntry
}

// Store keeps forgebridge's own state. Secrets are encrypted by the store with
// its Cipher, bound to their row. Lookups of missing rows answer ENotFound;
// inserts of duplicate keys answer EAlreadyExists.
type Store interface {
	Settings(ctx context.Context) (Settings, error)
	UpdateSettings(ctx context.Context, s Settings) error
	// ChangeSettings reads the settings in a transaction that keeps other
	// writers out, lets change modify them, and writes them with a new
	// version together with the audit entry change returns (nil: none): all
	// or nothing. With ifVersion set, settings at another version are left
	// alone (EVersionMismatch). An error from change aborts and is returned.
	ChangeSettings(ctx context.Context, ifVersion string, change func(s *Settings) (*AuditEntry, error)) (Settings, error)

	// CreateIntegration assigns in.ID, CreatedAt and UpdatedAt.
	CreateIntegration(ctx context.Context, in *Integration) error
	Integration(ctx context.Context, id string) (Integration, error)
	Integrations(ctx context.Context) ([]Integration, error)
	// UpdateIntegration writes the integration; when its address changes (base
	// URL, region, proxy, CA bundle, TLS verification) the people's tokens for
	// it are removed in the same transaction.
	UpdateIntegration(ctx context.Context, in *Integration) error
	// CreateIntegrationWithRepositories and UpdateIntegrationWithRepositories
	// save the integration and make repos its repositories in one
	// transaction, as ReplaceRepositories does: both or neither.
	CreateIntegrationWithRepositories(ctx context.Context, in *Integration, repos []Repository, at time.Time) error
	UpdateIntegrationWithRepositories(ctx context.Context, in *Integration, repos []Repository, at time.Time) error
	// DeleteIntegration removes the integration with its repositories and user tokens.
	DeleteIntegration(ctx context.Context, id string) error
	// CreateIntegrationWith creates the integration and writes w with it in
	// one transaction; w.Audit gets the new integration's id.
	CreateIntegrationWith(ctx context.Context, in *Integration, w IntegrationWrite) error
	// ChangeIntegration reads the integration in a transaction that keeps
	// other writers of it out, lets change modify it, and writes it with a
	// new version together with the IntegrationWrite change returns: all or
	// nothing. With ifVersion set, an integration at another version is left
	// alone (EVersionMismatch). An error from change aborts and is returned.
	// When the address changes, the people's tokens for it are removed
	// (UpdateIntegration); dropped lists their owners' user keys.
	ChangeIntegration(ctx context.Context, id, ifVersion string,
		change func(in *Integration) (IntegrationWrite, error)) (out Integration, dropped []string, err error)
	// DeleteIntegrationWith is DeleteIntegration with a version check (as
	// ChangeIntegration's) and the audit entry e (nil: none) written in the
	// same transaction.
	DeleteIntegrationWith(ctx context.Context, id, ifVersion string, e *AuditEntry) error

	// ReplaceRepositories makes repos the integration's repositories: it keeps the
	// id of a repository already known by ExternalID, adds new ones, removes the
	// ones no longer listed, and records the count and discovery time.
	ReplaceRepositories(ctx context.Context, integrationID string, repos []Repository, at time.Time) error
	// IntegrationRepositories lists every repository of an integration.
	IntegrationRepositories(ctx context.Context, integrationID string) ([]Repository, error)
	// ReplaceDiscoveredRepositories replaces them only if the integration is
	// still the version in (same UpdatedAt); else ENotFound, nothing written.
	ReplaceDiscoveredRepositories(ctx context.Context, in Integration, repos []Repository, at time.Time) error
	Repository(ctx context.Context, id string) (Repository, error)
	// RepositoryWithIntegration is Repository and then Integration of its
	// integration (credential decrypted), in one query: an action's reads.
	RepositoryWithIntegration(ctx context.Context, id string) (Repository, Integration, error)
	// Repositories lists in order of full name then id; next is "" on the last page.
	Repositories(ctx context.Context, q RepositoryQuery) (repos []Repository, next string, err error)

	// PutUserToken inserts or replaces the user's token for the integration;
	// EAlreadyExists if another person's token has its ProviderUserID.
	PutUserToken(ctx context.Context, t *UserToken) error
	UserToken(ctx context.Context, userKey, integrationID string) (UserToken, error)
	UserTokens(ctx context.Context, userKey string) ([]UserToken, error)
	// IntegrationUserTokens lists every person's token for one integration.
	IntegrationUserTokens(ctx context.Context, integrationID string) ([]UserToken, error)
	DeleteUserToken(ctx context.Context, userKey, integrationID string) error
	// RecordTokenCheck records a check's result (login, account id, scopes,
	// expiry, status, checked time) if the row still holds the token checked
	// (same UpdatedAt); else ENotFound. EAlreadyExists: another person's
	// token has that account id.
	RecordTokenCheck(ctx context.Context, t *UserToken) error
	// UserTokenOwner returns the key of the person whose token for the
	// integration is of the provider account providerUserID; else ENotFound.
	UserTokenOwner(ctx context.Context, integrationID, providerUserID string) (string, error)
	// RecordCredentialUserID records the service account's id of an
	// integration saved before it was recorded, if the integration is still
	// the version in (same UpdatedAt, UpdatedAt unchanged); else ENotFound.
	RecordCredentialUserID(ctx context.Context, in Integration, userID string) error

	AddAudit(ctx context.Context, e *AuditEntry) error
	// RecordAction writes an action's audit entry and what it created for an
	// issue (b, pr or neither) in one transaction.
	RecordAction(ctx context.Context, e *AuditEntry, b *IssueBranch, pr *IssuePullRequest) error
	Audit(ctx context.Context, q AuditQuery) (entries []AuditEntry, next string, err error)

	// AddIssueBranch and AddIssuePullRequest are idempotent.
	AddIssueBranch(ctx context.Context, b IssueBranch) error
	AddIssuePullRequest(ctx context.Context, pr IssuePullRequest) error
	IssueBranches(ctx context.Context, issueKey string) ([]IssueBranch, error)
	IssuePullRequests(ctx context.Context, issueKey string) ([]IssuePullRequest, error)
	PutTrackerLink(ctx context.Context, l TrackerLink) error
	// ForgetBranch takes a branch deleted on its host off every issue (its
	// recorded rows and the tracker link state of globalID) with the audit
	// entry e (nil: none) in one transaction, and returns the keys of the
	// issues it was recorded against, sorted.
	ForgetBranch(ctx context.Context, repositoryID, name, globalID string, e *AuditEntry) ([]string, error)
	TrackerLinks(ctx context.Context, issueKey string) ([]TrackerLink, error)

	// The local tracker's directory. The methods that take an audit entry
	// write it in the same transaction as the change (nil writes none).
	CreateUser(ctx context.Context, u User, audit *AuditEntry) error
	// UpdateUser applies the patch and returns the user as it now is.
	// Deactivating removes all the user's API tokens; taking away the last
	// active administrator (demoting or deactivating) is EInvalid.
	UpdateUser(ctx context.Context, key string, p UserPatch, audit *AuditEntry) (User, error)
	// DeleteUser removes the user with their permissions, API tokens,
	// enrolments and saved provider tokens; the last active admin is EInvalid.
	DeleteUser(ctx context.Context, key string, audit *AuditEntry) error
	User(ctx context.Context, key string) (User, error)
	// UsersByEmail: see PeopleByEmail.
	UsersByEmail(ctx context.Context, emails []string) (map[string]User, error)
	SetPasswordHash(ctx context.Context, userKey, hash string) error
	PasswordHash(ctx context.Context, userKey string) (string, error)
	CreateProject(ctx context.Context, p Project, audit *AuditEntry) error
	Project(ctx context.Context, key string) (Project, error)
	Projects(ctx context.Context) ([]Project, error)
	SetPermissions(ctx context.Context, projectKey, userKey string, perms []string, audit *AuditEntry) error
	Permissions(ctx context.Context, projectKey, userKey string) ([]string, error)
	CreateIssue(ctx context.Context, is Issue, audit *AuditEntry) error
	Issue(ctx context.Context, key string) (Issue, error)
	// The local tracker's statuses, comments and work logs; smart commits' claims.
	IssueWorkStore

	// CreateAPIToken stores t; an empty t.ID gets a random one.
	CreateAPIToken(ctx context.Context, t *APIToken, audit *AuditEntry) error
	// CreateLocalUserAPIToken is CreateAPIToken for a user of the local
	// directory: it stores t only if that user exists and is active at the
	// time, atomically with the check (EInvalid otherwise).
	CreateLocalUserAPIToken(ctx context.Context, t *APIToken, audit *AuditEntry) error
	APIToken(ctx context.Context, hash string) (APIToken, error)
	// APITokens lists a user's API tokens, newest first.
	APITokens(ctx context.Context, userKey string) ([]APIToken, error)
	// APITokensOfUserName lists the API tokens held under a user name
	// (a Jira user's, who has no local row), newest first.
	APITokensOfUserName(ctx context.Context, userName string) ([]APIToken, error)
	// RevokeAPIToken removes the user's API token with that id (any user's
	// when userKey is ""); ENotFound when there is none.
	RevokeAPIToken(ctx context.Context, userKey, id string, audit *AuditEntry) (APIToken, error)
	// TouchAPIToken records a use at `at` unless one after `since` is recorded.
	TouchAPIToken(ctx context.Context, hash string, at, since time.Time) error
	DeleteAPIToken(ctx context.Context, hash string) error
	// CreateEnrolment stores a one-time enrolment, replacing the user's others.
	CreateEnrolment(ctx context.Context, e Enrolment, audit *AuditEntry) error
	// Enrolment returns the enrolment with that hash if it has not expired at
	// now and its user is active; else ENotFound.
	Enrolment(ctx context.Context, hash string, now time.Time) (Enrolment, error)
	// RedeemEnrolment uses the enrolment once: it sets the password hash and
	// removes the enrolment and the user's sessions, in one transaction.
	// The audit entry (its user and target filled from the enrolment) is
	// written in the same transaction.
	RedeemEnrolment(ctx context.Context, hash string, now time.Time, passwordHash string, audit *AuditEntry) (Enrolment, error)
	// DeleteExpiredAPITokens removes every API token that expired before now.
	DeleteExpiredAPITokens(ctx context.Context, now time.Time) (int, error)
	// ChangePassword sets a user's password hash and ends their sign-in
	// sessions (API tokens named SessionTokenName or JiraSessionTokenName;
	// other API tokens stay), with the audit entry, in one transaction.
	ChangePassword(ctx context.Context, userKey, hash string, audit *AuditEntry) error

	// CheckSecrets decrypts every stored secret and reports how many it read;
	// it fails if any cannot be decrypted with the store's Cipher.
	CheckSecrets(ctx context.Context) (int, error)
	// ReencryptSecrets decrypts and encrypts again every stored secret, so
	// that all are under the Cipher's current primary key.
	ReencryptSecrets(ctx context.Context) (int, error)

	Ping(ctx context.Context) error
	Close() error
}
