package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"slices"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/gitmirror"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// IndexPriority says who asked for an index run: the queue runs an
// admin's request before a webhook's, and a webhook's before the schedule's.
type IndexPriority int

const (
	IndexByAdmin    IndexPriority = 1
	IndexByWebhook  IndexPriority = 2
	IndexBySchedule IndexPriority = 3
)

// Indexing is what the application needs of indexing besides the queue.
type Indexing struct {
	Store   fb.IndexStore
	Secrets fb.WebhookSecretStore
	// Webhooks gives the parser of a kind's webhook deliveries.
	Webhooks func(fb.Kind) provider.WebhookParser
	// RemoveMirror deletes the mirror of a repository that left its integration.
	RemoveMirror func(repositoryID string) error
	// Mirror gives the mirror of a repository, to read diffs from; nil
	// where this instance has no git.
	Mirror func(repositoryID string) (*gitmirror.Mirror, error)
	// Search answers the issue search; nil turns it off.
	Search fb.IssueSearchStore
	// Range walks a git range in a mirror; nil: ranges are not supported.
	Range RangeWalker
}

// IndexCanceller is a Queue that can cancel a repository's index runs.
type IndexCanceller interface {
	CancelIndex(ctx context.Context, repositoryIDs []string) error
}

// repositoryGone forgets the git data work of a repository that left its
// integration: its index runs are cancelled (a running one stops), and its
// mirror deleted. What fails is logged: a run of a removed repository does
// nothing but delete the mirror, and each instance sweeps mirrors of
// removed repositories from its data directory.
func (s *Service) repositoryGone(ctx context.Context, repositoryID string) {
	if c, ok := s.Queue.(IndexCanceller); ok {
		if err := c.CancelIndex(context.WithoutCancel(ctx), []string{repositoryID}); err != nil {
			s.log().Warn("index runs not cancelled", "repository", repositoryID, "err", err)
		}
	}
	if s.Index.RemoveMirror == nil {
		return
	}
	if err := s.Index.RemoveMirror(repositoryID); err != nil {
		s.log().Warn("mirror not removed", "repository", repositoryID, "err", err)
	}
}

// Audit actions of indexing (API.md).
const (
	AuditIndexRequest  = "index.request"
	AuditWebhookSecret = "webhook.secret"
)

// queueIndex asks the queue for index runs; without a queue nothing is indexed.
func (s *Service) queueIndex(ctx context.Context, repositoryIDs []string, by IndexPriority, reset bool) error {
	if s.Queue == nil || len(repositoryIDs) == 0 {
		return nil
	}
	return s.Queue.Index(ctx, repositoryIDs, by, reset)
}

// indexSoon queues runs for work the person is waiting to see; a failure to
// queue is logged: the schedule picks the repository up later.
func (s *Service) indexSoon(ctx context.Context, repositoryIDs []string, by IndexPriority) {
	if err := s.queueIndex(context.WithoutCancel(ctx), repositoryIDs, by, false); err != nil {
		s.log().Warn("index run not queued", "repositories", len(repositoryIDs), "err", err)
	}
}

// Reindex queues an index run of one repository (admins); with reset what
// was indexed is dropped first and everything read again. It answers the
// repository's index state.
func (s *Service) Reindex(ctx context.Context, u fb.User, repositoryID string, reset bool) (fb.IndexState, error) {
	if err := requireAdmin(u); err != nil {
		return fb.IndexState{}, err
	}
	repo, err := s.Store.Repository(ctx, repositoryID)
	if err != nil {
		return fb.IndexState{}, err
	}
	states, err := s.requestIndex(ctx, u, repo.IntegrationID, []string{repo.ID}, reset, repo.FullName)
	if err != nil {
		return fb.IndexState{}, err
	}
	return states[0], nil
}

// ReindexIntegration queues an index run of every repository of an
// integration (admins).
func (s *Service) ReindexIntegration(ctx context.Context, u fb.User, integrationID string, reset bool) ([]fb.IndexState, error) {
	if err := requireAdmin(u); err != nil {
		return nil, err
	}
	in, err := s.Store.Integration(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	ids, err := s.repositoryIDs(ctx, in.ID)
	if err != nil {
		return nil, err
	}
	return s.requestIndex(ctx, u, in.ID, ids, reset, in.Name)
}

func (s *Service) requestIndex(ctx context.Context, u fb.User, integrationID string, ids []string, reset bool, target string) ([]fb.IndexState, error) {
	if s.Queue == nil || s.Index.Store == nil {
		return nil, fb.Errorf(fb.ENotSupported, "Indexing is not running on this instance.")
	}
	entry := fb.AuditEntry{User: u.Name, Action: AuditIndexRequest, IntegrationID: integrationID, Target: target}
	if reset {
		// A reset drops indexed data. The queue is not the store, so the
		// two cannot share a transaction: the entry is written first, and
		// without it nothing is queued; a queueing failure is audited too.
		entry.Target += " (reset)"
		if err := s.Store.AddAudit(context.WithoutCancel(ctx), s.stamp(&entry, nil)); err != nil {
			return nil, err
		}
		if err := s.queueIndex(ctx, ids, IndexByAdmin, reset); err != nil {
			s.audit(ctx, entry, err)
			return nil, err
		}
		return s.IndexStates(ctx, ids)
	}
	err := s.queueIndex(ctx, ids, IndexByAdmin, reset)
	s.audit(ctx, entry, err)
	if err != nil {
		return nil, err
	}
	return s.IndexStates(ctx, ids)
}

// IndexStates returns each repository's index state, in the order asked.
func (s *Service) IndexStates(ctx context.Context, ids []string) ([]fb.IndexState, error) {
	if s.Index.Store == nil {
		out := make([]fb.IndexState, len(ids))
		for i, id := range ids {
			out[i] = fb.IndexState{RepositoryID: id, State: fb.IndexPending}
		}
		return out, nil
	}
	m, err := s.Index.Store.IndexStates(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]fb.IndexState, len(ids))
	for i, id := range ids {
		st := m[id]
		st.RepositoryID = id
		if st.State == "" {
			st.State = fb.IndexPending
		}
		out[i] = st
	}
	return out, nil
}

func repositoryIDsOf(repos []fb.Repository) []string {
	ids := make([]string, len(repos))
	for i, r := range repos {
		ids[i] = r.ID
	}
	return ids
}

// repositoryIDs lists the ids of an integration's repositories.
func (s *Service) repositoryIDs(ctx context.Context, integrationID string) ([]string, error) {
	var ids []string
	q := fb.RepositoryQuery{Page: fb.Page{Limit: 1000}, IntegrationIDs: []string{integrationID}}
	for {
		repos, next, err := s.Store.Repositories(ctx, q)
		if err != nil {
			return nil, err
		}
		for _, r := range repos {
			ids = append(ids, r.ID)
		}
		if next == "" {
			return ids, nil
		}
		q.Cursor = next
	}
}

// IndexAll queues a scheduled index run of every repository of an integration.
func (s *Service) IndexAll(ctx context.Context, integrationID string) (int, error) {
	ids, err := s.repositoryIDs(ctx, integrationID)
	if err != nil {
		return 0, err
	}
	return len(ids), s.queueIndex(ctx, ids, IndexBySchedule, false)
}

// NewWebhookSecret makes a new random webhook secret for an integration,
// stores it sealed and returns it: the only time it is shown (admins).
func (s *Service) NewWebhookSecret(ctx context.Context, u fb.User, integrationID string) (string, error) {
	if err := requireAdmin(u); err != nil {
		return "", err
	}
	if s.Index.Secrets == nil {
		return "", fb.Errorf(fb.ENotSupported, "Webhooks are not available on this instance.")
	}
	in, err := s.Store.Integration(ctx, integrationID)
	if err != nil {
		return "", err
	}
	secret := newWebhookSecret()
	// The entry is written with the new secret: a rotation is never unaudited.
	entry := fb.AuditEntry{User: u.Name, Action: AuditWebhookSecret, IntegrationID: in.ID, Target: in.Name}
	if err := s.Index.Secrets.SetWebhookSecret(ctx, in.ID, secret, s.now(), s.stamp(&entry, nil)); err != nil {
		s.audit(ctx, entry, err)
		return "", err
	}
	return secret, nil
}

func newWebhookSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// WebhookConfigured says which integrations have a webhook secret.
func (s *Service) WebhookConfigured(ctx context.Context) (map[string]bool, error) {
	if s.Index.Secrets == nil {
		return map[string]bool{}, nil
	}
	return s.Index.Secrets.WebhookSecretsConfigured(ctx)
}

// WebhookTarget says whether an integration can take deliveries, before
// anything of one is read: ENotFound for an unknown integration.
func (s *Service) WebhookTarget(ctx context.Context, integrationID string) error {
	_, err := s.Store.Integration(ctx, integrationID)
	return err
}

// Webhook takes a delivery from an integration's host: it is authenticated
// with the integration's webhook secret in the host's own way, and the
// repositories it names are queued for indexing. Nothing of the payload is
// recorded: the data comes from the host. It answers how many runs it queued.
func (s *Service) Webhook(ctx context.Context, integrationID string, h http.Header, body []byte) (int, error) {
	unauth := fb.Errorf(fb.EUnauthenticated, "The delivery's signature or secret is missing or wrong.")
	in, err := s.Store.Integration(ctx, integrationID)
	if err != nil {
		return 0, err
	}
	if s.Index.Secrets == nil || s.Index.Webhooks == nil {
		return 0, fb.Errorf(fb.ENotSupported, "Webhooks are not available on this instance.")
	}
	parse := s.Index.Webhooks(in.Kind)
	if parse == nil {
		return 0, fb.Errorf(fb.ENotSupported, "Integrations of kind %s take no webhooks.", in.Kind)
	}
	secret, err := s.Index.Secrets.WebhookSecret(ctx, in.ID)
	if fb.ErrorCode(err) == fb.ENotFound {
		return 0, unauth
	} else if err != nil {
		return 0, err
	}
	hook, err := parse(h, body, secret)
	if err != nil {
		return 0, err
	}
	s.Metrics.webhook(string(in.Kind), hook.Event)
	if len(hook.Repositories) == 0 {
		return 0, nil
	}
	repos, err := s.Store.IntegrationRepositories(ctx, in.ID)
	if err != nil {
		return 0, err
	}
	var ids []string
	for _, hr := range hook.Repositories {
		for _, r := range repos {
			if hr.ExternalID != "" && r.ExternalID == hr.ExternalID ||
				hr.ExternalID == "" && hr.FullName != "" && r.FullName == hr.FullName {
				if !slices.Contains(ids, r.ID) {
					ids = append(ids, r.ID)
				}
			}
		}
	}
	return len(ids), s.queueIndex(ctx, ids, IndexByWebhook, false)
}

// IssueCommits lists an issue's commits from the repositories of the
// integrations serving its project, newest first, one page at a time.
func (s *Service) IssueCommits(ctx context.Context, u fb.User, key string, page fb.Page) ([]CommitView, int, string, error) {
	issue, err := s.issueWithDevTools(ctx, u, key)
	if err != nil {
		return nil, 0, "", err
	}
	if s.Index.Store == nil {
		return nil, 0, "", nil
	}
	ins, err := s.integrationsServing(ctx, []string{issue.Project})
	if err != nil {
		return nil, 0, "", err
	}
	ids := make([]string, 0, len(ins))
	for _, in := range ins {
		ids = append(ids, in.ID)
	}
	hidden, err := s.hiddenRepositories(ctx, u, ins)
	if err != nil {
		return nil, 0, "", err
	}
	commits, count, next, err := s.Index.Store.IssueCommits(ctx, fb.IssueDataQuery{Page: page, IssueKey: issue.Key, IntegrationIDs: ids,
		HiddenRepositoryIDs: hidden})
	if err != nil {
		return nil, 0, "", err
	}
	// Only the few repositories of this page's commits are looked up.
	byID := make(map[string]fb.Integration, len(ins))
	for _, in := range ins {
		byID[in.ID] = in
	}
	links := repoLinks{}
	integrationOf := map[string]fb.Integration{}
	for _, c := range commits {
		if _, ok := integrationOf[c.RepositoryID]; ok {
			continue
		}
		repo, err := s.Store.Repository(ctx, c.RepositoryID)
		if err != nil {
			continue // removed since: shown without a link
		}
		integrationOf[repo.ID] = byID[repo.IntegrationID]
		links.add(s, byID[repo.IntegrationID], repo)
	}
	views := s.withAuthors(ctx, links.commits(commits))
	markDiffable(views, func(id string) (fb.Integration, bool) { in, ok := integrationOf[id]; return in, ok })
	return views, count, next, nil
}

// IndexedRepository is a repository with its index state.
type IndexedRepository struct {
	fb.Repository
	Index fb.IndexState
}

// IntegrationIndex lists an integration's repositories with their index
// states (admins), for the integration's page.
func (s *Service) IntegrationIndex(ctx context.Context, u fb.User, integrationID string) ([]IndexedRepository, error) {
	if err := requireAdmin(u); err != nil {
		return nil, err
	}
	repos, err := s.Store.IntegrationRepositories(ctx, integrationID)
	if err != nil {
		return nil, err
	}
	states, err := s.IndexStates(ctx, repositoryIDsOf(repos))
	if err != nil {
		return nil, err
	}
	out := make([]IndexedRepository, len(repos))
	for i, r := range repos {
		out[i] = IndexedRepository{Repository: r, Index: states[i]}
	}
	return out, nil
}
