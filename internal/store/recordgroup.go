package store

import (
	"context"
	"sync"

	fb "github.com/forgebridge/forgebridge"
)

// recordGroup commits the action records that arrive together in one
// SQLite transaction. SQLite has one writer at a time and a commit costs
// more than the rows it writes: under concurrent actions each waited for
// the write lock and then committed alone. Now the first to arrive writes
// what has queued up, as one transaction, and the next waiting record's
// caller takes over for those that arrive meanwhile; a lone action is
// written at once, as before. Every caller returns once its own record is
// committed (or has failed), so nothing is answered before it is stored.
type recordGroup struct {
	mu      sync.Mutex
	pending []*recordReq
	leading bool // a caller is writing a batch
}

type recordReq struct {
	ctx  context.Context
	e    *fb.AuditEntry
	b    *fb.IssueBranch
	pr   *fb.IssuePullRequest
	done chan recordResult // buffered: one answer
}

// recordResult answers a request: its error, or lead when its caller is to
// write the next batch.
type recordResult struct {
	err  error
	lead bool
}

func (g *recordGroup) do(write func([]*recordReq), r *recordReq) error {
	g.mu.Lock()
	g.pending = append(g.pending, r)
	lead := !g.leading
	g.leading = true
	g.mu.Unlock()
	if !lead {
		res := <-r.done
		if !res.lead {
			return res.err
		}
	}
	g.mu.Lock()
	batch := g.pending
	g.pending = nil
	g.mu.Unlock()
	write(batch) // answers r too
	g.mu.Lock()
	if len(g.pending) == 0 {
		g.leading = false
	} else {
		g.pending[0].done <- recordResult{lead: true}
	}
	g.mu.Unlock()
	return (<-r.done).err
}
