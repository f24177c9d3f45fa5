package fakecodecommit

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codecommit"
	cctypes "github.com/aws/aws-sdk-go-v2/service/codecommit/types"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

// The vector the driver's password is checked against, computed apart
// from both (see the driver's TestGitPasswordVector).
func TestGitSignatureVector(t *testing.T) {
	got := gitSignature("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-2", "git-codecommit.us-east-2.amazonaws.com",
		"/v1/repos/MyDemoRepo", "20190612T102343")
	if want := "33abcb097170bbdd2683168985ec2eff8bb94570eb8942693434983f4628e362"; got != want {
		t.Errorf("gitSignature = %s, want %s", got, want)
	}
}

// gitRequest is a smart HTTP request to the fake's git host, authenticated
// as git would be with password for user.
func gitRequest(t *testing.T, s *Server, method, path, user, password string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL()+path, nil)
	if user != "" {
		req.SetBasicAuth(user, password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// password signs repository path for host in region at at with secret.
func password(secret, region, host, path string, at time.Time) string {
	stamp := at.UTC().Format("20060102T150405")
	return stamp + "Z" + gitSignature(secret, region, host, path, stamp)
}

func TestGitHostAuthentication(t *testing.T) {
	s := newFake(t)
	s.AddRepo("app", "main")
	s.AddKey("AKIANOGIT", "nogit-secret", Key{ARN: "arn:aws:iam::123456789012:user/dan", Deny: []string{"codecommit:GitPull"}})
	host := strings.TrimPrefix(s.URL(), "http://")
	host = host[:strings.Index(host, ":")]
	now := time.Now()
	good := password(secret, region, host, "/v1/repos/app", now)
	refs := "/v1/repos/app/info/refs?service=git-upload-pack"
	tests := []struct {
		name, method, path, user, password string
		want                               int
	}{
		{"good", "GET", refs, akid, good, http.StatusOK},
		{"read-only key may pull", "GET", refs, "AKIAREADONLY", password("ro-secret", region, host, "/v1/repos/app", now), http.StatusOK},
		{"no credentials", "GET", refs, "", "", http.StatusUnauthorized},
		{"wrong secret", "GET", refs, akid, password("other", region, host, "/v1/repos/app", now), http.StatusForbidden},
		{"unknown key", "GET", refs, "AKIANOBODY", good, http.StatusForbidden},
		{"expired key", "GET", refs, "AKIAEXPIRED", password("old-secret", region, host, "/v1/repos/app", now), http.StatusForbidden},
		{"denied GitPull", "GET", refs, "AKIANOGIT", password("nogit-secret", region, host, "/v1/repos/app", now), http.StatusForbidden},
		{"session token", "GET", refs, akid + "%token", good, http.StatusForbidden},
		{"other region", "GET", refs, akid, password(secret, "us-east-1", host, "/v1/repos/app", now), http.StatusForbidden},
		{"other host", "GET", refs, akid, password(secret, region, "git-codecommit.eu-west-1.amazonaws.com", "/v1/repos/app", now), http.StatusForbidden},
		{"other repository", "GET", refs, akid, password(secret, region, host, "/v1/repos/web", now), http.StatusForbidden},
		{"signed 20 minutes ago", "GET", refs, akid, password(secret, region, host, "/v1/repos/app", now.Add(-20*time.Minute)), http.StatusForbidden},
		{"signed 20 minutes ahead", "GET", refs, akid, password(secret, region, host, "/v1/repos/app", now.Add(20*time.Minute)), http.StatusForbidden},
		{"signed 10 minutes ago", "GET", refs, akid, password(secret, region, host, "/v1/repos/app", now.Add(-10*time.Minute)), http.StatusOK},
		{"not a password", "GET", refs, akid, "hunter2", http.StatusForbidden},
		{"unknown repository", "GET", "/v1/repos/web/info/refs?service=git-upload-pack", akid,
			password(secret, region, host, "/v1/repos/web", now), http.StatusNotFound},
		{"push", "GET", "/v1/repos/app/info/refs?service=git-receive-pack", akid, good, http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s.ResetCalls()
			resp := gitRequest(t, s, tc.method, tc.path, tc.user, tc.password)
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("401 without a basic challenge: %v", resp.Header)
			}
			if tc.want == http.StatusOK && resp.Header.Get("Content-Type") != "application/x-git-upload-pack-advertisement" {
				t.Errorf("content type %s", resp.Header.Get("Content-Type"))
			}
			calls := s.Calls()
			if len(calls) != 1 || calls[0].Service != "git" || calls[0].Operation != "info/refs" ||
				calls[0].AccessKeyID != strings.Split(tc.user, "%")[0] {
				t.Errorf("calls %+v", calls)
			}
		})
	}

	s.SetRateLimited(true)
	if resp := gitRequest(t, s, "GET", refs, akid, good); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("rate limited: %d", resp.StatusCode)
	}
	s.SetRateLimited(false)
	s.SetFailing(true)
	if resp := gitRequest(t, s, "GET", refs, akid, good); resp.StatusCode != http.StatusInternalServerError {
		t.Errorf("failing: %d", resp.StatusCode)
	}
}

// Branches made through the API, through git and through the test helpers
// are one set of refs.
func TestOneSourceOfTruth(t *testing.T) {
	s := newFake(t)
	r := s.AddRepo("app", "main")
	cc, _ := clients(s, akid, secret, region)
	ctx := context.Background()
	main, ok := r.Branch("main")
	if !ok {
		t.Fatal("no main")
	}
	// A commit written with git directly is what GetBranch answers.
	direct, err := r.Git().Commit("main", []byte("PROJ-1 direct\n"), fakegit.Author{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := cc.GetBranch(ctx, &codecommit.GetBranchInput{RepositoryName: aws.String("app"), BranchName: aws.String("main")})
	if err != nil || aws.ToString(out.Branch.CommitId) != direct || !r.Git().IsAncestor(main, direct) {
		t.Fatalf("GetBranch(main) = %v, %v; want %s", out, err, direct)
	}
	// CreateBranch writes a git ref.
	if _, err := cc.CreateBranch(ctx, &codecommit.CreateBranchInput{RepositoryName: aws.String("app"),
		BranchName: aws.String("PROJ-2"), CommitId: aws.String(main)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Git().Resolve("refs/heads/PROJ-2"); got != main {
		t.Errorf("refs/heads/PROJ-2 at %s, want %s", got, main)
	}
	pushed, err := r.Push("PROJ-3", "PROJ-3 work\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Tag("v1", pushed); err != nil {
		t.Fatal(err)
	}
	if err := r.Tag("v1", main); err == nil {
		t.Error("a second tag v1 was made")
	}
	if err := r.DeleteBranch("PROJ-2"); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteBranch("main"); err == nil {
		t.Error("the default branch was deleted")
	}
	s.SetPageSize(100)
	list, err := cc.ListBranches(ctx, &codecommit.ListBranchesInput{RepositoryName: aws.String("app")})
	if err != nil || strings.Join(list.Branches, ",") != "PROJ-3,main" {
		t.Errorf("ListBranches = %v, %v; want PROJ-3,main", list, err)
	}
	refs, _ := r.Git().Refs()
	if len(refs) != 3 || refs["refs/heads/PROJ-3"] != pushed || refs["refs/tags/v1"] != pushed ||
		!r.Git().IsAncestor(direct, pushed) {
		t.Errorf("git refs %v", refs)
	}
}

// An empty repository has no default branch until the first branch pushed.
func TestEmptyRepository(t *testing.T) {
	s := newFake(t)
	r := s.AddRepo("empty", "")
	cc, _ := clients(s, akid, secret, region)
	ctx := context.Background()
	meta := func() string {
		out, err := cc.BatchGetRepositories(ctx, &codecommit.BatchGetRepositoriesInput{RepositoryNames: []string{"empty"}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.Repositories[0].DefaultBranch)
	}
	if got := meta(); got != "" {
		t.Errorf("default branch %q of an empty repository", got)
	}
	if _, err := r.Push("develop", "first\n"); err != nil {
		t.Fatal(err)
	}
	if got := meta(); got != "develop" || r.Git().Head() != "develop" {
		t.Errorf("default branch %q, HEAD %s; want develop", got, r.Git().Head())
	}
}

func TestPullRequestStates(t *testing.T) {
	s := newFake(t)
	r := s.AddRepo("app", "main")
	cc, _ := clients(s, akid, secret, region)
	ctx := context.Background()
	ff := r.AddBranch("ff")
	if _, err := r.Push("diverged", "one\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Git().Commit("main", []byte("main moves on\n"), fakegit.Author{}); err != nil {
		t.Fatal(err)
	}
	open := func(src string) int {
		id, err := r.OpenPull(src, "", src+" title", "about "+src)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	if _, err := r.OpenPull("main", "main", "same", ""); err == nil {
		t.Error("a pull request from main into main was opened")
	}
	if _, err := r.OpenPull("nope", "main", "missing", ""); err == nil {
		t.Error("a pull request from a missing branch was opened")
	}
	declined, merged, threeWay := open("ff"), open("diverged"), open("diverged")
	if err := r.SetPullState(declined, "CLOSED"); err != nil {
		t.Fatal(err)
	}
	mainBefore, _ := r.Branch("main")
	if err := r.SetPullState(merged, "MERGED"); err != nil {
		t.Fatal(err)
	}
	// diverged is not ahead of main: merging it makes a merge commit.
	mainAfter, _ := r.Branch("main")
	diverged, _ := r.Branch("diverged")
	if mainAfter == mainBefore || !r.Git().IsAncestor(diverged, mainAfter) || !r.Git().IsAncestor(mainBefore, mainAfter) {
		t.Errorf("main %s after merging, want a merge of %s and %s", mainAfter, mainBefore, diverged)
	}
	for _, tc := range []struct {
		id    int
		state string
	}{{declined, "OPEN"}, {declined, "MERGED"}, {merged, "CLOSED"}, {threeWay, "REOPENED"}} {
		if err := r.SetPullState(tc.id, tc.state); err == nil {
			t.Errorf("pull request %d moved to %s", tc.id, tc.state)
		}
	}
	get := func(id int) *cctypes.PullRequest {
		out, err := cc.GetPullRequest(ctx, &codecommit.GetPullRequestInput{PullRequestId: aws.String(strconv.Itoa(id))})
		if err != nil {
			t.Fatal(err)
		}
		return out.PullRequest
	}
	tests := []struct {
		id       int
		status   cctypes.PullRequestStatusEnum
		merged   bool
		option   cctypes.MergeOptionTypeEnum
		source   string
		wantBase bool
	}{
		{declined, cctypes.PullRequestStatusEnumClosed, false, "", ff, true},
		{merged, cctypes.PullRequestStatusEnumClosed, true, cctypes.MergeOptionTypeEnumThreeWayMerge, diverged, true},
		{threeWay, cctypes.PullRequestStatusEnumOpen, false, "", diverged, true},
	}
	for _, tc := range tests {
		pr := get(tc.id)
		tg := pr.PullRequestTargets[0]
		if pr.PullRequestStatus != tc.status || tg.MergeMetadata == nil || tg.MergeMetadata.IsMerged != tc.merged ||
			tg.MergeMetadata.MergeOption != tc.option || aws.ToString(tg.SourceCommit) != tc.source ||
			aws.ToString(tg.MergeBase) == "" || aws.ToString(pr.AuthorArn) != AuthorARN ||
			aws.ToString(pr.Description) != "about "+strings.TrimPrefix(aws.ToString(tg.SourceReference), "refs/heads/") {
			t.Errorf("pull request %d = %s %+v %+v", tc.id, pr.PullRequestStatus, tg, tg.MergeMetadata)
		}
		if pr.LastActivityDate.Before(*pr.CreationDate) {
			t.Errorf("pull request %d last active before it was created", tc.id)
		}
	}
	// A branch whose pull request was closed can have another one.
	open("ff")
	s.SetPageSize(100)
	for status, want := range map[cctypes.PullRequestStatusEnum]int{cctypes.PullRequestStatusEnumOpen: 2, cctypes.PullRequestStatusEnumClosed: 2} {
		list, err := cc.ListPullRequests(ctx, &codecommit.ListPullRequestsInput{RepositoryName: aws.String("app"), PullRequestStatus: status})
		if err != nil || len(list.PullRequestIds) != want {
			t.Errorf("%s pull requests = %v, %v; want %d", status, list, err, want)
		}
	}
}

func TestFastForwardMerge(t *testing.T) {
	s := newFake(t)
	r := s.AddRepo("app", "main")
	ahead := r.AddBranch("ahead")
	id, err := r.OpenPull("ahead", "main", "t", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetPullState(id, "MERGED"); err != nil {
		t.Fatal(err)
	}
	if main, _ := r.Branch("main"); main != ahead {
		t.Errorf("main at %s, want fast-forwarded to %s", main, ahead)
	}
	cc, _ := clients(s, akid, secret, region)
	out, err := cc.GetPullRequest(context.Background(), &codecommit.GetPullRequestInput{PullRequestId: aws.String(strconv.Itoa(id))})
	if err != nil {
		t.Fatal(err)
	}
	mm := out.PullRequest.PullRequestTargets[0].MergeMetadata
	if !mm.IsMerged || mm.MergeOption != cctypes.MergeOptionTypeEnumFastForwardMerge || aws.ToString(mm.MergeCommitId) != ahead {
		t.Errorf("merge metadata %+v", mm)
	}
}

func TestDeliveries(t *testing.T) {
	s := newFake(t)
	r := s.AddRepo("app", "main")
	sha := r.AddBranch("PROJ-1")
	id, err := r.OpenPull("PROJ-1", "main", "PROJ-1 title", "")
	if err != nil {
		t.Fatal(err)
	}
	type event struct {
		Version    string         `json:"version"`
		DetailType string         `json:"detail-type"`
		Source     string         `json:"source"`
		Region     string         `json:"region"`
		Resources  []string       `json:"resources"`
		Detail     map[string]any `json:"detail"`
	}
	decode := func(h http.Header, body []byte) event {
		t.Helper()
		if h.Get(SecretHeader) != "hook-secret" || h.Get("User-Agent") != "Amazon/EventBridge/ApiDestinations" ||
			h.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("headers %v", h)
		}
		var ev event
		if err := json.Unmarshal(body, &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Version != "0" || ev.Source != "aws.codecommit" || ev.Region != region ||
			len(ev.Resources) != 1 || ev.Resources[0] != "arn:aws:codecommit:"+region+":"+Account+":app" {
			t.Errorf("event %+v", ev)
		}
		return ev
	}
	ev := decode(s.PushDelivery(r, "refs/heads/PROJ-1", "0000000000000000000000000000000000000000", sha, "hook-secret"))
	if ev.DetailType != "CodeCommit Repository State Change" || ev.Detail["event"] != "referenceCreated" ||
		ev.Detail["repositoryId"] != r.ID() || ev.Detail["repositoryName"] != "app" || ev.Detail["commitId"] != sha ||
		ev.Detail["referenceType"] != "branch" || ev.Detail["referenceName"] != "PROJ-1" {
		t.Errorf("push event %+v", ev.Detail)
	}
	ev = decode(s.PushDelivery(r, "refs/tags/v1", sha, "", "hook-secret"))
	if ev.Detail["event"] != "referenceDeleted" || ev.Detail["referenceType"] != "tag" || ev.Detail["oldCommitId"] != sha {
		t.Errorf("tag deletion %+v", ev.Detail)
	}
	ev = decode(s.PullRequestDelivery(r, id, "pullRequestCreated", "hook-secret"))
	names, _ := ev.Detail["repositoryNames"].([]any)
	if ev.DetailType != "CodeCommit Pull Request State Change" || ev.Detail["pullRequestId"] != strconv.Itoa(id) ||
		len(names) != 1 || names[0] != "app" || ev.Detail["pullRequestStatus"] != "Open" || ev.Detail["isMerged"] != "False" ||
		ev.Detail["sourceCommit"] != sha || ev.Detail["title"] != "PROJ-1 title" {
		t.Errorf("pull request event %+v", ev.Detail)
	}
}

func TestCloseRemovesRepositories(t *testing.T) {
	s := New(region)
	s.AddRepo("app", "main").Git()
	dir := s.dir
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s is still there: %v", dir, err)
	}
}
