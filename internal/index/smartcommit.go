package index

import (
	"context"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/smartcommit"
)

// SmartCommit is a commit a run read with its smart-commit commands.
type SmartCommit struct {
	Commit   fb.Commit
	Commands []smartcommit.Command
}

// SmartCommitBatch is the smart commits of a batch of a run's commits.
type SmartCommitBatch struct {
	Integration fb.Integration
	Repository  fb.Repository
	Commits     []SmartCommit
}

// smartCommits hands a batch to the Indexer's SmartCommits.
func (r *run) smartCommits(ctx context.Context, cs []SmartCommit) error {
	return r.x.SmartCommits(ctx, SmartCommitBatch{Integration: r.in, Repository: r.repo, Commits: cs})
}
