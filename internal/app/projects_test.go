package app_test

import (
	"context"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
	"github.com/forgebridge/forgebridge/internal/tracker/jira"
	"github.com/forgebridge/forgebridge/internal/tracker/jira/fakejira"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
)

// TestIntegrationProjectsChecked checks that an integration's project keys
// are checked against the tracker on create and update, with the local
// tracker and with Jira: an unknown key is invalid_request naming it and
// nothing is saved.
func TestIntegrationProjectsChecked(t *testing.T) {
	ctx := context.Background()
	admin := fb.User{Key: "admin", Name: "admin", Admin: true}
	fake := fakejira.New()
	defer fake.Close()
	fake.AddUser(fakejira.User{Key: "svc", Name: "forgebridge-svc", Active: true, Groups: []string{"jira-users"}, Token: "jira-svc-token"})
	for _, p := range []string{"PROJ", "OPS"} {
		fake.AddProject(p, p+" project")
		fake.Grant("forgebridge-svc", p, "BROWSE_PROJECTS")
	}
	fake.AddProject("HIDDEN", "Not for the service account")
	// No caching: the Jira-down case below must reach Jira, not a project
	// list remembered from the cases before it.
	jt, err := jira.New(jira.Config{BaseURL: fake.URL(), ServiceToken: "jira-svc-token", CacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}

	for _, tracker := range []string{"local", "jira"} {
		t.Run(tracker, func(t *testing.T) {
			st := storetest.OpenSQLite(t, nil)
			gh := fakegithub.New()
			defer gh.Close()
			gh.AddToken("svc", fakegithub.Token{Login: "bot", Scopes: []string{"repo"}})
			gh.AddRepo("acme/app", "main")
			svc := &app.Service{Store: st, Tracker: &local.Tracker{Store: st}, Providers: drivers.New}
			if tracker == "jira" {
				svc.Tracker = jt
			} else {
				for _, p := range []string{"PROJ", "OPS"} {
					if _, err := svc.CreateProject(ctx, admin, fb.Project{Key: p}); err != nil {
						t.Fatal(err)
					}
				}
			}
			kind, base := fb.KindGitHub, gh.URL()
			input := func(projects ...string) app.IntegrationInput {
				return app.IntegrationInput{Name: new("GH " + strings.Join(projects, ",")), Kind: &kind, BaseURL: &base,
					Credential: &fb.Credential{Token: "svc"}, Projects: &projects}
			}

			tests := []struct {
				name     string
				projects []string
				wantErr  string // "" for success
			}{
				{"known keys, any case", []string{"proj", " OPS "}, ""},
				{"one unknown key", []string{"PROJ", "NOPE"}, "NOPE is not a project"},
				{"several unknown keys", []string{"NOPE", "OPS", "GONE"}, "NOPE, GONE are not projects"},
				{"a project the tracker hides", []string{"HIDDEN"}, "HIDDEN is not a project"},
				{"malformed keys are the format check's", []string{"not a key"}, "is not a project key"},
			}
			for _, tt := range tests {
				t.Run("create/"+tt.name, func(t *testing.T) {
					before, _ := st.Integrations(ctx)
					_, err := svc.CreateIntegration(ctx, admin, input(tt.projects...))
					after, _ := st.Integrations(ctx)
					if tt.wantErr == "" {
						if err != nil {
							t.Fatalf("CreateIntegration: %v", err)
						}
						return
					}
					if fb.ErrorCode(err) != fb.EInvalid || !strings.Contains(fb.ErrorMessage(err), tt.wantErr) {
						t.Fatalf("CreateIntegration = %v, want invalid_request containing %q", err, tt.wantErr)
					}
					if len(after) != len(before) {
						t.Errorf("an integration was saved with unknown projects")
					}
				})
			}

			in, err := svc.CreateIntegration(ctx, admin, input("PROJ"))
			if err != nil {
				t.Fatal(err)
			}
			for _, tt := range tests {
				t.Run("update/"+tt.name, func(t *testing.T) {
					ps := tt.projects
					got, err := svc.UpdateIntegration(ctx, admin, in.ID, app.IntegrationInput{Projects: &ps})
					if tt.wantErr == "" {
						if err != nil || strings.Join(got.Projects, ",") != "PROJ,OPS" {
							t.Fatalf("UpdateIntegration = %v %v, want projects PROJ,OPS", got.Projects, err)
						}
						return
					}
					if fb.ErrorCode(err) != fb.EInvalid || !strings.Contains(fb.ErrorMessage(err), tt.wantErr) {
						t.Fatalf("UpdateIntegration = %v, want invalid_request containing %q", err, tt.wantErr)
					}
					if saved, _ := st.Integration(ctx, in.ID); strings.Join(saved.Projects, ",") != "PROJ,OPS" {
						t.Errorf("projects after a refused update: %v", saved.Projects)
					}
				})
			}
			// An update that does not touch the projects does not ask the tracker.
			fake.SetDown(true)
			defer fake.SetDown(false)
			if _, err := svc.UpdateIntegration(ctx, admin, in.ID, app.IntegrationInput{Name: new("Renamed")}); err != nil {
				t.Errorf("an update without projects: %v", err)
			}
			if tracker == "jira" {
				ps := []string{"PROJ"}
				_, err := svc.UpdateIntegration(ctx, admin, in.ID, app.IntegrationInput{Projects: &ps})
				if fb.ErrorCode(err) != fb.ETrackerUnavailable {
					t.Errorf("projects checked while Jira is down: %v, want tracker_unavailable", err)
				}
			}
		})
	}
}
