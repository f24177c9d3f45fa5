package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
)

// waitFor polls until ok answers true; a deadline guards against a hang,
// it asserts no timing.
func (p *program) waitFor(what string, ok func() bool) {
	p.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			p.t.Fatalf("%s did not happen:\n%s", what, p.stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// deliver posts a webhook delivery as the host would, without forgebridge
// credentials.
func (p *program) deliver(integrationID string, h http.Header, body []byte) int {
	p.t.Helper()
	req, _ := http.NewRequest("POST", p.base+"/api/v1/webhooks/"+integrationID, bytes.NewReader(body))
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := p.client().Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (a answer) list_(path ...string) []any {
	var v any = a.body
	for _, k := range path {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	l, _ := v.([]any)
	return l
}

// inRepo returns the values of key in a list of objects of one repository.
func inRepo(l []any, key, repositoryID string) []string {
	var out []string
	for _, v := range l {
		if m, ok := v.(map[string]any); ok && m["repositoryId"] == repositoryID {
			s, _ := m[key].(string)
			out = append(out, s)
		}
	}
	return out
}

// TestProgramIndexEveryKind runs indexing through the whole program for
// every integration kind: the first index when the integration is created,
// a push straight to the host shown on the issue after the host's signed
// webhook, a branch deleted on the host leaving the issue, and deliveries
// that are refused.
func TestProgramIndexEveryKind(t *testing.T) {
	p := newProgram(t, map[string]string{"FORGEBRIDGE_REINDEX": "-1s"})
	admin, err := p.cli("", "users", "add", "admin", "--admin", "--create")
	if err != nil {
		t.Fatal(err)
	}
	admin = strings.TrimSpace(admin)
	p.serve()
	defer p.shutdown()
	p.must(p.call("POST", "/api/v1/directory/projects", admin, map[string]any{"key": "PROJ"}), 201, "project")
	p.must(p.call("PUT", "/api/v1/directory/projects/PROJ/permissions/admin", admin,
		map[string]any{"permissions": []string{"BROWSE_PROJECTS", "VIEW_DEV_TOOLS"}}), 200, "permissions")
	for _, key := range []string{"PROJ-1", "PROJ-2"} {
		p.must(p.call("POST", "/api/v1/directory/issues", admin, map[string]any{"key": key, "summary": "Work"}), 201, "issue")
	}

	for _, kc := range kindCases() {
		t.Run(kc.kind, func(t *testing.T) {
			defer kc.close()
			p := *p
			p.t = t
			secret := "whsec-" + kc.kind
			body := map[string]any{"name": "Indexed " + kc.kind, "kind": kc.kind, "webhookSecret": secret}
			for k, v := range kc.integration {
				body[k] = v
			}
			in := p.must(p.call("POST", "/api/v1/integrations", admin, body), 201, "create integration")
			id := in.str("id")
			if in.body["webhook"].(map[string]any)["secretConfigured"] != true ||
				!strings.HasSuffix(in.str("webhook", "url"), "/api/v1/webhooks/"+id) {
				t.Fatalf("webhook of the integration: %s", in.raw)
			}
			var repoID string
			for _, v := range p.must(p.call("GET", "/api/v1/repositories?q="+kc.repo, admin, nil), 200, "repositories").list_("values") {
				if r := v.(map[string]any); r["integrationId"] == id {
					repoID = r["id"].(string)
				}
			}
			// The integration's creation queued the first index.
			p.waitFor("the first index", func() bool {
				r := p.must(p.call("GET", "/api/v1/repositories/"+repoID, admin, nil), 200, "repository")
				if r.str("index", "state") == "failed" {
					t.Fatalf("first index failed: %s", r.raw)
				}
				return r.str("index", "state") == "indexed"
			})
			issue := p.must(p.call("GET", "/api/v1/issues/PROJ-1", admin, nil), 200, "issue")
			if !slices.Contains(inRepo(issue.list_("branches"), "name", repoID), "PROJ-1-feature") {
				t.Fatalf("the indexed branch PROJ-1-feature is not on PROJ-1: %s", issue.raw)
			}

			// Someone pushes straight to the host; its webhook brings it to the issue.
			sha, err := kc.push("main", "PROJ-2 pushed straight to the host")
			if err != nil {
				t.Fatal(err)
			}
			h, delivery := kc.deliver("refs/heads/main", strings.Repeat("0", 40), sha, "wrong-secret")
			if got := p.deliver(id, h, delivery); got != http.StatusUnauthorized {
				t.Fatalf("a delivery with the wrong secret answered %d, want 401", got)
			}
			if got := p.deliver("no-such-integration", h, delivery); got != http.StatusNotFound {
				t.Fatalf("a delivery for an unknown integration answered %d, want 404", got)
			}
			h, delivery = kc.deliver("refs/heads/main", strings.Repeat("0", 40), sha, secret)
			if got := p.deliver(id, h, delivery); got != http.StatusNoContent {
				t.Fatalf("the host's delivery answered %d, want 204", got)
			}
			p.waitFor("the pushed commit on PROJ-2", func() bool {
				is := p.must(p.call("GET", "/api/v1/issues/PROJ-2", admin, nil), 200, "issue")
				return slices.Contains(inRepo(is.list_("commits", "values"), "sha", repoID), sha)
			})
			commits := p.must(p.call("GET", "/api/v1/issues/PROJ-2/commits", admin, nil), 200, "commits")
			found := false
			for _, v := range commits.list_("values") {
				c := v.(map[string]any)
				if c["sha"] == sha && c["repositoryId"] == repoID {
					found = c["message"] == "PROJ-2 pushed straight to the host" && c["repositoryId"] == repoID && c["webUrl"] != ""
				}
			}
			if !found {
				t.Fatalf("PROJ-2 commits lack %s with its message, repository and address: %s", sha, commits.raw)
			}

			// The branch is deleted on the host: it leaves the issue.
			if err := kc.deleteBranch("PROJ-1-feature"); err != nil {
				t.Fatal(err)
			}
			h, delivery = kc.deliver("refs/heads/PROJ-1-feature", sha, strings.Repeat("0", 40), secret)
			if got := p.deliver(id, h, delivery); got != http.StatusNoContent {
				t.Fatalf("the deletion's delivery answered %d, want 204", got)
			}
			p.waitFor("the deleted branch leaving PROJ-1", func() bool {
				is := p.must(p.call("GET", "/api/v1/issues/PROJ-1", admin, nil), 200, "issue")
				return !slices.Contains(inRepo(is.list_("branches"), "name", repoID), "PROJ-1-feature")
			})
		})
	}
}

// TestProgramWebhookDeliveries checks what a GitHub delivery is answered
// with: a ping, a signed body that is not JSON, a delivery over 25 MB, and
// a wrong signature, none of which queues anything.
func TestProgramWebhookDeliveries(t *testing.T) {
	gh := fakegithub.New()
	defer gh.Close()
	gh.AddToken("ghp_svc", fakegithub.Token{Login: "bot", Scopes: []string{"repo"}})
	gh.AddRepo("acme/app", "main")
	p := newProgram(t, map[string]string{"FORGEBRIDGE_REINDEX": "-1s"})
	admin, err := p.cli("", "users", "add", "admin", "--admin", "--create")
	if err != nil {
		t.Fatal(err)
	}
	admin = strings.TrimSpace(admin)
	p.serve()
	defer p.shutdown()
	in := p.must(p.call("POST", "/api/v1/integrations", admin, map[string]any{"name": "GH", "kind": "github",
		"baseUrl": gh.URL(), "credential": map[string]any{"token": "ghp_svc"}}), 201, "integration")
	id := in.str("id")
	secret := p.must(p.call("POST", "/api/v1/integrations/"+id+"/webhook-secret", admin, nil), 200, "new secret").str("secret")
	if len(secret) < 32 {
		t.Fatalf("secret %q", secret)
	}
	signed := func(event string, body []byte) http.Header {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		return http.Header{"X-Github-Event": {event}, "Content-Type": {"application/json"},
			"X-Hub-Signature-256": {"sha256=" + hex.EncodeToString(mac.Sum(nil))}}
	}
	for _, tc := range []struct {
		name   string
		header http.Header
		body   []byte
		want   int
	}{
		{"ping", signed("ping", []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`)), []byte(`{"zen":"Keep it logically awesome.","hook_id":1}`), 204},
		{"signed garbage", signed("push", []byte("not json")), []byte("not json"), 400},
		{"wrong signature", signed("push", []byte(`{}`)), []byte(`{"repository":{"id":1}}`), 401},
		{"no signature", http.Header{"X-Github-Event": {"push"}}, []byte(`{}`), 401},
		{"over 25 MB", signed("push", nil), bytes.Repeat([]byte("x"), 25_000_001), 413},
	} {
		if got := p.deliver(id, tc.header, tc.body); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
