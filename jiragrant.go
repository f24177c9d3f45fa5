package forgebridge

import (
	"log/slog"
	"time"
)

// JiraGrant is a person's OAuth 2.0 grant from "Sign in with Jira": what
// lets forgebridge act in Jira as them (smart commits), never as the
// service account. The store keeps its tokens sealed, bound to UserKey. It
// never prints its tokens: String, GoString and LogValue are redacted.
type JiraGrant struct {
	UserKey      string // the Jira user key
	AccessToken  string
	RefreshToken string    // Jira Data Center rotates it at every refresh
	ExpiresAt    time.Time // of the access token
	Scope        string    // as Jira granted it, e.g. "WRITE"
	// RedirectURI is the callback the grant was made for: Jira asks for it
	// again with each refresh.
	RedirectURI string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (g JiraGrant) String() string       { return "forgebridge.JiraGrant{" + g.UserKey + ", [redacted]}" }
func (g JiraGrant) GoString() string     { return g.String() }
func (g JiraGrant) LogValue() slog.Value { return slog.StringValue(g.String()) }
