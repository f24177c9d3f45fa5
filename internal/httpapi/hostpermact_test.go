package httpapi

import (
	"fmt"
	"net/http"
	"testing"
)

// TestHostPermissionsEnforcedOnActions: where the integration enforces host
// permissions, a person cannot create or delete a branch, or open a pull
// request, in a repository their own token does not read, even where the
// service account would act for them: 404, as for reading it, and nothing
// changes on the host.
func TestHostPermissionsEnforcedOnActions(t *testing.T) {
	e := newHostPermEnv(t)
	secret := e.gh.Repo("acme/secret")
	secret.AddBranch("PROJ-1-theirs")
	e.enforce(true)
	create := fmt.Sprintf(`{"repositoryId":%q,"name":"PROJ-1-mine"}`, e.secretID)
	del := fmt.Sprintf(`{"repositoryId":%q,"name":"PROJ-1-theirs"}`, e.secretID)
	pr := fmt.Sprintf(`{"repositoryId":%q,"sourceBranch":"PROJ-1-theirs","title":"x"}`, e.secretID)
	for _, step := range []string{"without a saved token", "with alice's token"} {
		if step == "with alice's token" {
			if res := e.do("PUT", "/api/v1/me/tokens/"+e.integrationID, e.alice, map[string]string{"token": aliceToken}); res.status != http.StatusOK {
				t.Fatalf("saving alice's token: %d %s", res.status, res.body)
			}
		}
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/api/v1/issues/PROJ-1/branches", create},
			{"DELETE", "/api/v1/issues/PROJ-1/branches", del},
			{"POST", "/api/v1/issues/PROJ-1/pull-requests", pr},
		} {
			if r := e.json(c.method, c.path, e.alice, c.body); r.status != http.StatusNotFound {
				t.Errorf("%s: %s %s in a repository alice may not read: %d %s, want 404", step, c.method, c.path, r.status, r.body)
			}
		}
		if _, ok := secret.Branch("PROJ-1-mine"); ok {
			t.Errorf("%s: a branch was created in acme/secret", step)
		}
		if _, ok := secret.Branch("PROJ-1-theirs"); !ok {
			t.Errorf("%s: a branch of acme/secret was deleted", step)
		}
	}
	// Her own repository still works.
	if r := e.json("POST", "/api/v1/issues/PROJ-1/branches", e.alice, fmt.Sprintf(`{"repositoryId":%q,"name":"PROJ-1-ok"}`, e.repoID)); r.status != http.StatusCreated {
		t.Errorf("create in acme/app: %d %s", r.status, r.body)
	}
}
