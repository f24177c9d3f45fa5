package app

import (
	"context"
	"net/url"
	"regexp"
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
	// WebhookSecret, when given and not empty, replaces the webhook secret.
	WebhookSecret *string
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
		i.Projects = nil
		for _, p := range *in.Projects {
			i.Projects = append(i.Projects, strings.ToUpper(strings.TrimSpace(p)))
		}
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
	i.CredentialLogin = info.Login
	ctx, cancel := context.WithTimeout(ctx, DiscoveryTimeout)
	defer cancel()
	repos, err := p.Repositories(ctx, i.Credential)
	if err != nil {
		return nil, explainTokenError(err, *i, SourceService)
	}
	return repos, nil
}

// CreateIntegration validates the service credential, discovers every
// repository and only then saves the integration.
func (s *Service) CreateIntegration(ctx context.Context, u fb.User, in IntegrationInput) (fb.Integration, error) {
	if err := requireAdmin(u); err != nil {
		return fb.Integration{}, err
	}
	i := fb.Integration{Settings: fb.DefaultIntegrationSettings}
	if in.Credential != nil {
		i.Credential = *in.Credential
	}
	in.apply(&i)
	entry := fb.AuditEntry{User: u.Name, Action: fb.AuditIntegrationCreate, Target: i.Name}
	err := s.createIntegration(ctx, &i)
	if err == nil {
		err = s.setWebhookSecret(ctx, i.ID, in.WebhookSecret, true)
	}
	entry.IntegrationID = i.ID
	entry.Actor = fb.Actor{Type: fb.ActorIntegration, Login: i.CredentialLogin}
	s.audit(ctx, entry, err)
	if err == nil {
		s.indexIntegration(ctx, i.ID)
	}
	return i, err
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

func (s *Service) createIntegration(ctx context.Context, i *fb.Integration) error {
	if err := validateIntegration(*i); err != nil {
		return err
	}
	repos, err := s.connect(ctx, i)
	if err != nil {
		return err
	}
	return s.Store.CreateIntegrationWithRepositories(ctx, i, repos, s.now())
}

// UpdateIntegration merges a patch into an integration. A new credential or
// new connection settings are tried with the provider before anything is saved.
func (s *Service) UpdateIntegration(ctx context.Context, u fb.User, id string, in IntegrationInput) (fb.Integration, error) {
	if err := requireAdmin(u); err != nil {
		return fb.Integration{}, err
	}
	entry := fb.AuditEntry{User: u.Name, Action: fb.AuditIntegrationUpdate, IntegrationID: id}
	i, err := s.updateIntegration(ctx, id, in, &entry)
	s.audit(ctx, entry, err)
	return i, err
}

func (s *Service) updateIntegration(ctx context.Context, id string, in IntegrationInput, entry *fb.AuditEntry) (fb.Integration, error) {
	i, err := s.Store.Integration(ctx, id)
	if err != nil {
		return fb.Integration{}, err
	}
	if in.Kind != nil && *in.Kind != i.Kind {
		return fb.Integration{}, fb.Errorf(fb.EInvalid, "kind cannot be changed; create a new integration.")
	}
	before := i
	if in.Credential != nil && !in.Credential.IsZero() {
		i.Credential = *in.Credential
	}
	in.apply(&i)
	entry.Target = i.Name
	if err := validateIntegration(i); err != nil {
		return fb.Integration{}, err
	}
	// A credential is only ever sent where it was given for: a new address
	// needs the service credential given again, and people's saved tokens,
	// given for the old address, are removed.
	moved := !sameAddress(i, before)
	if moved && (in.Credential == nil || in.Credential.IsZero()) {
		return fb.Integration{}, fb.Errorf(fb.EInvalid,
			"credential: give the service credential again when baseUrl, region, proxyUrl or the TLS settings change.")
	}
	reconnect := moved || i.ServerVersion != before.ServerVersion || i.APIPath != before.APIPath ||
		i.RepositoryFilter != before.RepositoryFilter || i.Credential != before.Credential
	var repos []fb.Repository
	if reconnect {
		if repos, err = s.connect(ctx, &i); err != nil {
			return fb.Integration{}, err
		}
	}
	entry.Actor = fb.Actor{Type: fb.ActorIntegration, Login: i.CredentialLogin}
	var dropped []fb.UserToken
	if moved {
		// The store removes them with the update; listed here for the audit log.
		if dropped, err = s.Store.IntegrationUserTokens(ctx, i.ID); err != nil {
			return fb.Integration{}, err
		}
	}
	var known []fb.Repository
	if reconnect {
		if known, err = s.Store.IntegrationRepositories(ctx, i.ID); err != nil {
			return fb.Integration{}, err
		}
		err = s.Store.UpdateIntegrationWithRepositories(ctx, &i, repos, s.now())
	} else {
		err = s.Store.UpdateIntegration(ctx, &i)
	}
	s.forget(i.ID)
	if err != nil {
		return fb.Integration{}, err
	}
	if err := s.setWebhookSecret(ctx, i.ID, in.WebhookSecret, false); err != nil {
		return fb.Integration{}, err
	}
	if reconnect {
		s.removeMirrors(ctx, known, repos)
		s.indexIntegration(ctx, i.ID)
	}
	for _, t := range dropped {
		s.audit(ctx, fb.AuditEntry{User: s.userName(ctx, t.UserKey), Action: fb.AuditTokenDelete, IntegrationID: i.ID,
			Target: "the integration's address changed"}, nil)
	}
	return s.Store.Integration(ctx, i.ID)
}

// DeleteIntegration removes an integration with its repositories and the tokens people saved for it.
func (s *Service) DeleteIntegration(ctx context.Context, u fb.User, id string) error {
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
	err = s.Store.DeleteIntegration(ctx, id)
	s.forget(id)
	s.audit(ctx, fb.AuditEntry{User: u.Name, Action: fb.AuditIntegrationDelete, IntegrationID: id, Target: i.Name}, err)
	if err == nil {
		s.removeMirrors(ctx, repos, nil)
	}
	return err
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
