package codecommit

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/providertest"
)

const hookSecret = "s3cr3t-webhook-value"

// apiDestination is what an EventBridge API destination sends besides the body.
func apiDestination(secret string) http.Header {
	h := http.Header{}
	h.Set("User-Agent", "Amazon/EventBridge/ApiDestinations")
	h.Set("Content-Type", "application/json; charset=utf-8")
	if secret != "" {
		h.Set(SecretHeader, secret)
	}
	return h
}

// TestWebhookFixtures reads AWS's documented example events (testdata/
// webhook_*.json) and compares the hooks with their golden files.
func TestWebhookFixtures(t *testing.T) {
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "webhook_*.json"))
	if len(fixtures) < 9 {
		t.Fatalf("found %d webhook fixtures", len(fixtures))
	}
	for _, path := range fixtures {
		t.Run(filepath.Base(path), func(t *testing.T) {
			body, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			hook, err := ParseWebhook(apiDestination(hookSecret), body, hookSecret)
			if err != nil {
				t.Fatalf("ParseWebhook: %v", err)
			}
			providertest.Golden(t, path+".golden", hook, *update)
		})
	}
}

func TestWebhookTable(t *testing.T) {
	refCreated, err := os.ReadFile(filepath.Join("testdata", "webhook_reference_created.json"))
	if err != nil {
		t.Fatal(err)
	}
	event := func(detailType, source, detail string) string {
		return `{"version":"0","id":"e-1","detail-type":"` + detailType + `","source":"` + source +
			`","account":"123456789012","time":"2024-01-01T00:00:00Z","region":"eu-west-1","resources":[],"detail":` + detail + `}`
	}
	tests := []struct {
		name   string
		header http.Header
		body   string
		secret string
		want   fb.Code
		repos  []provider.HookRepository
	}{
		{"branch created", apiDestination(hookSecret), string(refCreated), hookSecret, "",
			[]provider.HookRepository{{ExternalID: "12345678-1234-5678-abcd-12345678abcd", FullName: "MyDemoRepo"}}},
		{"no secret header", apiDestination(""), string(refCreated), hookSecret, fb.EUnauthenticated, nil},
		{"wrong secret", apiDestination("s3cr3t-webhook-valuX"), string(refCreated), hookSecret, fb.EUnauthenticated, nil},
		{"secret in another header", http.Header{"Authorization": {hookSecret}}, string(refCreated), hookSecret, fb.EUnauthenticated, nil},
		{"longer secret", apiDestination(hookSecret + "x"), string(refCreated), hookSecret, fb.EUnauthenticated, nil},
		{"no secret configured", apiDestination(""), string(refCreated), "", fb.EUnauthenticated, nil},
		{"wrong secret before a bad body", apiDestination("nope"), "not json", hookSecret, fb.EUnauthenticated, nil},
		{"not JSON", apiDestination(hookSecret), "not json", hookSecret, fb.EInvalid, nil},
		{"empty body", apiDestination(hookSecret), "", hookSecret, fb.EInvalid, nil},
		{"JSON array", apiDestination(hookSecret), `[]`, hookSecret, fb.EInvalid, nil},
		{"not an event", apiDestination(hookSecret), `{"ref":"refs/heads/main"}`, hookSecret, fb.EInvalid, nil},
		{"detail not an object", apiDestination(hookSecret), event("CodeCommit Repository State Change", "aws.codecommit", `"x"`),
			hookSecret, fb.EInvalid, nil},
		{"reference event without a repository", apiDestination(hookSecret),
			event("CodeCommit Repository State Change", "aws.codecommit", `{"event":"referenceUpdated"}`), hookSecret, fb.EInvalid, nil},
		{"repository id not a string", apiDestination(hookSecret),
			event("CodeCommit Repository State Change", "aws.codecommit", `{"event":"referenceUpdated","repositoryId":7}`),
			hookSecret, fb.EInvalid, nil},
		{"pull request event without repositories", apiDestination(hookSecret),
			event("CodeCommit Pull Request State Change", "aws.codecommit", `{"event":"pullRequestCreated","repositoryNames":[]}`),
			hookSecret, fb.EInvalid, nil},
		{"pull request event in two repositories", apiDestination(hookSecret),
			event("CodeCommit Pull Request State Change", "aws.codecommit",
				`{"event":"pullRequestSourceBranchUpdated","pullRequestId":"3","repositoryNames":["a","b","a"]}`),
			hookSecret, "", []provider.HookRepository{{FullName: "a"}, {FullName: "b"}}},
		{"other service", apiDestination(hookSecret),
			event("CodeCommit Repository State Change", "aws.codebuild", `{"event":"referenceUpdated","repositoryName":"x"}`),
			hookSecret, "", nil},
		{"other detail type", apiDestination(hookSecret),
			event("CodeCommit Approval Rule Template Change", "aws.codecommit", `{"event":"approvalRuleTemplateCreated","repositories":{}}`),
			hookSecret, "", nil},
		{"unknown detail event", apiDestination(hookSecret),
			event("CodeCommit Repository State Change", "aws.codecommit", `{"event":42,"repositoryName":"x"}`), hookSecret, "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hook, err := ParseWebhook(tc.header, []byte(tc.body), tc.secret)
			if fb.ErrorCode(err) != tc.want || (tc.want == "" && err != nil) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if err != nil && (strings.Contains(fb.ErrorMessage(err), hookSecret) || fb.ErrorMessage(err) == "") {
				t.Errorf("message %q", fb.ErrorMessage(err))
			}
			if providertest.JSON(hook.Repositories) != providertest.JSON(tc.repos) {
				t.Errorf("repositories %s, want %s", providertest.JSON(hook.Repositories), providertest.JSON(tc.repos))
			}
		})
	}
}

// The fake's deliveries are what EventBridge sends; ParseWebhook names the
// repository as discovery records it (ExternalID is the repositoryId).
func TestWebhookFromFakeDeliveries(t *testing.T) {
	w := newWorld(t)
	repo := w.repo(t, "app")
	main, _ := w.app.Branch("main")
	sha, err := w.app.Push("PROJ-1-x", "PROJ-1 start\n")
	if err != nil {
		t.Fatal(err)
	}
	id, err := w.app.OpenPull("PROJ-1-x", "main", "PROJ-1 x", "")
	if err != nil {
		t.Fatal(err)
	}
	byID := []provider.HookRepository{{ExternalID: repo.ExternalID, FullName: repo.FullName}}
	byName := []provider.HookRepository{{FullName: repo.FullName}}
	type delivery struct {
		name, event string
		header      http.Header
		body        []byte
		wantRepos   []provider.HookRepository
	}
	var tests []delivery
	h, b := w.fake.PushDelivery(w.app, "refs/heads/PROJ-1-x", "", sha, hookSecret)
	tests = append(tests, delivery{"branch created", "referenceCreated", h, b, byID})
	h, b = w.fake.PushDelivery(w.app, "refs/heads/main", main, sha, hookSecret)
	tests = append(tests, delivery{"branch updated", "referenceUpdated", h, b, byID})
	h, b = w.fake.PushDelivery(w.app, "refs/tags/v1", sha, "0000000000000000000000000000000000000000", hookSecret)
	tests = append(tests, delivery{"tag deleted", "referenceDeleted", h, b, byID})
	for _, ev := range []string{"pullRequestCreated", "pullRequestStatusChanged", "pullRequestMergeStatusUpdated"} {
		h, b = w.fake.PullRequestDelivery(w.app, id, ev, hookSecret)
		tests = append(tests, delivery{ev, ev, h, b, byName})
	}
	h, b = w.fake.PullRequestDelivery(w.app, id, "pullRequestApprovalStateChanged", hookSecret)
	tests = append(tests, delivery{"approval", "pullRequestApprovalStateChanged", h, b, nil})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.header.Get("User-Agent") != "Amazon/EventBridge/ApiDestinations" {
				t.Errorf("headers %v", tc.header)
			}
			hook, err := ParseWebhook(tc.header, tc.body, hookSecret)
			if err != nil {
				t.Fatal(err)
			}
			if hook.Event != tc.event || providertest.JSON(hook.Repositories) != providertest.JSON(tc.wantRepos) {
				t.Errorf("hook %+v, want %s on %v", hook, tc.event, tc.wantRepos)
			}
			if _, err := ParseWebhook(tc.header, tc.body, "another-secret"); fb.ErrorCode(err) != fb.EUnauthenticated {
				t.Errorf("with another secret: %v", err)
			}
		})
	}
}

// FuzzParseWebhook: whatever arrives, ParseWebhook answers a hook or one of
// its two errors, never panics, and accepts nothing without the secret.
func FuzzParseWebhook(f *testing.F) {
	fixtures, _ := filepath.Glob(filepath.Join("testdata", "webhook_*.json"))
	for _, path := range fixtures {
		body, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body, hookSecret)
	}
	f.Add([]byte(`{"version":"0","id":"1","detail-type":"CodeCommit Pull Request State Change","source":"aws.codecommit","detail":{"event":"pullRequestCreated","repositoryNames":[null,""]}}`), hookSecret)
	f.Add([]byte(`{"detail":{}}`), "")
	f.Add([]byte("\x00\xff"), "wrong")
	f.Fuzz(func(t *testing.T, body []byte, sent string) {
		hook, err := ParseWebhook(apiDestination(sent), body, hookSecret)
		switch code := fb.ErrorCode(err); {
		case sent != hookSecret:
			if code != fb.EUnauthenticated {
				t.Fatalf("secret %q accepted: %v", sent, err)
			}
		case err != nil:
			if code != fb.EInvalid {
				t.Fatalf("error %v, want %s", err, fb.EInvalid)
			}
		default:
			for _, r := range hook.Repositories {
				if r.ExternalID == "" && r.FullName == "" {
					t.Fatalf("hook %+v names a repository by nothing", hook)
				}
			}
		}
	})
}
