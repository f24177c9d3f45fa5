package forgebridge

import "time"

// What /metrics reports of the state kept in the database, read afresh at
// each scrape so that every instance reports the same values.

// TokenCount is how many saved tokens of one type, and for user tokens one
// integration kind, expire within a period.
type TokenCount struct {
	Type  string // "user_token" (a person's provider token) or "api_token" (not sign-in sessions)
	Kind  string // the integration's kind for a user token; empty for an API token
	Count int
}

// RepositoryIndex is where the indexing of one repository stands.
type RepositoryIndex struct {
	RepositoryID string
	Repository   string // the repository's full name
	State        IndexStateName
	IndexedAt    *time.Time // the end of the last run that completed; nil if none did
}

// JobCount is how many jobs of one kind are in one state of the job queue.
type JobCount struct {
	Kind, State string
	Count       int
}
