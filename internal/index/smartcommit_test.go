package index_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// TestRunHandsOnSmartCommits: with the integration's smart commits on, a run
// hands on the commands of the commits it reads (after writing them), and
// nothing with them off; a failure to take them fails the run, and the
// next run hands them on again.
func TestRunHandsOnSmartCommits(t *testing.T) {
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			e := newEnv(t, b)
			var mu sync.Mutex
			var got []index.SmartCommit
			var fail error
			e.x.SmartCommits = func(ctx context.Context, sb index.SmartCommitBatch) error {
				mu.Lock()
				defer mu.Unlock()
				if sb.Integration.ID != e.in.ID || sb.Repository.ID != e.repo.ID {
					t.Errorf("batch of %s/%s", sb.Integration.ID, sb.Repository.ID)
				}
				for _, sc := range sb.Commits {
					// Handed on after the commit is written.
					if cs := e.commits(t, sc.Commit.Keys[0]); len(cs) == 0 {
						t.Errorf("commit %s handed on before it was written", sc.Commit.SHA)
					}
				}
				if fail != nil {
					return fail
				}
				got = append(got, sb.Commits...)
				return nil
			}
			e.h.push(t, "main", "PROJ-1 #comment while off")
			e.run(t, false)
			if len(got) != 0 {
				t.Fatalf("smart commits off: %d handed on", len(got))
			}

			if _, _, err := e.st.ChangeIntegration(t.Context(), e.in.ID, "", func(in *fb.Integration) (fb.IntegrationWrite, error) {
				in.Settings.SmartCommits = true
				return fb.IntegrationWrite{}, nil
			}); err != nil {
				t.Fatal(err)
			}
			sha := e.h.push(t, "main", "PROJ-1, OPS-2 #time 1h #done\n\nPROJ-3 no command")
			e.h.push(t, "main", "PROJ-1 mentions an issue, commands none")
			fail = fb.Errorf(fb.ETrackerUnavailable, "queue down")
			if _, err := e.x.Run(t.Context(), e.repo.ID, false); fb.ErrorCode(err) != fb.ETrackerUnavailable {
				t.Fatalf("run whose smart commits were not taken: %v", err)
			}
			fail = nil
			e.run(t, false)
			if len(got) != 1 || got[0].Commit.SHA != sha || len(got[0].Commands) != 2 ||
				got[0].Commit.AuthorEmail != "bob@example.com" || got[0].Commands[0].Seconds != 3600 ||
				got[0].Commands[1].Name != "done" || len(got[0].Commands[1].Keys) != 2 {
				t.Fatalf("handed on %+v", got)
			}
		})
	}
}

// TestRunBoundsSmartCommits: a commit naming hundreds of keys before
// several commands hands on at most 100 (issue, command) pairs, each on an
// issue the commit is linked to: a push must not queue keys × commands jobs.
func TestRunBoundsSmartCommits(t *testing.T) {
	b := storetest.Backends()[0]
	e := newEnv(t, b)
	var got []index.SmartCommit
	e.x.SmartCommits = func(ctx context.Context, sb index.SmartCommitBatch) error {
		got = append(got, sb.Commits...)
		return nil
	}
	if _, _, err := e.st.ChangeIntegration(t.Context(), e.in.ID, "", func(in *fb.Integration) (fb.IntegrationWrite, error) {
		in.Settings.SmartCommits = true
		return fb.IntegrationWrite{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	var msg strings.Builder
	for i := 1; i <= 500; i++ {
		fmt.Fprintf(&msg, "PROJ-%d ", i)
	}
	msg.WriteString("#comment a #comment b #comment c #done\n")
	e.h.push(t, "main", msg.String())
	e.run(t, false)
	if len(got) != 1 {
		t.Fatalf("%d smart commits handed on, want 1", len(got))
	}
	linked := map[string]bool{}
	for _, k := range got[0].Commit.Keys {
		linked[k] = true
	}
	pairs := 0
	for _, c := range got[0].Commands {
		for _, k := range c.Keys {
			pairs++
			if !linked[k] {
				t.Errorf("command %s on %s, which the commit is not linked to", c.Name, k)
			}
		}
	}
	if pairs == 0 || pairs > 100 {
		t.Fatalf("%d (issue, command) pairs handed on, want 1..100", pairs)
	}
}

// TestResetHandsOnNoHistory: a reset reads the whole history again, and
// hands none of its commands on: commits indexed while smart commits were
// off would otherwise act years later (every old #done, #comment and #time
// at once) because an administrator reset the index. Later runs hand on
// the new commits' commands.
func TestResetHandsOnNoHistory(t *testing.T) {
	e := newEnv(t, storetest.Backends()[0])
	var got []index.SmartCommit
	e.x.SmartCommits = func(ctx context.Context, sb index.SmartCommitBatch) error {
		got = append(got, sb.Commits...)
		return nil
	}
	e.h.push(t, "main", "PROJ-1 #done years ago")
	e.run(t, false)
	if _, _, err := e.st.ChangeIntegration(t.Context(), e.in.ID, "", func(in *fb.Integration) (fb.IntegrationWrite, error) {
		in.Settings.SmartCommits = true
		return fb.IntegrationWrite{}, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.run(t, true)
	if len(got) != 0 {
		t.Fatalf("a reset handed on %d old commits' commands: %+v", len(got), got)
	}
	sha := e.h.push(t, "main", "PROJ-1 #comment today")
	e.run(t, false)
	if len(got) != 1 || got[0].Commit.SHA != sha {
		t.Fatalf("handed on %+v, want today's commit", got)
	}
}
