package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Ping reports whether the queue works: its River client is running and
// can read its own tables (the default queue's row). /readyz asks it.
func (q *Queue) Ping(ctx context.Context) error {
	select {
	case <-q.client.Stopped():
		return fmt.Errorf("jobs: the River client has stopped")
	default:
	}
	// Not found is an answer too: the table was read before the queue's
	// row was written at start.
	if _, err := q.client.QueueGet(ctx, river.QueueDefault); err != nil && !errors.Is(err, rivertype.ErrNotFound) {
		return fmt.Errorf("jobs: reading the queue table: %w", err)
	}
	return nil
}
