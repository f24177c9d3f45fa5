package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

// Deletable reports whether the panel offers Delete for a branch: to people
// who may create branches in its repository, for a branch that mentions the
// issue and is not the repository's default (the rules DeleteBranch keeps).
func (d *issueData) Deletable(b fb.IssueBranch) bool {
	if !d.View.CanUseDevTools || !app.MentionsIssue(b.Name, d.View.Issue.Key) {
		return false
	}
	i := slices.IndexFunc(d.BranchRepos, func(o repoOption) bool { return o.ID == b.RepositoryID })
	return i >= 0 && d.BranchRepos[i].DefaultBranch != b.Name
}

// deleteData is the confirmation page of a branch deletion.
type deleteData struct {
	Issue    fb.Issue
	Repo     repoOption
	Name     string
	Error    string
	Setup    bool   // the integration needs the person's own token first
	Return   string // this page, for the token page to come back to
	Remember bool
}

// deleteBranchPage asks to confirm the deletion of a branch; a page, so it
// works without JavaScript.
func (s *Server) deleteBranchPage(w http.ResponseWriter, r *http.Request, u fb.User) error {
	q := r.URL.Query()
	d, err := s.deleteData(r, u, r.PathValue("key"), q.Get("repositoryId"), q.Get("name"))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "branchdelete", view{Title: "Delete branch " + d.Name, User: &u, Data: d})
	return nil
}

// deleteBranch deletes the branch, then returns to the issue; a failure is
// shown on the confirmation page, with "setup required" where it applies.
func (s *Server) deleteBranch(w http.ResponseWriter, r *http.Request, u fb.User) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	key, repoID, name := r.PathValue("key"), f.Get("repositoryId"), f.Get("name")
	remember := f.Get("rememberToken") != ""
	err := s.App.DeleteBranch(r.Context(), u, key, app.DeleteBranchInput{RepositoryID: repoID, Name: name,
		Token: app.OneOffToken{Credential: formCredential(r), Remember: remember}})
	if err == nil {
		issueKey, repoName := s.createdIn(r, u, key, repoID)
		s.redirect(w, r, "/browse/"+url.PathEscape(issueKey), &flash{
			Message: fmt.Sprintf("Branch %s deleted in %s.", name, repoName)})
		return nil
	}
	d, derr := s.deleteData(r, u, key, repoID, name)
	if derr != nil {
		return err
	}
	d.Error, d.Remember = s.errorText(r, err), remember
	switch fb.ErrorCode(err) {
	case fb.EPATRequired, fb.EPATInvalid, fb.ETokenRejected:
		d.Setup = true
	}
	s.render(w, r, statusOf(err), "branchdelete", view{Title: "Delete branch " + d.Name, User: &u, Data: d})
	return nil
}

func (s *Server) deleteData(r *http.Request, u fb.User, key, repoID, name string) (*deleteData, error) {
	d, err := s.issueData(r, u, key)
	if err != nil {
		return nil, err
	}
	if !d.View.CanUseDevTools {
		return nil, fb.Errorf(fb.EForbidden, "You need the View Development Tools permission on %s to delete its branches.", d.View.Issue.Project)
	}
	i := slices.IndexFunc(d.BranchRepos, func(o repoOption) bool { return o.ID == repoID })
	if i < 0 {
		return nil, fb.Errorf(fb.ENotFound, "No repository of %s where branches may be created or deleted has the id %q.", d.View.Issue.Key, repoID)
	}
	q := url.Values{"repositoryId": {repoID}, "name": {name}}
	return &deleteData{Issue: d.View.Issue, Repo: d.BranchRepos[i], Name: name, Setup: d.BranchRepos[i].SetupRequired,
		Return: "/browse/" + url.PathEscape(d.View.Issue.Key) + "/branches/delete?" + q.Encode()}, nil
}

// oneStepOff says why a repository's Create branch cannot also open a draft
// pull request; "" when it can.
func oneStepOff(rv app.RepositoryView) string {
	switch {
	case !rv.CanCreatePullRequest:
		return "Pull request creation is switched off for this repository."
	case !app.HasDrafts(rv.Integration.Kind):
		return "AWS CodeCommit has no draft pull requests: create the branch, then open a pull request."
	}
	return ""
}

// oneStepText tells, after a create, what became of the pull request asked
// for with the branch.
func (s *Server) oneStepText(r *http.Request, b app.CreatedBranch) string {
	switch {
	case b.PullRequest != nil:
		kind := "Pull request"
		if b.PullRequest.Draft {
			kind = "Draft pull request"
		}
		return fmt.Sprintf(" %s #%d opened: %s", kind, b.PullRequest.Number, b.PullRequest.WebURL)
	case b.PullRequestError != nil:
		return " The pull request was not opened: " + s.errorText(r, b.PullRequestError)
	}
	return ""
}

// BranchOneStepOff is oneStepOff of the repository the Create branch
// dialog has chosen (the first when none is), as drawn by the server.
func (d *issueData) BranchOneStepOff() string {
	for _, o := range d.BranchRepos {
		if o.ID == d.Branch.RepositoryID {
			return o.OneStepOff
		}
	}
	if len(d.BranchRepos) > 0 {
		return d.BranchRepos[0].OneStepOff
	}
	return ""
}
