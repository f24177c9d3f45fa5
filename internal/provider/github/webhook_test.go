package github

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

const hookSecret = "It's a Secret to Everybody"

func hmacHex(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// delivery is how GitHub posts body for event, signed with secret.
func delivery(event, contentType string, body []byte, secret string) http.Header {
	h := http.Header{}
	h.Set("X-GitHub-Event", event)
	h.Set("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	h.Set("User-Agent", "GitHub-Hookshot/044aadd")
	h.Set("Content-Type", contentType)
	h.Set("X-Hub-Signature-256", "sha256="+hmacHex(secret, body))
	return h
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhook", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseWebhook(t *testing.T) {
	helloWorld := []provider.HookRepository{{ExternalID: "186853002", FullName: "Codertocat/Hello-World"}}
	push := fixture(t, "push.json")
	form := []byte(url.Values{"payload": {string(push)}}.Encode())
	const formType = "application/x-www-form-urlencoded"
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		secret string
		code   fb.Code
		repos  []provider.HookRepository
	}{
		{"push", delivery("push", "application/json", push, hookSecret), push, hookSecret, "", helloWorld},
		{"push as a form", delivery("push", formType, form, hookSecret), form, hookSecret, "", helloWorld},
		{"form with a charset", delivery("push", formType+"; charset=utf-8", form, hookSecret), form, hookSecret, "", helloWorld},
		{"create", delivery("create", "application/json", fixture(t, "create.json"), hookSecret), fixture(t, "create.json"), hookSecret, "", helloWorld},
		{"delete", delivery("delete", "application/json", fixture(t, "delete.json"), hookSecret), fixture(t, "delete.json"), hookSecret, "", helloWorld},
		{"pull request", delivery("pull_request", "application/json", fixture(t, "pull_request.json"), hookSecret),
			fixture(t, "pull_request.json"), hookSecret, "", helloWorld},
		{"ping", delivery("ping", "application/json", fixture(t, "ping.json"), hookSecret), fixture(t, "ping.json"), hookSecret, "", nil},
		{"an event not acted on", delivery("issues", "application/json", push, hookSecret), push, hookSecret, "", nil},

		{"wrong secret", delivery("push", "application/json", push, "guess"), push, hookSecret, fb.EUnauthenticated, nil},
		{"no signature", func() http.Header {
			h := delivery("push", "application/json", push, hookSecret)
			h.Del("X-Hub-Signature-256")
			return h
		}(), push, hookSecret, fb.EUnauthenticated, nil},
		{"only the SHA-1 signature", func() http.Header {
			h := delivery("push", "application/json", push, hookSecret)
			h.Del("X-Hub-Signature-256")
			mac := hmac.New(sha1.New, []byte(hookSecret))
			mac.Write(push)
			h.Set("X-Hub-Signature", "sha1="+hex.EncodeToString(mac.Sum(nil)))
			return h
		}(), push, hookSecret, fb.EUnauthenticated, nil},
		{"signature without its prefix", func() http.Header {
			h := delivery("push", "application/json", push, hookSecret)
			h.Set("X-Hub-Signature-256", hmacHex(hookSecret, push))
			return h
		}(), push, hookSecret, fb.EUnauthenticated, nil},
		{"signature not hex", func() http.Header {
			h := delivery("push", "application/json", push, hookSecret)
			h.Set("X-Hub-Signature-256", "sha256="+string(make([]byte, 64)))
			return h
		}(), push, hookSecret, fb.EUnauthenticated, nil},
		{"form signed over the payload instead of the raw body", delivery("push", formType, push, hookSecret), form, hookSecret, fb.EUnauthenticated, nil},
		{"body changed after signing", delivery("push", "application/json", push, hookSecret), append(slices.Clone(push), ' '), hookSecret, fb.EUnauthenticated, nil},
		{"no secret configured", delivery("push", "application/json", push, ""), push, "", fb.EUnauthenticated, nil},
		{"garbage, wrongly signed", delivery("push", "application/json", []byte("{"), "guess"), []byte("not json"), hookSecret, fb.EUnauthenticated, nil},

		{"garbage", delivery("push", "application/json", []byte("not json"), hookSecret), []byte("not json"), hookSecret, fb.EInvalid, nil},
		{"garbage ping", delivery("ping", "application/json", []byte("<html>"), hookSecret), []byte("<html>"), hookSecret, fb.EInvalid, nil},
		{"null", delivery("push", "application/json", []byte("null"), hookSecret), []byte("null"), hookSecret, fb.EInvalid, nil},
		{"a list", delivery("push", "application/json", []byte("[]"), hookSecret), []byte("[]"), hookSecret, fb.EInvalid, nil},
		{"push without a repository", delivery("push", "application/json", []byte(`{"ref":"refs/heads/main"}`), hookSecret),
			[]byte(`{"ref":"refs/heads/main"}`), hookSecret, fb.EInvalid, nil},
		{"repository id not a number", delivery("push", "application/json", []byte(`{"repository":{"id":true,"full_name":"a/b"}}`), hookSecret),
			[]byte(`{"repository":{"id":true,"full_name":"a/b"}}`), hookSecret, fb.EInvalid, nil},
		{"repository id fractional", delivery("push", "application/json", []byte(`{"repository":{"id":1.5,"full_name":"a/b"}}`), hookSecret),
			[]byte(`{"repository":{"id":1.5,"full_name":"a/b"}}`), hookSecret, fb.EInvalid, nil},
		{"form without payload", delivery("push", formType, []byte("x=1"), hookSecret), []byte("x=1"), hookSecret, fb.EInvalid, nil},
		{"no event header", func() http.Header {
			h := delivery("push", "application/json", push, hookSecret)
			h.Del("X-GitHub-Event")
			return h
		}(), push, hookSecret, fb.EInvalid, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hook, err := ParseWebhook(tt.header, tt.body, tt.secret)
			if got := fb.ErrorCode(err); got != tt.code {
				t.Fatalf("ParseWebhook: %v, want code %q", err, tt.code)
			}
			if err == nil && hook.Event != tt.header.Get("X-GitHub-Event") {
				t.Errorf("event %q", hook.Event)
			}
			if !slices.Equal(hook.Repositories, tt.repos) {
				t.Errorf("repositories %+v, want %+v", hook.Repositories, tt.repos)
			}
		})
	}
}

// TestParseFakeDeliveries reads the fake's deliveries, which name the
// repository by the id discovery records for it.
func TestParseFakeDeliveries(t *testing.T) {
	f, repo := newFake(t)
	n, err := repo.OpenPull("feature", "main", "PROJ-1 work", "", false)
	if err != nil {
		t.Fatal(err)
	}
	repos, err := newDriver(t, integration(fb.KindGitHub, f), f).Repositories(ctx, cred(goodToken))
	if err != nil {
		t.Fatal(err)
	}
	var app fb.Repository
	for _, r := range repos {
		if r.FullName == "acme/app" {
			app = r
		}
	}
	main, _ := repo.Branch("main")
	after, err := repo.Push("main", "PROJ-2 more")
	if err != nil {
		t.Fatal(err)
	}
	want := []provider.HookRepository{{ExternalID: app.ExternalID, FullName: "acme/app"}}
	for name, d := range map[string]func(string) (http.Header, []byte){
		"push":         func(s string) (http.Header, []byte) { return f.PushDelivery(repo, "refs/heads/main", main, after, s) },
		"pull_request": func(s string) (http.Header, []byte) { return f.PullRequestDelivery(repo, n, "opened", s) },
	} {
		h, body := d(hookSecret)
		hook, err := ParseWebhook(h, body, hookSecret)
		if err != nil || hook.Event != name || !slices.Equal(hook.Repositories, want) {
			t.Errorf("%s: %+v, %v; want %+v", name, hook, err, want)
		}
		if _, err := ParseWebhook(h, body, "another secret"); fb.ErrorCode(err) != fb.EUnauthenticated {
			t.Errorf("%s under another secret: %v", name, err)
		}
		h, body = d("")
		if _, err := ParseWebhook(h, body, hookSecret); fb.ErrorCode(err) != fb.EUnauthenticated {
			t.Errorf("%s unsigned: %v", name, err)
		}
	}
}
