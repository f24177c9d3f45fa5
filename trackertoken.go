package forgebridge

import "context"

// trackerTokenKey is the context key of a person's own tracker token.
type trackerTokenKey struct{}

type trackerToken struct{ userKey, token string }

// WithTrackerToken returns ctx carrying the access token the person with
// that user key holds for the tracker (Jira's OAuth access token, from
// "Sign in with Jira"), so the tracker can ask about their permissions as
// them. It is never stored beyond the person's sealed session, nor logged.
func WithTrackerToken(ctx context.Context, userKey, token string) context.Context {
	if userKey == "" || token == "" {
		return ctx
	}
	return context.WithValue(ctx, trackerTokenKey{}, trackerToken{userKey: userKey, token: token})
}

// TrackerToken returns the tracker token ctx carries for the user with that key.
func TrackerToken(ctx context.Context, userKey string) (string, bool) {
	tt, ok := ctx.Value(trackerTokenKey{}).(trackerToken)
	if !ok || userKey == "" || tt.userKey != userKey {
		return "", false
	}
	return tt.token, true
}
