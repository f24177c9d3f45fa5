package app

import (
	"context"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the application's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	actions       *prometheus.CounterVec
	providerCalls *prometheus.CounterVec
	providerTime  *prometheus.HistogramVec
	webhooks      *prometheus.CounterVec
	jiraCalls     *prometheus.CounterVec
	jiraTime      *prometheus.HistogramVec
}

// NewMetrics registers the application's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "forgebridge_actions_total",
			Help: "Audited actions by action, actor type and outcome.",
		}, []string{"action", "actor", "outcome"}),
		providerCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "forgebridge_provider_calls_total",
			Help: "Provider operations by kind, operation and result code.",
		}, []string{"kind", "op", "code"}),
		providerTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "forgebridge_provider_call_seconds",
			Help:    "Duration of provider operations.",
			Buckets: prometheus.DefBuckets,
		}, []string{"kind", "op"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "forgebridge_webhook_deliveries_total",
			Help: "Authenticated webhook deliveries by kind and event.",
		}, []string{"kind", "event"}),
	}
	m.jiraCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "forgebridge_jira_calls_total",
		Help: "Calls to Jira (retries included in one call) by operation and outcome.",
	}, []string{"op", "outcome"})
	m.jiraTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "forgebridge_jira_call_seconds",
		Help:    "Duration of calls to Jira by operation and outcome.",
		Buckets: prometheus.DefBuckets,
	}, []string{"op", "outcome"})
	reg.MustRegister(m.actions, m.providerCalls, m.providerTime, m.webhooks, m.jiraCalls, m.jiraTime)
	return m
}

func (m *Metrics) action(action, actor, outcome string) {
	if m != nil {
		m.actions.WithLabelValues(action, actor, outcome).Inc()
	}
}

func (m *Metrics) webhook(kind, event string) {
	if m != nil {
		m.webhooks.WithLabelValues(kind, event).Inc()
	}
}

// JiraCall counts and times one call to Jira (jira.Config.Observe).
func (m *Metrics) JiraCall(op, outcome string, d time.Duration) {
	if m != nil {
		m.jiraCalls.WithLabelValues(op, outcome).Inc()
		m.jiraTime.WithLabelValues(op, outcome).Observe(d.Seconds())
	}
}

func (m *Metrics) observe(kind, op string, start time.Time, err error) {
	if m == nil {
		return
	}
	code := string(fb.ErrorCode(err))
	if code == "" {
		code = "ok"
	}
	m.providerCalls.WithLabelValues(kind, op, code).Inc()
	m.providerTime.WithLabelValues(kind, op).Observe(time.Since(start).Seconds())
}

// instrument wraps a provider so each operation is counted and timed.
func instrument(p provider.Provider, kind string, m *Metrics) provider.Provider {
	if m == nil {
		return p
	}
	return measured{p: p, kind: kind, m: m}
}

type measured struct {
	p    provider.Provider
	kind string
	m    *Metrics
}

func (x measured) Validate(ctx context.Context, c fb.Credential) (info fb.TokenInfo, err error) {
	start := time.Now()
	defer func() { x.m.observe(x.kind, "validate", start, err) }()
	return x.p.Validate(ctx, c)
}

func (x measured) Repositories(ctx context.Context, c fb.Credential) (r []fb.Repository, err error) {
	start := time.Now()
	defer func() { x.m.observe(x.kind, "repositories", start, err) }()
	return x.p.Repositories(ctx, c)
}

func (x measured) Branches(ctx context.Context, c fb.Credential, repo fb.Repository) (b []fb.Branch, err error) {
	start := time.Now()
	defer func() { x.m.observe(x.kind, "branches", start, err) }()
	return x.p.Branches(ctx, c, repo)
}

func (x measured) CreateBranch(ctx context.Context, c fb.Credential, repo fb.Repository, name, base string) (b fb.Branch, err error) {
	start := time.Now()
	defer func() { x.m.observe(x.kind, "create_branch", start, err) }()
	return x.p.CreateBranch(ctx, c, repo, name, base)
}

func (x measured) CreatePullRequest(ctx context.Context, c fb.Credential, repo fb.Repository, pr fb.NewPullRequest) (out fb.PullRequest, err error) {
	start := time.Now()
	defer func() { x.m.observe(x.kind, "create_pull_request", start, err) }()
	return x.p.CreatePullRequest(ctx, c, repo, pr)
}

// Unwrap gives the driver beneath, for its optional capabilities.
func (x measured) Unwrap() provider.Provider { return x.p }
