package gitlab

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"strconv"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

var _ provider.WebhookParser = ParseWebhook

// ParseWebhook reads a GitLab webhook delivery. GitLab sends the hook's
// secret token as it is in X-Gitlab-Token; it must equal secret. "Push
// Hook", "Tag Push Hook" and "Merge Request Hook" (project and group hooks)
// name their project; so do the same events from a system hook ("System
// Hook", with event_name push or tag_push, or object_kind merge_request),
// which GitLab documents with the same payloads. Other events name none.
func ParseWebhook(h http.Header, body []byte, secret string) (provider.Hook, error) {
	// Digests of equal length, so that the comparison's time tells nothing,
	// not even the secret's length.
	got, want := sha256.Sum256([]byte(h.Get("X-Gitlab-Token"))), sha256.Sum256([]byte(secret))
	if secret == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return provider.Hook{}, fb.Errorf(fb.EUnauthenticated, "The delivery's X-Gitlab-Token is missing or is not the webhook secret.")
	}
	event := h.Get("X-Gitlab-Event")
	var p hookPayload
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil || dec.More() {
		return provider.Hook{}, &fb.Error{Code: fb.EInvalid, Message: "The delivery is not a GitLab webhook payload (JSON).", Err: err}
	}
	hook := provider.Hook{Event: event}
	kind := p.ObjectKind
	if kind == "" {
		kind = p.EventName
	}
	switch {
	case event == "Push Hook" || event == "Tag Push Hook" || event == "Merge Request Hook":
	case event == "System Hook" && (kind == "push" || kind == "tag_push" || kind == "merge_request"):
		hook.Event = event + ": " + kind
	default:
		return hook, nil
	}
	repo, ok := p.repository()
	if !ok {
		return provider.Hook{}, fb.Errorf(fb.EInvalid, "The %s delivery names no project.", event)
	}
	hook.Repositories = []provider.HookRepository{repo}
	return hook, nil
}

// hookPayload is the part of a push, tag push or merge request payload
// that names the project: project_id (push events) or project.id, and
// project.path_with_namespace.
type hookPayload struct {
	ObjectKind string      `json:"object_kind"`
	EventName  string      `json:"event_name"`
	ProjectID  json.Number `json:"project_id"`
	Project    *struct {
		ID                json.Number `json:"id"`
		PathWithNamespace string      `json:"path_with_namespace"`
	} `json:"project"`
}

// repository names the project as discovery records it: the numeric id as
// ExternalID, the full path as FullName.
func (p hookPayload) repository() (provider.HookRepository, bool) {
	var r provider.HookRepository
	id := p.ProjectID
	if p.Project != nil {
		r.FullName = p.Project.PathWithNamespace
		if id == "" {
			id = p.Project.ID
		}
	}
	if id != "" {
		n, err := strconv.ParseInt(id.String(), 10, 64)
		if err != nil || n <= 0 {
			return r, false
		}
		r.ExternalID = strconv.FormatInt(n, 10)
	}
	return r, r.ExternalID != "" || r.FullName != ""
}
