package azure_test

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/azure"
)

const hookSecret = "whsec-3a9f1c7e5b2d48e0"

func basicAuth(user, password string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+password)))
	return h
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseWebhook reads Microsoft's documented service hook events
// (testdata/hook_*.json) and what the authentication must refuse.
func TestParseWebhook(t *testing.T) {
	svcRepo := provider.HookRepository{ExternalID: "278d5cd2-584d-4b63-824a-2ba458937249", FullName: "Fabrikam/Fabrikam-Fiber-Git"}
	good := basicAuth("azure-devops", hookSecret)
	tests := []struct {
		name   string
		header http.Header
		body   []byte
		secret string
		want   provider.Hook
		code   fb.Code
	}{
		{"push", good, fixture(t, "hook_git_push.json"), hookSecret,
			provider.Hook{Event: "git.push", Repositories: []provider.HookRepository{svcRepo}}, ""},
		{"pull request created", good, fixture(t, "hook_git_pullrequest_created.json"), hookSecret,
			provider.Hook{Event: "git.pullrequest.created", Repositories: []provider.HookRepository{svcRepo}}, ""},
		{"pull request merged", good, fixture(t, "hook_git_pullrequest_merged.json"), hookSecret,
			provider.Hook{Event: "git.pullrequest.merged", Repositories: []provider.HookRepository{svcRepo}}, ""},
		{"pull request updated on a TFS", good, fixture(t, "hook_git_pullrequest_updated.json"), hookSecret,
			provider.Hook{Event: "git.pullrequest.updated", Repositories: []provider.HookRepository{
				{ExternalID: "4bc14d40-c903-45e2-872e-0462c7748079", FullName: "Retail Web/Catalogue"}}}, ""},
		{"another event", good, fixture(t, "hook_tfvc_checkin.json"), hookSecret,
			provider.Hook{Event: "tfvc.checkin"}, ""},
		{"any user name", basicAuth("", hookSecret), fixture(t, "hook_git_push.json"), hookSecret,
			provider.Hook{Event: "git.push", Repositories: []provider.HookRepository{svcRepo}}, ""},
		{"name only", good, []byte(`{"eventType":"git.push","resource":{"repository":{"name":"web","project":{"name":"Shop"}}}}`), hookSecret,
			provider.Hook{Event: "git.push", Repositories: []provider.HookRepository{{FullName: "Shop/web"}}}, ""},

		{"wrong secret", basicAuth("azure-devops", "whsec-other"), fixture(t, "hook_git_push.json"), hookSecret, provider.Hook{}, fb.EUnauthenticated},
		{"secret as the user name", basicAuth(hookSecret, ""), fixture(t, "hook_git_push.json"), hookSecret, provider.Hook{}, fb.EUnauthenticated},
		{"secret with more", basicAuth("u", hookSecret+"x"), fixture(t, "hook_git_push.json"), hookSecret, provider.Hook{}, fb.EUnauthenticated},
		{"no authentication", http.Header{}, fixture(t, "hook_git_push.json"), hookSecret, provider.Hook{}, fb.EUnauthenticated},
		{"bearer", http.Header{"Authorization": {"Bearer " + hookSecret}}, fixture(t, "hook_git_push.json"), hookSecret, provider.Hook{}, fb.EUnauthenticated},
		{"not base64", http.Header{"Authorization": {"Basic " + hookSecret}}, fixture(t, "hook_git_push.json"), hookSecret, provider.Hook{}, fb.EUnauthenticated},
		{"no secret configured", basicAuth("u", ""), fixture(t, "hook_git_push.json"), "", provider.Hook{}, fb.EUnauthenticated},
		{"unauthenticated before parsing", http.Header{}, []byte(`not json`), hookSecret, provider.Hook{}, fb.EUnauthenticated},

		{"not JSON", good, []byte(`eventType=git.push`), hookSecret, provider.Hook{}, fb.EInvalid},
		{"empty", good, nil, hookSecret, provider.Hook{}, fb.EInvalid},
		{"array", good, []byte(`[{"eventType":"git.push"}]`), hookSecret, provider.Hook{}, fb.EInvalid},
		{"no event type", good, []byte(`{"resource":{}}`), hookSecret, provider.Hook{}, fb.EInvalid},
		{"push without repository", good, []byte(`{"eventType":"git.push","resource":{"refUpdates":[]}}`), hookSecret, provider.Hook{}, fb.EInvalid},
		{"push without resource", good, []byte(`{"eventType":"git.push"}`), hookSecret, provider.Hook{}, fb.EInvalid},
		{"repository of another shape", good, []byte(`{"eventType":"git.push","resource":{"repository":"api"}}`), hookSecret, provider.Hook{}, fb.EInvalid},
		{"repository without id or name", good, []byte(`{"eventType":"git.pullrequest.created","resource":{"repository":{"project":{"name":"P"}}}}`), hookSecret, provider.Hook{}, fb.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := azure.ParseWebhook(tt.header, tt.body, tt.secret)
			if fb.ErrorCode(err) != tt.code || (err != nil && fb.ErrorMessage(err) == "") {
				t.Fatalf("ParseWebhook = %+v, %v; want code %q", got, err, tt.code)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("hook = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestFakeDeliveries: the fake's deliveries name the repository as
// discovery records it.
func TestFakeDeliveries(t *testing.T) {
	w := newWorld(t)
	p := newProvider(t, fb.Integration{Kind: fb.KindAzureDevOps, BaseURL: w.fake.URL()})
	repo := apiRepo(t, p)
	before, _ := w.api.Branch("feature/login")
	after, err := w.api.Push("feature/login", "PROJ-7 Remember the user\n")
	if err != nil {
		t.Fatal(err)
	}
	pr, err := w.api.OpenPull("feature/login", "main", "PROJ-7 Remember me", "", false)
	if err != nil {
		t.Fatal(err)
	}
	want := []provider.HookRepository{{ExternalID: repo.ExternalID, FullName: repo.FullName}}
	deliveries := map[string]func() (http.Header, []byte){
		"git.push": func() (http.Header, []byte) {
			return w.fake.PushDelivery(w.api, "refs/heads/feature/login", before, after, hookSecret)
		},
	}
	for _, ev := range []string{"git.pullrequest.created", "git.pullrequest.updated", "git.pullrequest.merged"} {
		deliveries[ev] = func() (http.Header, []byte) { return w.fake.PullRequestDelivery(w.api, pr, ev, hookSecret) }
	}
	for event, deliver := range deliveries {
		t.Run(event, func(t *testing.T) {
			h, body := deliver()
			hook, err := azure.ParseWebhook(h, body, hookSecret)
			if err != nil || hook.Event != event || !reflect.DeepEqual(hook.Repositories, want) {
				t.Errorf("ParseWebhook = %+v, %v; want %s naming %+v", hook, err, event, want)
			}
			if _, err := azure.ParseWebhook(h, body, "another-secret"); fb.ErrorCode(err) != fb.EUnauthenticated {
				t.Errorf("with another secret: %v, want %s", err, fb.EUnauthenticated)
			}
		})
	}
}

// FuzzParseWebhook: whatever the header and body, the parser answers a hook
// only to the secret, and only with repositories it can name.
func FuzzParseWebhook(f *testing.F) {
	good := "Basic " + base64.StdEncoding.EncodeToString([]byte("azure-devops:"+hookSecret))
	for _, name := range []string{"hook_git_push.json", "hook_git_pullrequest_created.json", "hook_git_pullrequest_merged.json",
		"hook_git_pullrequest_updated.json", "hook_tfvc_checkin.json"} {
		f.Add(good, fixture(f, name))
	}
	f.Add(good, []byte(`{"eventType":"git.push","resource":{"repository":{"id":"x","name":"r","project":{"name":"p"}}}}`))
	f.Add(good, []byte(`{"eventType":"git.push","resource":null}`))
	f.Add(good, []byte(`{"eventType":7}`))
	f.Add("Basic "+base64.StdEncoding.EncodeToString([]byte(hookSecret)), []byte(`{"eventType":"git.push"}`))
	f.Add("Basic Og==", []byte(`{}`))
	f.Add("", []byte(`{"eventType":"git.push","resource":{"repository":{"id":"x"}}}`))
	f.Fuzz(func(t *testing.T, auth string, body []byte) {
		h := http.Header{"Authorization": {auth}}
		hook, err := azure.ParseWebhook(h, body, hookSecret)
		_, password, ok := (&http.Request{Header: h}).BasicAuth()
		authentic := ok && password == hookSecret
		switch code := fb.ErrorCode(err); {
		case !authentic && code != fb.EUnauthenticated:
			t.Fatalf("answered %+v, %v to a delivery without the secret", hook, err)
		case authentic && code != "" && code != fb.EInvalid:
			t.Fatalf("unexpected error %v", err)
		case err != nil && (fb.ErrorMessage(err) == "" || strings.Contains(err.Error(), hookSecret)):
			t.Fatalf("error %q lacks a message or shows the secret", err)
		case err != nil && (hook.Event != "" || hook.Repositories != nil):
			t.Fatalf("error %v with a hook %+v", err, hook)
		}
		if err == nil && hook.Event == "" {
			t.Fatal("a hook without its event")
		}
		for _, r := range hook.Repositories {
			if r.ExternalID == "" && r.FullName == "" {
				t.Fatalf("repository named neither by id nor by name: %+v", hook)
			}
		}
	})
}
