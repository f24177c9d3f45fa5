package gitlab

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/providertest"
)

const hookSecret = "whsec-GitLab-0123456789"

func hookHeader(event, token string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitLab/18.0.0")
	h.Set("X-Gitlab-Event", event)
	h.Set("X-Gitlab-Event-UUID", "13792a34-cac6-4fda-95a8-c58e00a3954e")
	if token != "" {
		h.Set("X-Gitlab-Token", token)
	}
	return h
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseWebhookGolden reads GitLab's documented deliveries
// (testdata/webhook_*.json) and compares the hooks with their golden files.
func TestParseWebhookGolden(t *testing.T) {
	for _, tc := range []struct{ fixture, event string }{
		{"webhook_push.json", "Push Hook"},
		{"webhook_tag_push.json", "Tag Push Hook"},
		{"webhook_merge_request.json", "Merge Request Hook"},
		{"webhook_system_push.json", "System Hook"},
		{"webhook_note.json", "Note Hook"},
		{"webhook_system_repository_update.json", "System Hook"},
	} {
		t.Run(tc.fixture, func(t *testing.T) {
			hook, err := ParseWebhook(hookHeader(tc.event, hookSecret), readFixture(t, tc.fixture), hookSecret)
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			providertest.Golden(t, filepath.Join("testdata", tc.fixture+".golden"), hook, *update)
		})
	}
}

func TestParseWebhook(t *testing.T) {
	push := readFixture(t, "webhook_push.json")
	mr := readFixture(t, "webhook_merge_request.json")
	diaspora := []provider.HookRepository{{ExternalID: "15", FullName: "mike/diaspora"}}
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		secret string
		want   fb.Code // "" for success
		repos  []provider.HookRepository
	}{
		{name: "push", header: hookHeader("Push Hook", hookSecret), body: push, secret: hookSecret, repos: diaspora},
		{name: "no token", header: hookHeader("Push Hook", ""), body: push, secret: hookSecret, want: fb.EUnauthenticated},
		{name: "wrong token", header: hookHeader("Push Hook", hookSecret+"x"), body: push, secret: hookSecret, want: fb.EUnauthenticated},
		{name: "token of another case", header: hookHeader("Push Hook", strings.ToUpper(hookSecret)), body: push, secret: hookSecret, want: fb.EUnauthenticated},
		{name: "no secret configured", header: hookHeader("Push Hook", ""), body: push, secret: "", want: fb.EUnauthenticated},
		// The secret is checked before the body is read.
		{name: "wrong token, bad body", header: hookHeader("Push Hook", "nope"), body: []byte("{"), secret: hookSecret, want: fb.EUnauthenticated},
		{name: "not JSON", header: hookHeader("Push Hook", hookSecret), body: []byte("payload=%7B%7D"), secret: hookSecret, want: fb.EInvalid},
		{name: "truncated", header: hookHeader("Merge Request Hook", hookSecret), body: mr[:len(mr)/2], secret: hookSecret, want: fb.EInvalid},
		{name: "two documents", header: hookHeader("Push Hook", hookSecret), body: append(bytes.Clone(push), push...), secret: hookSecret, want: fb.EInvalid},
		{name: "an array", header: hookHeader("Push Hook", hookSecret), body: []byte(`[]`), secret: hookSecret, want: fb.EInvalid},
		{name: "unknown event, bad body", header: hookHeader("Issue Hook", hookSecret), body: []byte("nope"), secret: hookSecret, want: fb.EInvalid},
		{name: "push without project", header: hookHeader("Push Hook", hookSecret), body: []byte(`{"object_kind":"push","ref":"refs/heads/main"}`), secret: hookSecret, want: fb.EInvalid},
		{name: "project id not a number", header: hookHeader("Push Hook", hookSecret), body: []byte(`{"project_id":"x15"}`), secret: hookSecret, want: fb.EInvalid},
		{name: "project id zero", header: hookHeader("Push Hook", hookSecret), body: []byte(`{"project_id":0}`), secret: hookSecret, want: fb.EInvalid},
		{name: "project id only", header: hookHeader("Push Hook", hookSecret), body: []byte(`{"project_id":7}`), secret: hookSecret,
			repos: []provider.HookRepository{{ExternalID: "7"}}},
		{name: "merge request", header: hookHeader("Merge Request Hook", hookSecret), body: mr, secret: hookSecret,
			repos: []provider.HookRepository{{ExternalID: "1", FullName: "gitlabhq/gitlab-test"}}},
		{name: "system hook merge request", header: hookHeader("System Hook", hookSecret), body: mr, secret: hookSecret,
			repos: []provider.HookRepository{{ExternalID: "1", FullName: "gitlabhq/gitlab-test"}}},
		{name: "system hook of another event", header: hookHeader("System Hook", hookSecret), body: []byte(`{"event_name":"project_create","project_id":74}`), secret: hookSecret},
		{name: "pipeline", header: hookHeader("Pipeline Hook", hookSecret), body: []byte(`{"object_kind":"pipeline","project":{"id":1}}`), secret: hookSecret},
		{name: "no event header", header: hookHeader("", hookSecret), body: push, secret: hookSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hook, err := ParseWebhook(tt.header, tt.body, tt.secret)
			if got := fb.ErrorCode(err); got != tt.want {
				t.Fatalf("ParseWebhook = %+v, %v; want code %q", hook, err, tt.want)
			}
			if err != nil {
				if fb.ErrorMessage(err) == "" || strings.Contains(err.Error(), hookSecret) {
					t.Errorf("error %v: want a message, without the secret", err)
				}
				return
			}
			if !equalRepos(hook.Repositories, tt.repos) || hook.Event == "" && tt.header.Get("X-Gitlab-Event") != "" {
				t.Errorf("hook = %+v, want event %q and repositories %+v", hook, tt.header.Get("X-Gitlab-Event"), tt.repos)
			}
		})
	}
}

func equalRepos(a, b []provider.HookRepository) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzParseWebhook feeds arbitrary deliveries to the parser, with the
// secret (signed) or another token: it must never panic, never accept a
// delivery without the secret, and name a repository only by a positive id
// or a path.
func FuzzParseWebhook(f *testing.F) {
	for _, name := range []string{"webhook_push.json", "webhook_tag_push.json", "webhook_merge_request.json",
		"webhook_system_push.json", "webhook_note.json"} {
		b := readFixture(f, name)
		f.Add("Push Hook", true, "", b)
		f.Add("Merge Request Hook", true, "", b)
		f.Add("System Hook", true, "", b)
		f.Add("Push Hook", false, hookSecret[:len(hookSecret)-1], b)
	}
	f.Add("Tag Push Hook", false, "", []byte(`{}`))
	f.Add("Push Hook", true, "", []byte(`{"project_id":1e3,"project":{"id":-1}}`))
	f.Add("Push Hook", true, "", []byte(`{"project_id":"12","project":null}`))
	f.Fuzz(func(t *testing.T, event string, signed bool, token string, body []byte) {
		if signed {
			token = hookSecret
		}
		hook, err := ParseWebhook(hookHeader(event, token), body, hookSecret)
		if token != hookSecret {
			if fb.ErrorCode(err) != fb.EUnauthenticated {
				t.Fatalf("token %q accepted: %+v, %v", token, hook, err)
			}
			return
		}
		if err != nil {
			if c := fb.ErrorCode(err); c != fb.EInvalid {
				t.Fatalf("error code %q for a delivery with the secret: %v", c, err)
			}
			return
		}
		for _, r := range hook.Repositories {
			if r.ExternalID == "" && r.FullName == "" || r.ExternalID != "" && (r.ExternalID[0] < '1' || r.ExternalID[0] > '9') {
				t.Fatalf("repository %+v from %q", r, body)
			}
		}
	})
}
