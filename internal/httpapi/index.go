package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"

	fb "github.com/forgebridge/forgebridge"
)

// maxWebhookBody bounds a webhook delivery (API.md: 25 MB, read whole).
const maxWebhookBody = 25_000_000

// webhookURL is the address to give a host for an integration's deliveries.
func (s *Server) webhookURL(integrationID string) string {
	return s.PublicURL + "/api/v1/webhooks/" + url.PathEscape(integrationID)
}

func (s *Server) integrationJSON(ctx context.Context, i fb.Integration) integrationJSON {
	configured, err := s.App.WebhookConfigured(ctx)
	if err != nil {
		s.Logger.Warn("webhook secrets not read", "err", err)
	}
	return toIntegration(i, webhookJSON{URL: s.webhookURL(i.ID), SecretConfigured: configured[i.ID]})
}

// maxDeliveries bounds the deliveries read at once: each may hold 25 MB, and
// the endpoint is open to the internet.
const maxDeliveries = 8

var deliveries = make(chan struct{}, maxDeliveries)

// webhook takes a host's delivery. It is authenticated by the integration's
// webhook secret, not by forgebridge credentials, and answered before any
// indexing starts. What can be refused before the body is read is: a body
// declared too large, an unknown integration.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > maxWebhookBody {
		s.tooLarge(w, r)
		return
	}
	id := r.PathValue("integrationId")
	if err := s.App.WebhookTarget(r.Context(), id); err != nil {
		if fb.ErrorCode(err) == fb.ENotFound {
			err = fb.Errorf(fb.ENotFound, "No such integration.")
		}
		writeError(w, r, s.Logger, err)
		return
	}
	select {
	case deliveries <- struct{}{}:
		defer func() { <-deliveries }()
	case <-r.Context().Done():
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		s.tooLarge(w, r)
		return
	} else if err != nil {
		writeError(w, r, s.Logger, fb.Errorf(fb.EInvalid, "The delivery could not be read."))
		return
	}
	if _, err := s.App.Webhook(r.Context(), id, r.Header, body); err != nil {
		if fb.ErrorCode(err) == fb.ENotFound {
			err = fb.Errorf(fb.ENotFound, "No such integration.")
		}
		writeError(w, r, s.Logger, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) tooLarge(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, s.Logger, tooLarge("The delivery", maxWebhookBody))
}

func reset(r *http.Request) (bool, error) {
	v := r.URL.Query().Get("reset")
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fb.Errorf(fb.EInvalid, "reset must be true or false.")
	}
	return b, nil
}

func (s *Server) reindexRepository(w http.ResponseWriter, r *http.Request, u fb.User) error {
	rs, err := reset(r)
	if err != nil {
		return err
	}
	st, err := s.App.Reindex(r.Context(), u, r.PathValue("id"), rs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, indexStateJSON{RepositoryID: st.RepositoryID, indexJSON: toIndex(st)})
	return nil
}

type indexStateJSON struct {
	RepositoryID string `json:"repositoryId"`
	indexJSON
}

func (s *Server) reindexIntegration(w http.ResponseWriter, r *http.Request, u fb.User) error {
	rs, err := reset(r)
	if err != nil {
		return err
	}
	states, err := s.App.ReindexIntegration(r.Context(), u, r.PathValue("id"), rs)
	if err != nil {
		return err
	}
	out := make([]indexStateJSON, 0, len(states))
	for _, st := range states {
		out = append(out, indexStateJSON{RepositoryID: st.RepositoryID, indexJSON: toIndex(st)})
	}
	writeJSON(w, http.StatusAccepted, out)
	return nil
}

func (s *Server) newWebhookSecret(w http.ResponseWriter, r *http.Request, u fb.User) error {
	secret, err := s.App.NewWebhookSecret(r.Context(), u, r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]string{"secret": secret})
	return nil
}

func (s *Server) getRepository(w http.ResponseWriter, r *http.Request, u fb.User) error {
	v, err := s.App.Repository(r.Context(), u, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toRepository(v))
	return nil
}

func (s *Server) listIssueCommits(w http.ResponseWriter, r *http.Request, u fb.User) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	commits, _, next, err := s.App.IssueCommits(r.Context(), u, r.PathValue("key"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, paged{Values: toCommits(commits), Next: nextURL(r, next, p)})
	return nil
}
