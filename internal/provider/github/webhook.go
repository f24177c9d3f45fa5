package github

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

var _ provider.WebhookParser = ParseWebhook

// ParseWebhook authenticates a GitHub or GitHub Enterprise webhook delivery
// and names the repository it is about. GitHub signs the raw body (the form
// body too, when the hook sends application/x-www-form-urlencoded) with
// HMAC-SHA256 under the hook's secret, in X-Hub-Signature-256 as
// "sha256=" and the hex digest; the legacy SHA-1 X-Hub-Signature is not
// accepted. push, create, delete and pull_request name a repository; ping
// and every other event name none.
func ParseWebhook(h http.Header, body []byte, secret string) (provider.Hook, error) {
	if !signed(h.Get("X-Hub-Signature-256"), body, secret) {
		return provider.Hook{}, fb.Errorf(fb.EUnauthenticated,
			"The delivery's X-Hub-Signature-256 is missing or does not match the integration's webhook secret.")
	}
	event := h.Get("X-GitHub-Event")
	if event == "" {
		return provider.Hook{}, fb.Errorf(fb.EInvalid, "The delivery has no X-GitHub-Event header.")
	}
	payload := body
	if mt, _, _ := mime.ParseMediaType(h.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		form, err := url.ParseQuery(string(body))
		if err != nil || !form.Has("payload") {
			return provider.Hook{}, fb.Errorf(fb.EInvalid, "The form-encoded delivery has no payload field.")
		}
		payload = []byte(form.Get("payload"))
	}
	var p struct {
		Repository *struct {
			ID       json.Number `json:"id"`
			FullName string      `json:"full_name"`
		} `json:"repository"`
	}
	// A payload is an object; decoding into a struct refuses every other
	// JSON value but null.
	if err := json.Unmarshal(payload, &p); err != nil || string(bytes.TrimSpace(payload)) == "null" {
		return provider.Hook{}, &fb.Error{Code: fb.EInvalid, Err: err, Message: "The delivery's payload is not GitHub's JSON."}
	}
	hook := provider.Hook{Event: event}
	switch event {
	case "push", "create", "delete", "pull_request":
	default:
		return hook, nil
	}
	if p.Repository == nil {
		return provider.Hook{}, fb.Errorf(fb.EInvalid, "The %s delivery names no repository.", event)
	}
	id, err := strconv.ParseInt(p.Repository.ID.String(), 10, 64)
	if err != nil || id <= 0 || p.Repository.FullName == "" || !strings.Contains(p.Repository.FullName, "/") {
		return provider.Hook{}, fb.Errorf(fb.EInvalid, "The %s delivery's repository has no id or full name.", event)
	}
	// ExternalID as Repositories records it: GitHub's numeric id in decimal.
	hook.Repositories = []provider.HookRepository{{ExternalID: strconv.FormatInt(id, 10), FullName: p.Repository.FullName}}
	return hook, nil
}

// signed checks an X-Hub-Signature-256 value against body in constant time.
func signed(header string, body []byte, secret string) bool {
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if !ok || secret == "" || len(hexSum) != 2*sha256.Size {
		return false
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}
