package app_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

// downStore refuses every action record while down, as a database that is
// unreachable does.
type downStore struct {
	fb.Store
	mu   sync.Mutex
	down bool
}

func (s *downStore) set(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *downStore) RecordAction(ctx context.Context, e *fb.AuditEntry, b *fb.IssueBranch, pr *fb.IssuePullRequest) error {
	s.mu.Lock()
	down := s.down
	s.mu.Unlock()
	if down {
		return errors.New("dial tcp 10.0.0.5:5432: connection refused")
	}
	return s.Store.RecordAction(ctx, e, b, pr)
}

// recordQueue is a Queue that takes action records, or fails to.
type recordQueue struct {
	scriptedQueue
	records []app.ActionRecord
	recErr  error
}

func (q *recordQueue) RetryRecord(ctx context.Context, r app.ActionRecord) error {
	q.records = append(q.records, r)
	return q.recErr
}

// TestRecordNeverDropped creates a branch while the store refuses its
// record: the record is queued when the queue takes records, held in memory
// when the queue (in the same database) refuses it too, and otherwise
// logged whole at ERROR, never with a token. Once the store is back the
// queued record stores once however often it is written.
func TestRecordNeverDropped(t *testing.T) {
	const oneOff = "ghp_one_off_secret_value"
	tests := []struct {
		name      string
		queue     app.Queue // nil: none
		wantQueue bool
		held      bool // the queue refuses it too: held in memory and written once the store is back
		wantLog   []string
	}{
		{name: "queued", queue: &recordQueue{}, wantQueue: true, wantLog: []string{"level=WARN", "queued to be recorded later"}},
		{name: "queue refuses it", queue: &recordQueue{recErr: errors.New("database is down too")}, wantQueue: true, held: true,
			wantLog: []string{"level=WARN", "held in memory until the database is back", "actionId=",
				"action=branch.create", "queueErr=\"database is down too\""}},
		{name: "queue without records", queue: &scriptedQueue{},
			wantLog: []string{"level=ERROR", "no queue to retry it", "record.branch.name=PROJ-1-never-dropped", "record.actionId="}},
		{name: "no queue", wantLog: []string{"level=ERROR", "no queue to retry it", "record.branch.webUrl="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.OpenSQLite(t, nil)
			gh := fakegithub.New()
			defer gh.Close()
			gh.AddToken("svc", fakegithub.Token{Login: "bot", Scopes: []string{"repo"}})
			gh.AddToken(oneOff, fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}})
			gh.AddRepo("acme/app", "main")
			var logs bytes.Buffer
			ds := &downStore{Store: st}
			svc := &app.Service{Store: ds, Tracker: &local.Tracker{Store: st}, Providers: drivers.New,
				Queue: tt.queue, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
			alice, _, err := svc.AddUser(ctx, fb.User{Name: "alice", Admin: true})
			if err != nil {
				t.Fatal(err)
			}
			must := func(_ any, err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			must(svc.CreateProject(ctx, alice, fb.Project{Key: "PROJ"}))
			must(svc.SetPermissions(ctx, alice, "PROJ", "alice", []string{fb.PermBrowseProjects, fb.PermViewDevTools}))
			must(svc.CreateIssue(ctx, alice, fb.Issue{Key: "PROJ-1", Summary: "Never dropped"}))
			kind, base := fb.KindGitHub, gh.URL()
			must(svc.CreateIntegration(ctx, alice, app.IntegrationInput{Name: new("GH"), Kind: &kind, BaseURL: &base,
				Credential: &fb.Credential{Token: "svc"}}))
			repos, _, err := st.Repositories(ctx, fb.RepositoryQuery{Page: fb.Page{Limit: 1}})
			if err != nil {
				t.Fatal(err)
			}

			ds.set(true)
			b, err := svc.CreateBranch(ctx, alice, "PROJ-1", app.CreateBranchInput{RepositoryID: repos[0].ID,
				Token: app.OneOffToken{Credential: fb.Credential{Token: oneOff}}})
			if err != nil {
				t.Fatalf("the branch exists on the host: the create must succeed: %v", err)
			}
			for _, want := range tt.wantLog {
				if !strings.Contains(logs.String(), want) {
					t.Errorf("log lacks %q:\n%s", want, logs.String())
				}
			}
			if strings.Contains(logs.String(), oneOff) || strings.Contains(logs.String(), `"svc"`) {
				t.Errorf("the log holds a token:\n%s", logs.String())
			}
			q, _ := tt.queue.(*recordQueue)
			if !tt.wantQueue {
				if q != nil && len(q.records) != 0 {
					t.Errorf("%d records queued, want none", len(q.records))
				}
				return
			}
			if len(q.records) != 1 {
				t.Fatalf("%d records queued, want 1", len(q.records))
			}
			r := q.records[0]
			if r.Entry.ActionID == "" || r.Entry.Action != fb.AuditBranchCreate || r.Entry.Actor.Login != "alice-gh" ||
				r.Branch == nil || r.Branch.Name != b.Name || r.Branch.SHA != b.SHA || r.PullRequest != nil {
				t.Errorf("queued record %+v (branch %+v), want the branch %s with an action id", r, r.Branch, b.Name)
			}

			// The store is back: the worker's write, done twice, stores once.
			ds.set(false)
			if tt.held {
				// The held record is written as soon as the store answers.
				for deadline := time.Now().Add(time.Minute); svc.HeldRecords() > 0; time.Sleep(20 * time.Millisecond) {
					if time.Now().After(deadline) {
						t.Fatal("the held record was never written")
					}
				}
			} else if svc.HeldRecords() != 0 {
				t.Fatalf("%d records held with a queue that took them", svc.HeldRecords())
			}
			for range 2 {
				if err := svc.StoreRecord(ctx, r); err != nil {
					t.Fatalf("StoreRecord: %v", err)
				}
			}
			entries, _, err := st.Audit(ctx, fb.AuditQuery{Page: fb.Page{Limit: 10}, Action: fb.AuditBranchCreate})
			if err != nil || len(entries) != 1 || entries[0].Target != b.Name {
				t.Errorf("branch.create entries %+v %v, want one for %s", entries, err, b.Name)
			}
			if bs, err := st.IssueBranches(ctx, "PROJ-1"); err != nil || len(bs) != 1 {
				t.Errorf("issue branches %+v %v, want one", bs, err)
			}
		})
	}
}
