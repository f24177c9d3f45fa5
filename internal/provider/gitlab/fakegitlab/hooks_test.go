package fakegitlab

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestPushDelivery(t *testing.T) {
	s, p := newServer(t)
	before, _ := p.BranchSHA("feature/x")
	var shas []string
	for i := range 22 {
		sha, err := p.Push("feature/x", "PROJ-"+string(rune('A'+i))+" change\n")
		if err != nil {
			t.Fatal(err)
		}
		shas = append(shas, sha)
	}
	h, body := s.PushDelivery(p, "refs/heads/feature/x", before, shas[21], "s3cret")
	for k, want := range map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "s3cret",
		"Content-Type": "application/json", "X-Gitlab-Instance": s.URL()} {
		if got := h.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !strings.HasPrefix(h.Get("User-Agent"), "GitLab/") || len(h.Get("X-Gitlab-Event-UUID")) != 36 || h.Get("Idempotency-Key") == "" {
		t.Errorf("headers %v", h)
	}
	var push struct {
		ObjectKind string `json:"object_kind"`
		Ref        string
		Before     string
		After      string
		ProjectID  int `json:"project_id"`
		Project    struct {
			ID                int
			PathWithNamespace string `json:"path_with_namespace"`
		}
		Commits []struct{ ID, Message string }
		Total   int `json:"total_commits_count"`
	}
	if err := json.Unmarshal(body, &push); err != nil {
		t.Fatal(err)
	}
	if push.ObjectKind != "push" || push.Ref != "refs/heads/feature/x" || push.Before != before || push.After != shas[21] ||
		push.ProjectID != p.ID || push.Project.ID != p.ID || push.Project.PathWithNamespace != "group/sub/proj" {
		t.Errorf("push = %+v", push)
	}
	// The newest 20 of 22, oldest first.
	if push.Total != 22 || len(push.Commits) != 20 || push.Commits[0].ID != shas[2] || push.Commits[19].ID != shas[21] ||
		push.Commits[19].Message != "PROJ-V change\n" {
		t.Errorf("commits: %d of %d, first %+v", len(push.Commits), push.Total, push.Commits[0])
	}

	// A new branch lists what the default branch lacks; a tag push no commits.
	_, body = s.PushDelivery(p, "refs/heads/feature/x", zeroSHA, shas[21], "")
	json.Unmarshal(body, &push)
	if push.Total != 23 {
		t.Errorf("new branch: %d commits, want 23", push.Total)
	}
	if err := p.Tag("v1", shas[0]); err != nil {
		t.Fatal(err)
	}
	h, body = s.PushDelivery(p, "refs/tags/v1", zeroSHA, shas[0], "")
	json.Unmarshal(body, &push)
	if h.Get("X-Gitlab-Event") != "Tag Push Hook" || h.Get("X-Gitlab-Token") != "" || push.ObjectKind != "tag_push" || push.Total != 0 {
		t.Errorf("tag push %v: %s", h, body)
	}
}

func TestPullRequestDelivery(t *testing.T) {
	s, p := newServer(t)
	iid, err := p.OpenPull("feature/x", "main", "PROJ-4 Login", "body", true)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := p.BranchSHA("feature/x")
	h, body := s.PullRequestDelivery(p, iid, "open", "s3cret")
	var mr struct {
		ObjectKind string `json:"object_kind"`
		Project    struct {
			ID                int
			PathWithNamespace string `json:"path_with_namespace"`
		}
		Attrs struct {
			IID                  int
			StateID              int `json:"state_id"`
			State, Title, Action string
			Draft                bool
			SourceBranch         string              `json:"source_branch"`
			LastCommit           struct{ ID string } `json:"last_commit"`
		} `json:"object_attributes"`
	}
	if err := json.Unmarshal(body, &mr); err != nil {
		t.Fatal(err)
	}
	if h.Get("X-Gitlab-Event") != "Merge Request Hook" || h.Get("X-Gitlab-Token") != "s3cret" || mr.ObjectKind != "merge_request" ||
		mr.Project.ID != p.ID || mr.Project.PathWithNamespace != "group/sub/proj" || mr.Attrs.IID != iid ||
		mr.Attrs.State != "opened" || mr.Attrs.StateID != 1 || mr.Attrs.Title != "Draft: PROJ-4 Login" || !mr.Attrs.Draft || mr.Attrs.Action != "open" ||
		mr.Attrs.SourceBranch != "feature/x" || mr.Attrs.LastCommit.ID != head {
		t.Errorf("delivery %v: %+v", h, mr)
	}
	if err := p.SetPullState(iid, "closed"); err != nil {
		t.Fatal(err)
	}
	_, body = s.PullRequestDelivery(p, iid, "close", "")
	json.Unmarshal(body, &mr)
	if mr.Attrs.State != "closed" || mr.Attrs.Action != "close" {
		t.Errorf("after close: %+v", mr.Attrs)
	}
}
