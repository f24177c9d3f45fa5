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

// maxSmartCommands bounds the (issue, command) pairs one commit hands on:
// each is a job and a call to the tracker, and a message naming thousands
// of keys before thousands of commands is an attack, not work.
const maxSmartCommands = 100

// smartCommands returns the commands of a commit's message on the issues it
// is linked to (keys, already capped at maxKeys), at most maxSmartCommands
// (issue, command) pairs in all. The message read is the stored one, so a
// comment is never larger than what the issue page shows.
func smartCommands(m smartParser, message string, keys []string) []smartcommit.Command {
	linked := make(map[string]bool, len(keys))
	for _, k := range keys {
		linked[k] = true
	}
	var out []smartcommit.Command
	budget := maxSmartCommands
	for _, c := range m(storedMessage(message)) {
		var ks []string
		for _, k := range c.Keys {
			if linked[k] && budget > 0 {
				ks = append(ks, k)
				budget--
			}
		}
		if len(ks) == 0 {
			continue
		}
		c.Keys = ks
		out = append(out, c)
	}
	return out
}

type smartParser func(message string) []smartcommit.Command
