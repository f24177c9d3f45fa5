package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/tracker/jira"
)

// jiraToken reads the Jira service account's token from the environment or
// from the file FORGEBRIDGE_JIRA_TOKEN_FILE names; never from a flag.
func jiraToken(getenv func(string) string) (string, error) {
	if t := getenv("FORGEBRIDGE_JIRA_TOKEN"); t != "" {
		return strings.TrimSpace(t), nil
	}
	if f := getenv("FORGEBRIDGE_JIRA_TOKEN_FILE"); f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("cannot read FORGEBRIDGE_JIRA_TOKEN_FILE: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return "", fmt.Errorf("the Jira tracker needs the service account's personal access token in FORGEBRIDGE_JIRA_TOKEN or FORGEBRIDGE_JIRA_TOKEN_FILE")
}

// openJira connects to Jira and checks the service token before serving.
func openJira(ctx context.Context, getenv func(string) string, baseURL string) (*jira.Tracker, error) {
	if baseURL == "" {
		return nil, fmt.Errorf("--tracker jira needs --jira-url (or FORGEBRIDGE_JIRA_URL)")
	}
	token, err := jiraToken(getenv)
	if err != nil {
		return nil, err
	}
	jt, err := jira.New(jira.Config{BaseURL: baseURL, ServiceToken: token, AdminGroup: getenv("FORGEBRIDGE_JIRA_ADMIN_GROUP")})
	if err != nil {
		return nil, err
	}
	if _, err := jt.Check(ctx); err != nil {
		return nil, fmt.Errorf("Jira at %s: %s", baseURL, message(err))
	}
	return jt, nil
}

// withLocalAccounts is the Jira tracker plus the accounts made with
// `users add` (administrators who need no Jira account): a user key known
// locally is that local account, any other is Jira's.
type withLocalAccounts struct {
	*jira.Tracker
	local fb.Store
}

func (t withLocalAccounts) User(ctx context.Context, key string) (fb.User, error) {
	u, err := t.local.User(ctx, key)
	if fb.ErrorCode(err) == fb.ENotFound {
		return t.Tracker.User(ctx, key)
	}
	return u, err
}

// jiraLinker writes links to created branches and pull requests as Jira remote links.
type jiraLinker struct{ t *jira.Tracker }

func (l jiraLinker) LinkIssue(ctx context.Context, issueKey string, in app.IssueLink) error {
	return l.t.AddRemoteLink(ctx, issueKey, jira.RemoteLink{GlobalID: in.GlobalID, URL: in.URL, Title: in.Title,
		Summary: in.Summary, Resolved: in.Resolved})
}
