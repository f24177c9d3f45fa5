package app

import (
	"cmp"
	"context"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// IntegrationInput creates an integration, or with nil fields left as they
// are, patches one.
type IntegrationInput struct {
	Name                  *string
	Kind                  *fb.Kind
	BaseURL               *string
	Region                *string
	ServerVersion         *string
	APIPath               *string
	RepositoryFilter      *string
	Projects              *[]string
	ProxyURL              *string
	CABundle              *string
	InsecureSkipTLSVerify *bool
	Credential            *fb.Credential
	CreateBranch          *bool
	CreatePullRequest     *bool
	RequireUserPAT        *bool
	SmartCommits          *bool
	EnforcePermissions    *bool
	DiffViewing           *bool
	// WebhookSecret, when given and not empty, replaces the webhook secret.
	WebhookSecret *string
	// IfVersion, when set, is the version the patch was made against: an
	// integration changed since is left alone (EVersionMismatch).
	IfVersion string
}

var (
	projectKeyRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,63}$`)
	regionRE     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d+$`)
	tfsVersions  = []string{"2017", "2018", "2019", "2020", "2022"}
)

// apply merges the input into an integration.
func (in IntegrationInput) apply(i *fb.Integration) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&i.Name, in.Name)
	if in.Kind != nil {
		i.Kind = *in.Kind
	}
	set(&i.BaseURL, in.BaseURL)
	i.BaseURL = strings.TrimRight(i.BaseURL, "/")
	set(&i.Region, in.Region)
	set(&i.ServerVersion, in.ServerVersion)
	set(&i.APIPath, in.APIPath)
	set(&i.RepositoryFilter, in.RepositoryFilter)
	set(&i.ProxyURL, in.ProxyURL)
	if in.CABundle != nil {
		i.CABundle = *in.CABundle
	}
	if in.InsecureSkipTLSVerify != nil {
		i.InsecureSkipTLSVerify = *in.InsecureSkipTLSVerify
	}
	if in.Projects != nil {
		i.Projects = uniqueProjects(*in.Projects)
	}
	if in.CreateBranch != nil {
		i.Settings.CreateBranch = *in.CreateBranch
	}
	if in.CreatePullRequest != nil {
		i.Settings.CreatePullRequest = *in.CreatePullRequest
	}
	if in.RequireUserPAT != nil {
		i.Settings.RequireUserPAT = *in.RequireUserPAT
	}
	if in.SmartCommits != nil {
		i.Settings.SmartCommits = *in.SmartCommits
	}
	if in.EnforcePermissions != nil {
		i.Settings.EnforcePermissions = *in.EnforcePermissions
	}
	if in.DiffViewing != nil {
		i.Settings.DiffViewing = *in.DiffViewing
	}
}

// validateIntegration checks the fields an integration must have for its kind.
func validateIntegration(i fb.Integration) error {
	if i.Name == "" {
		return fb.Errorf(fb.EInvalid, "name is required.")
	}
	if !i.Kind.Valid() {
		return fb.Errorf(fb.EInvalid, "kind %q is not one of github, github-enterprise, gitlab, gitlab-self-managed, azure-devops, vsts, tfs, codecommit.", i.Kind)
	}
	switch i.Kind {
	case fb.KindGitHubEnterprise, fb.KindGitLabSelfManaged, fb.KindAzureDevOps, fb.KindVSTS, fb.KindTFS:
		if i.BaseURL == "" {
			return fb.Errorf(fb.EInvalid, "baseUrl is required for %s.", i.Kind)
		}
	case fb.KindCodeCommit:
		if !regionRE.MatchString(i.Region) {
			return fb.Errorf(fb.EInvalid, "region is required for codecommit, as an AWS region name such as eu-west-1.")
		}
	}
	for field, raw := range map[string]string{"baseUrl": i.BaseURL, "proxyUrl": i.ProxyURL} {
		if raw == "" {
			continue
		}
		// Credentials belong in the credential, which is encrypted; a URL is
		// stored and shown in clear.
		if u, err := url.Parse(raw); err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return fb.Errorf(fb.EInvalid, "%s must be an http(s) URL.", field)
		} else if u.User != nil {
			return fb.Errorf(fb.EInvalid, "%s must not hold a user name or password.", field)
		}
	}
	if i.ServerVersion != "" {
		if i.Kind != fb.KindTFS {
			return fb.Errorf(fb.EInvalid, "serverVersion applies to tfs only.")
		}
		ok := false
		for _, v := range tfsVersions {
			ok = ok || v == i.ServerVersion
		}
		if !ok {
			return fb.Errorf(fb.EInvalid, "serverVersion must be one of %s.", strings.Join(tfsVersions, ", "))
		}
	}
	if i.APIPath != "" && !strings.HasPrefix(i.APIPath, "/") {
		return fb.Errorf(fb.EInvalid, "apiPath must start with /.")
	}
	if _, err := provider.CompileFilter(i.RepositoryFilter); err != nil {
		return fb.Errorf(fb.EInvalid, "repositoryFilter: %s", fb.ErrorMessage(err))
	}
	for _, p := range i.Projects {
		if !projectKeyRE.MatchString(p) {
			return fb.Errorf(fb.EInvalid, "projects: %q is not a project key.", p)
		}
	}
	if err := checkCredentialShape(i.Kind, i.Credential); err != nil {
		return fb.Errorf(fb.EInvalid, "credential: %s", fb.ErrorMessage(err))
	}
	return nil
}

// DiscoveryTimeout bounds one discovery of an integration's repositories, so
// that a request waiting for it is answered before the server's write timeout.
const DiscoveryTimeout = 50 * time.Second

// connect validates the service credential and discovers the repositories of
// an integration that is not saved yet.
func (s *Service) connect(ctx context.Context, i *fb.Integration) ([]fb.Repository, error) {
	p, err := s.Providers(*i, s.ProviderOptions)
	if err != nil {
		return nil, err
	}
	p = instrument(webSafe{p}, string(i.Kind), s.Metrics)
	info, err := p.Validate(ctx, i.Credential)
	if err != nil {
		return nil, explainTokenError(err, *i, SourceService)
	}
	i.CredentialLogin, i.CredentialUserID = info.Login, info.UserID
	ctx, cancel := context.WithTimeout(ctx, DiscoveryTimeout)
	defer cancel()
	repos, err := p.Repositories(ctx, i.Credential)
	if err != nil {
		return nil, explainTokenError(err, *i, SourceService)
	}
	return repos, nil
}

// CreateIntegration validates the service credential, discovers every
// repository and only then saves the integration, with its repositories,
// webhook secret and audit entry in one transaction.
func (s *Service) CreateIntegration(ctx context.Context, u fb.User, in IntegrationInput) (fb.Integration, error) {
	if err := in.check(u); err != nil {
		return fb.Integration{}, err
	}
	i := fb.Integration{Settings: fb.DefaultIntegrationSettings}
	if in.Credential != nil {
		i.Credential = *in.Credential
	}
	in.apply(&i)
	entry := fb.AuditEntry{User: u.Name, Action: fb.AuditIntegrationCreate, Target: i.Name}
	err := s.createIntegration(ctx, &i, in, &entry)
	if err != nil {
		entry.Changes = nil // nothing changed
		s.audit(ctx, entry, err)
		return fb.Integration{}, err
	}
	s.Metrics.action(entry.Action, string(entry.Actor.Type), fb.AuditOutcomeSuccess)
	s.indexIntegration(ctx, i.ID)
	return i, nil
}

// indexIntegration queues the first (or next) index of every repository of
// an integration that was just created or synced.
func (s *Service) indexIntegration(ctx context.Context, integrationID string) {
	ids, err := s.repositoryIDs(ctx, integrationID)
	if err != nil {
		s.log().Warn("index runs not queued", "integration", integrationID, "err", err)
		return
	}
	s.indexSoon(ctx, ids, IndexByAdmin)
}

func (s *Service) createIntegration(ctx context.Context, i *fb.Integration, in IntegrationInput, entry *fb.AuditEntry) error {
	if err := validateIntegration(*i); err != nil {
		return err
	}
	if err := s.checkProjects(ctx, &i.Projects); err != nil {
		return err
	}
	repos, err := s.connect(ctx, i)
	if err != nil {
		return err
	}
	entry.Actor = fb.Actor{Type: fb.ActorIntegration, Login: i.CredentialLogin}
	entry.Changes = integrationChanges(nil, i, in)
	w := fb.IntegrationWrite{Discovered: true, Repositories: repos, At: s.now(), Audit: s.stamp(entry, nil)}
	if s.Index.Secrets != nil {
		w.WebhookSecret = newWebhookSecret()
		if in.WebhookSecret != nil && *in.WebhookSecret != "" {
			w.WebhookSecret = *in.WebhookSecret
		}
	}
	return s.Store.CreateIntegrationWith(ctx, i, w)
}

// UpdateIntegration merges a patch into an integration. A new credential or
// new connection settings are tried with the provider before anything is
// saved; the patch is then merged again into the integration as it is by
// then, in the transaction that writes it, so that only the fields given are
// written and a slow patch never undoes one made meanwhile.
func (s *Service) UpdateIntegration(ctx context.Context, u fb.User, id string, in IntegrationInput) (fb.Integration, error) {
	if err := in.check(u); err != nil {
		return fb.Integration{}, err
	}
	if err := s.checkProjects(ctx, in.Projects); err != nil {
		return fb.Integration{}, err
	}
	entry := fb.AuditEntry{User: u.Name, Action: fb.AuditIntegrationUpdate, IntegrationID: id}
	var i fb.Integration
	var err error
	for attempt := 1; ; attempt++ {
		i, err = s.updateIntegration(ctx, id, in, &entry)
		if !errors.Is(err, errConnectionChanged) {
			break
		}
		if attempt == connectAttempts {
			err = fb.Errorf(fb.EVersionMismatch, "The connection settings of %s kept changing while this change was tried; nothing was changed. Try again.", entry.Target)
			break
		}
	}
	if err != nil {
		entry.Changes = nil // nothing changed
		s.audit(ctx, entry, err)
	}
	return i, err
}

// errConnectionChanged says that the integration's connection changed while
// a patch's own was being tried with the provider: what was tried is not
// what would be saved, so the patch is tried again on the new state.
var errConnectionChanged = errors.New("the integration's connection changed meanwhile")

// connectAttempts bounds the tries of a patch whose connection keeps being
// changed by others.
const connectAttempts = 3

// patched returns the integration with the patch merged in, checked.
func (in IntegrationInput) patched(cur fb.Integration) (fb.Integration, error) {
	if in.Kind != nil && *in.Kind != cur.Kind {
		return fb.Integration{}, fb.Errorf(fb.EInvalid, "kind cannot be changed; create a new integration.")
	}
	i := cur
	i.Projects = slices.Clone(cur.Projects)
	if in.credentialGiven() {
		i.Credential = *in.Credential
	}
	in.apply(&i)
	if err := validateIntegration(i); err != nil {
		return fb.Integration{}, err
	}
	// A credential is only ever sent where it was given for: a new address
	// needs the service credential given again, and people's saved tokens,
	// given for the old address, are removed.
	if !sameAddress(i, cur) && !in.credentialGiven() {
		return fb.Integration{}, fb.Errorf(fb.EInvalid,
			"credential: give the service credential again when baseUrl, region, proxyUrl or the TLS settings change.")
	}
	return i, nil
}

func (in IntegrationInput) credentialGiven() bool {
	return in.Credential != nil && !in.Credential.IsZero()
}

// sameConnection reports whether the provider would answer a and b alike:
// same address, credential and repository listing.
func sameConnection(a, b fb.Integration) bool {
	return sameAddress(a, b) && a.Credential == b.Credential && a.ServerVersion == b.ServerVersion &&
		a.APIPath == b.APIPath && a.RepositoryFilter == b.RepositoryFilter
}

// updateIntegration makes one try of a patch: it connects with the patched
// connection settings (when they change), then merges the patch into the
// integration as stored, in the transaction that writes it. If another
// change of the connection came meanwhile, the discovery is not for what
// would be saved: errConnectionChanged, nothing written.
func (s *Service) updateIntegration(ctx context.Context, id string, in IntegrationInput, entry *fb.AuditEntry) (fb.Integration, error) {
	base, err := s.Store.Integration(ctx, id)
	if err != nil {
		return fb.Integration{}, err
	}
	entry.Target = base.Name
	if in.IfVersion != "" && in.IfVersion != base.Version {
		// Refused before the provider is asked anything; the store checks again.
		return fb.Integration{}, integrationChanged(base)
	}
	tried, err := in.patched(base)
	if err != nil {
		return fb.Integration{}, err
	}
	entry.Target = tried.Name
	reconnect := !sameConnection(tried, base)
	var repos, known []fb.Repository
	if reconnect {
		if repos, err = s.connect(ctx, &tried); err != nil {
			return fb.Integration{}, err
		}
		if known, err = s.Store.IntegrationRepositories(ctx, id); err != nil {
			return fb.Integration{}, err
		}
	}
	// The people whose tokens a move removes, by name for the audit log:
	// asked of the tracker now, not in the transaction.
	holders := map[string]string{}
	if !sameAddress(tried, base) {
		if holders, err = s.tokenHolders(ctx, id); err != nil {
			return fb.Integration{}, err
		}
	}
	discovered := false
	i, dropped, err := s.Store.ChangeIntegration(ctx, id, in.IfVersion, func(cur *fb.Integration) (fb.IntegrationWrite, error) {
		var w fb.IntegrationWrite
		next, err := in.patched(*cur)
		if err != nil {
			return w, err
		}
		if !sameConnection(next, *cur) {
			if !reconnect || !sameConnection(next, tried) {
				return w, errConnectionChanged
			}
			next.CredentialLogin = tried.CredentialLogin
			w.Discovered, w.Repositories, w.At = true, repos, s.now()
		}
		discovered = w.Discovered
		if s.Index.Secrets != nil && in.WebhookSecret != nil {
			w.WebhookSecret = *in.WebhookSecret
		}
		entry.Target = next.Name
		entry.Actor = fb.Actor{Type: fb.ActorIntegration, Login: next.CredentialLogin}
		entry.Changes = integrationChanges(cur, &next, in)
		w.Audit = s.stamp(entry, nil)
		w.TokenDropped = func(key string) *fb.AuditEntry {
			name := cmp.Or(holders[key], key) // a token saved meanwhile
			return s.stamp(&fb.AuditEntry{User: name, Action: fb.AuditTokenDelete, IntegrationID: id,
				Target: "the integration's address changed"}, nil)
		}
		*cur = next
		return w, nil
	})
	s.forget(id)
	if err != nil {
		return fb.Integration{}, err
	}
	s.Metrics.action(entry.Action, string(entry.Actor.Type), fb.AuditOutcomeSuccess)
	if discovered {
		s.removeMirrors(ctx, known, repos)
		s.indexIntegration(ctx, i.ID)
	}
	for range dropped {
		s.Metrics.action(fb.AuditTokenDelete, "", fb.AuditOutcomeSuccess)
	}
	return i, nil
}

// tokenHolders returns the names of the people who saved a token for the
// integration, by user key.
func (s *Service) tokenHolders(ctx context.Context, integrationID string) (map[string]string, error) {
	tokens, err := s.Store.IntegrationUserTokens(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(tokens))
	for _, t := range tokens {
		names[t.UserKey] = s.userName(ctx, t.UserKey)
	}
	return names, nil
}

// integrationChanged is EVersionMismatch for an integration.
func integrationChanged(i fb.Integration) error {
	e := fb.Errorf(fb.EVersionMismatch,
		"Integration %s changed since this version was read; nothing was changed. Read it again and repeat the change if it still applies.", i.Name)
	e.IntegrationID = i.ID
	return e
}

// DeleteIntegration removes an integration with its repositories and the
// tokens people saved for it; with ifVersion set, only if it is still at
// that version.
func (s *Service) DeleteIntegration(ctx context.Context, u fb.User, id, ifVersion string) error {
	if err := requireAdmin(u); err != nil {
		return err
	}
	i, err := s.Store.Integration(ctx, id)
	if err != nil {
		return err
	}
	repos, err := s.Store.IntegrationRepositories(ctx, id)
	if err != nil {
		return err
	}
	entry := fb.AuditEntry{User: u.Name, Action: fb.AuditIntegrationDelete, IntegrationID: id, Target: i.Name,
		Changes: integrationChanges(&i, nil, IntegrationInput{})}
	if ifVersion != "" && ifVersion != i.Version {
		err = integrationChanged(i)
	} else {
		err = s.Store.DeleteIntegrationWith(ctx, id, ifVersion, s.stamp(&entry, nil))
	}
	s.forget(id)
	if err != nil {
		entry.Changes = nil
		s.audit(ctx, entry, err)
		return err
	}
	s.Metrics.action(entry.Action, "", fb.AuditOutcomeSuccess)
	s.removeMirrors(ctx, repos, nil)
	return nil
}

// removeMirrors cancels the index runs and deletes the mirrors of the
// repositories in before that are not in after (matched by id).
func (s *Service) removeMirrors(ctx context.Context, before, after []fb.Repository) {
	kept := make(map[string]bool, len(after))
	for _, r := range after {
		kept[r.ID] = true
	}
	for _, r := range before {
		if kept[r.ID] {
			continue
		}
		s.repositoryGone(ctx, r.ID)
	}
}

// SyncIntegration discovers an integration's repositories again (admins).
func (s *Service) SyncIntegration(ctx context.Context, u fb.User, id string) (int, error) {
	if err := requireAdmin(u); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, DiscoveryTimeout)
	defer cancel()
	n, err := s.Discover(ctx, id)
	if err == nil {
		s.indexIntegration(ctx, id)
	}
	return n, err
}

// Integration returns one integration (admins).
func (s *Service) Integration(ctx context.Context, u fb.User, id string) (fb.Integration, error) {
	if err := requireAdmin(u); err != nil {
		return fb.Integration{}, err
	}
	return s.Store.Integration(ctx, id)
}

// Integrations lists the integrations (admins).
func (s *Service) Integrations(ctx context.Context, u fb.User) ([]fb.Integration, error) {
	if err := requireAdmin(u); err != nil {
		return nil, err
	}
	return s.Store.Integrations(ctx)
}
