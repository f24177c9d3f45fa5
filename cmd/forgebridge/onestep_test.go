package main

import (
	"strings"
	"testing"
)

// TestBranchActionsEveryKind runs "branch and pull request in one step" and
// "delete a branch" through the whole program for every integration kind
// against its fake: the pull request opens with the branch (a draft where
// the host has drafts; CodeCommit's and TFS 2019's are ordinary ones), a pull request that
// fails after the branch exists is reported beside the branch, and a branch
// deleted leaves the host and the issue while the default branch is refused.
func TestBranchActionsEveryKind(t *testing.T) {
	p, admin, alice := servedWithAlice(t)

	for _, kc := range kindCases() {
		t.Run(kc.kind, func(t *testing.T) {
			defer kc.close()
			p := *p
			p.t = t
			body := map[string]any{"name": "Acme " + kc.kind, "kind": kc.kind}
			for k, v := range kc.integration {
				body[k] = v
			}
			id := p.must(p.call("POST", "/api/v1/integrations", admin, body), 201, "create integration").str("id")
			repos := p.must(p.call("GET", "/api/v1/repositories?q="+kc.repo, alice, nil), 200, "repositories")
			var repoID string
			for _, v := range repos.body["values"].([]any) {
				if r := v.(map[string]any); r["integrationId"] == id && r["fullName"] == kc.repo {
					repoID = r["id"].(string)
				}
			}
			if repoID == "" {
				t.Fatalf("repository %s not discovered: %s", kc.repo, repos.raw)
			}

			// One step: the branch and its draft pull request.
			name := "PROJ-1-one-step-" + kc.kind
			got := p.must(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, map[string]any{"repositoryId": repoID,
				"name": name, "pullRequest": map[string]any{"draft": true}}), 201, "branch and pull request")
			pr, ok := got.body["pullRequest"].(map[string]any)
			if !ok || got.body["pullRequestError"] != nil {
				t.Fatalf("no pull request with the branch: %s", got.raw)
			}
			// CodeCommit has no drafts, nor has TFS 2019 (api-version 5.0).
			wantDraft := kc.kind != "codecommit" && kc.kind != "tfs"
			if pr["sourceBranch"] != name || pr["targetBranch"] != "main" || pr["title"] != "PROJ-1 Add the thing" ||
				pr["draft"] != wantDraft || pr["webUrl"] == "" || got.str("actor", "type") != "integration" {
				t.Fatalf("pull request %v, want a draft %v from %s into main: %s", pr, wantDraft, name, got.raw)
			}

			// The pull request fails after the branch exists: both are told.
			failing := "PROJ-1-no-pr-" + kc.kind
			got = p.must(p.call("POST", "/api/v1/issues/PROJ-1/branches", alice, map[string]any{"repositoryId": repoID,
				"name": failing, "pullRequest": map[string]any{"targetBranch": "no-such-target"}}), 201, "branch, failing pull request")
			if got.str("name") != failing || got.body["pullRequest"] != nil || got.str("pullRequestError", "code") == "" ||
				got.str("pullRequestError", "message") == "" {
				t.Fatalf("branch with a failed pull request: %s", got.raw)
			}

			// Delete: the default branch never; the issue's branch at once.
			del := func(branch string) answer {
				return p.call("DELETE", "/api/v1/issues/PROJ-1/branches", alice, map[string]any{"repositoryId": repoID, "name": branch})
			}
			p.mustErr(del("main"), 403, "forbidden", "delete the default branch")
			p.must(del(failing), 204, "delete the branch")
			p.mustErr(del(failing), 404, "not_found", "delete it again")
			issue := p.must(p.call("GET", "/api/v1/issues/PROJ-1", alice, nil), 200, "issue")
			if strings.Contains(issue.raw, `"`+failing+`"`) {
				t.Fatalf("the deleted branch is still on the issue: %s", issue.raw)
			}
			if !strings.Contains(issue.raw, `"`+name+`"`) {
				t.Fatalf("the other branch left the issue: %s", issue.raw)
			}
		})
	}
}
