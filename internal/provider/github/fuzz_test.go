package github

import (
	"net/http"
	"net/url"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/providertest"
)

func FuzzAnswers(f *testing.F) {
	providertest.FuzzAnswers(f, func(baseURL string) (provider.Provider, error) {
		return New(fb.Integration{ID: "i1", Name: "fuzz", Kind: fb.KindGitHub, BaseURL: baseURL}, provider.Options{})
	}, fb.Credential{Token: "tok_secret_0123456789abcdefghijklmnopqrstuv"})
}

// FuzzParseWebhook checks that no delivery makes the parser panic, that it
// only ever answers EUnauthenticated or EInvalid, and that only a delivery
// signed with the secret can name repositories.
func FuzzParseWebhook(f *testing.F) {
	for _, c := range []struct{ event, file string }{
		{"push", "push.json"}, {"create", "create.json"}, {"delete", "delete.json"},
		{"pull_request", "pull_request.json"}, {"ping", "ping.json"},
	} {
		body := fixture(f, c.file)
		f.Add(c.event, "application/json", body, true, "")
		f.Add(c.event, "application/x-www-form-urlencoded", []byte(url.Values{"payload": {string(body)}}.Encode()), true, "")
		f.Add(c.event, "application/json", body, false, "sha256="+hmacHex("guess", body))
	}
	f.Add("push", "application/json", []byte(`{"repository":{"id":9223372036854775808,"full_name":"a/b"}}`), true, "")
	f.Add("push", "application/x-www-form-urlencoded", []byte("payload=%zz"), true, "")
	f.Add("", "", []byte{}, false, "sha256=")
	f.Fuzz(func(t *testing.T, event, contentType string, body []byte, sign bool, signature string) {
		h := http.Header{}
		h.Set("X-GitHub-Event", event)
		h.Set("Content-Type", contentType)
		if sign {
			signature = "sha256=" + hmacHex(hookSecret, body)
		}
		h.Set("X-Hub-Signature-256", signature)
		hook, err := ParseWebhook(h, body, hookSecret)
		switch code := fb.ErrorCode(err); {
		case err == nil:
		case code != fb.EUnauthenticated && code != fb.EInvalid:
			t.Fatalf("error code %s: %v", code, err)
		case len(hook.Repositories) > 0:
			t.Fatalf("an error (%v) with repositories %+v", err, hook.Repositories)
		}
		valid := signature == "sha256="+hmacHex(hookSecret, body)
		if !valid && fb.ErrorCode(err) != fb.EUnauthenticated {
			t.Fatalf("a delivery not signed with the secret was answered %v, %+v", err, hook)
		}
		for _, r := range hook.Repositories {
			if r.ExternalID == "" || r.FullName == "" {
				t.Fatalf("repository without id or name: %+v", r)
			}
		}
	})
}
