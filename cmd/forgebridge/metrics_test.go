package main

import (
	"strings"
	"testing"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/jira/fakejira"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape reads /metrics as Prometheus would.
func (p *program) scrape() map[string]*dto.MetricFamily {
	p.t.Helper()
	a := p.must(p.call("GET", "/metrics", "", nil), 200, "metrics")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(a.raw))
	if err != nil {
		p.t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return fams
}

// metricValue is the value of the sample of name whose labels include
// labels ("k=v" each): a gauge's or counter's value, a histogram's count;
// found is false when there is none.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels ...string) (v float64, found bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		match := true
		for _, kv := range labels {
			k, want, _ := strings.Cut(kv, "=")
			if have[k] != want {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetricsFollowTheState scrapes /metrics of a running program with the
// Jira tracker while the state changes, on both databases: calls to Jira by
// outcome, tokens expiring within 7 days, the job queue by kind and state,
// and the indexing state and lag of a repository.
func TestMetricsFollowTheState(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			env := map[string]string{"FORGEBRIDGE_JIRA_TOKEN": "jira-svc-token", "FORGEBRIDGE_REINDEX": "-1s"}
			if db == "postgres" {
				env["FORGEBRIDGE_DATABASE"] = storetest.NewPostgresDatabase(t)
			}
			testMetricsFollowTheState(t, newProgram(t, env))
		})
	}
}

func testMetricsFollowTheState(t *testing.T, p *program) {
	jr := fakejira.New()
	defer jr.Close()
	jr.AddUser(fakejira.User{Name: "svc", Active: true, Groups: []string{"jira-administrators"}, Token: "jira-svc-token"})
	jr.AddUser(fakejira.User{Name: "root", Active: true, Groups: []string{"jira-administrators"}, Token: "jira-root-token"})
	jr.AddUser(fakejira.User{Name: "alice", Active: true, Token: "jira-alice-token"})
	jr.AddProject("PROJ", "Project")
	jr.AddIssue("PROJ-7", "Make checkout faster", "Story")
	jr.Grant("svc", "PROJ", "BROWSE_PROJECTS", "LINK_ISSUES")
	jr.Grant("alice", "PROJ", "BROWSE_PROJECTS", "VIEW_DEV_TOOLS")

	gh := fakegithub.New()
	defer gh.Close()
	soon := time.Now().Add(3 * 24 * time.Hour)
	later := time.Now().Add(30 * 24 * time.Hour)
	gh.AddToken("ghp_svc", fakegithub.Token{Login: "acme-bot", Scopes: []string{"repo"}})
	gh.AddToken("ghp_alice_soon", fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}, ExpiresAt: &soon})
	gh.AddToken("ghp_root_later", fakegithub.Token{Login: "root-gh", Scopes: []string{"repo"}, ExpiresAt: &later})
	repo := gh.AddRepo("acme/shop", "main")
	repo.AddBranch("PROJ-7-started")

	p.serve("--tracker", "jira", "--jira-url", jr.URL())
	defer p.shutdown()

	m := p.scrape()
	if v, _ := metricValue(m, "forgebridge_jira_calls_total", "op=myself", "outcome=ok"); v < 1 {
		t.Fatalf("the start-up check of the service token is not counted: %v", v)
	}
	if _, found := metricValue(m, "forgebridge_jira_calls_total", "op=myself", "outcome=rejected"); found {
		t.Fatal("a rejected call counted before any")
	}
	if v, _ := metricValue(m, "forgebridge_state_read_ok"); v != 1 {
		t.Fatalf("forgebridge_state_read_ok = %v, want 1", v)
	}
	for _, typ := range []string{"user_token", "api_token"} {
		if v, _ := metricValue(m, "forgebridge_tokens_expiring", "type="+typ); v != 0 {
			t.Fatalf("%s expiring before any was saved: %v", typ, v)
		}
	}

	// A token Jira rejects counts as rejected, and its latency is observed.
	p.mustErr(p.call("POST", "/api/v1/session/jira", "", map[string]any{"token": "wrong"}), 401, "unauthenticated", "bad Jira token")
	session := func(token string) string {
		return p.must(p.call("POST", "/api/v1/session/jira", "", map[string]any{"token": token}), 200, "session").str("apiToken")
	}
	root, alice := session("jira-root-token"), session("jira-alice-token")
	m = p.scrape()
	if v, _ := metricValue(m, "forgebridge_jira_calls_total", "op=myself", "outcome=rejected"); v != 1 {
		t.Fatalf("rejected /myself calls = %v, want 1", v)
	}
	if v, _ := metricValue(m, "forgebridge_jira_call_seconds", "op=myself", "outcome=rejected"); v != 1 {
		t.Fatalf("rejected /myself durations observed = %v, want 1", v)
	}
	// Jira down: the readiness probe's calls count as unavailable.
	jr.SetDown(true)
	p.call("GET", "/api/v1/issues/PROJ-7", alice, nil)
	jr.SetDown(false)
	if v, _ := metricValue(p.scrape(), "forgebridge_jira_calls_total", "outcome=unavailable"); v < 1 {
		t.Fatalf("calls while Jira was down are not counted as unavailable: %v", v)
	}

	// The integration's repository is pending, then indexed.
	in := p.must(p.call("POST", "/api/v1/integrations", root, map[string]any{"name": "GH", "kind": "github", "baseUrl": gh.URL(),
		"credential": map[string]any{"token": "ghp_svc"}}), 201, "integration")
	integrationID := in.str("id")
	m = p.scrape()
	var total float64
	for _, s := range []string{"pending", "queued", "indexing", "indexed", "failed"} {
		v, _ := metricValue(m, "forgebridge_index_repositories", "state="+s)
		total += v
	}
	if total != 1 {
		t.Fatalf("forgebridge_index_repositories sums to %v, want the 1 repository", total)
	}
	if v, _ := metricValue(m, "forgebridge_jobs", "kind=index"); v < 1 {
		t.Fatalf("the first index run is not among the jobs: %v", v)
	}
	p.waitFor("the first index in the metrics", func() bool {
		m := p.scrape()
		_, aged := metricValue(m, "forgebridge_index_age_seconds")
		n, _ := metricValue(m, "forgebridge_index_repositories", "state=indexed")
		// River marks the job completed a moment after the run stored its state.
		done, _ := metricValue(m, "forgebridge_jobs", "kind=index", "state=completed")
		return aged && n == 1 && done >= 1
	})
	m = p.scrape()
	if _, waiting := metricValue(m, "forgebridge_index_waiting_seconds"); waiting {
		t.Fatal("an index run still waits after the index completed")
	}

	// Tokens: a user token expiring in 3 days counts, one in 30 days does
	// not, nor do sign-in sessions; an API token expiring in 5 days counts.
	p.must(p.call("PUT", "/api/v1/me/tokens/"+integrationID, alice, map[string]any{"token": "ghp_alice_soon"}), 200, "alice's token")
	p.must(p.call("PUT", "/api/v1/me/tokens/"+integrationID, root, map[string]any{"token": "ghp_root_later"}), 200, "root's token")
	p.must(p.call("POST", "/api/v1/me/api-tokens", alice, map[string]any{"name": "ci", "expiresInDays": 5}), 201, "API token in 5 days")
	p.must(p.call("POST", "/api/v1/me/api-tokens", alice, map[string]any{"name": "ci-long", "expiresInDays": 60}), 201, "API token in 60 days")
	m = p.scrape()
	if v, _ := metricValue(m, "forgebridge_tokens_expiring", "type=user_token", "kind=github"); v != 1 {
		t.Fatalf("user tokens expiring within 7 days = %v, want 1", v)
	}
	if v, _ := metricValue(m, "forgebridge_tokens_expiring", "type=api_token"); v != 1 {
		t.Fatalf("API tokens expiring within 7 days = %v, want 1", v)
	}
	// A removed token no longer counts.
	p.must(p.call("PUT", "/api/v1/me/tokens/"+integrationID, alice, map[string]any{"token": ""}), 200, "remove alice's token")
	if v, _ := metricValue(p.scrape(), "forgebridge_tokens_expiring", "type=user_token", "kind=github"); v != 0 {
		t.Fatalf("user tokens expiring after the removal = %v, want 0", v)
	}
}
