package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

// repoOption is a repository offered by the create dialogs, with what the
// dialogs' script needs to know about the person's token for it.
type repoOption struct {
	app.RepositoryView
	TokenState tokenView
	Help       help
	// SetupRequired: the integration demands the person's own token and they
	// have none that works.
	SetupRequired bool
}

// branchForm and prForm are what the person typed into a dialog. The
// token fields are never drawn back; the access key id is not a secret.
type branchForm struct {
	RepositoryID string
	BaseBranch   string
	Name         string
	Remember     bool
	AccessKeyID  string
}

type prForm struct {
	RepositoryID string
	SourceBranch string
	TargetBranch string
	Title        string
	Description  string
	Draft        bool
	Remember     bool
	AccessKeyID  string
}

// Dialog names, as in ?dialog= and the templates.
const (
	dialogBranch      = "branch"
	dialogPullRequest = "pull-request"
)

type issueData struct {
	View           app.IssueView
	BranchRepos    []repoOption
	PRRepos        []repoOption
	RepoNames      map[string]string
	SuggestedTitle string
	// Dialog is the dialog drawn open by the server (no JavaScript, or after a failed form).
	Dialog string
	Branch branchForm
	PR     prForm
	// DialogError is the failure of the last create, shown in the dialog.
	DialogError string
	// Setup is the repository whose integration needs the person's token first.
	Setup *repoOption
	// Branches are the chosen repository's branches, for the dialog drawn open.
	Branches      []fb.Branch
	BranchesError string
}

// gotoIssue answers the header's "go to issue" box.
func (s *Server) gotoIssue(w http.ResponseWriter, r *http.Request, u fb.User) error {
	key := strings.ToUpper(strings.TrimSpace(r.URL.Query().Get("key")))
	if key == "" {
		return fb.Errorf(fb.EInvalid, "Type an issue key such as PROJ-1.")
	}
	http.Redirect(w, r, "/browse/"+url.PathEscape(key), http.StatusSeeOther)
	return nil
}

// issueData loads the issue and the repositories its dialogs offer.
func (s *Server) issueData(r *http.Request, u fb.User, key string) (*issueData, error) {
	v, err := s.App.Issue(r.Context(), u, key)
	if err != nil {
		return nil, err
	}
	d := &issueData{View: v, RepoNames: map[string]string{}, SuggestedTitle: v.Issue.Key + " " + v.Issue.Summary}
	for _, rv := range v.Repositories {
		d.RepoNames[rv.ID] = rv.FullName
		o := repoOption{RepositoryView: rv, TokenState: tokenState(rv.Token), Help: tokenHelp(rv.Integration)}
		o.SetupRequired = rv.RequireUserPAT && !o.TokenState.Usable
		if rv.CanCreateBranch {
			d.BranchRepos = append(d.BranchRepos, o)
		}
		if rv.CanCreatePullRequest {
			d.PRRepos = append(d.PRRepos, o)
		}
	}
	d.Branch = branchForm{Name: v.BranchNameSuggestion}
	d.PR = prForm{Title: d.SuggestedTitle}
	return d, nil
}

func (s *Server) issue(w http.ResponseWriter, r *http.Request, u fb.User) error {
	d, err := s.issueData(r, u, r.PathValue("key"))
	if err != nil {
		return err
	}
	q := r.URL.Query()
	if d.View.CanUseDevTools {
		switch q.Get("dialog") {
		case dialogBranch:
			d.Dialog, d.Branch.RepositoryID = dialogBranch, q.Get("repositoryId")
		case dialogPullRequest:
			d.Dialog, d.PR.RepositoryID = dialogPullRequest, q.Get("repositoryId")
		}
		s.openDialog(r, u, d, nil)
	}
	s.renderIssue(w, r, u, http.StatusOK, d)
	return nil
}

func (s *Server) renderIssue(w http.ResponseWriter, r *http.Request, u fb.User, status int, d *issueData) {
	s.render(w, r, status, "issue", view{Title: d.View.Issue.Key + " " + d.View.Issue.Summary, User: &u, Data: d})
}

// openDialog prepares the dialog the server draws open: the chosen
// repository (the first when none is), its branches, and whether setup is
// required, from the repository or from the failure of the last attempt.
func (s *Server) openDialog(r *http.Request, u fb.User, d *issueData, failure error) {
	var repos []repoOption
	var chosen *string
	switch d.Dialog {
	case dialogBranch:
		repos, chosen = d.BranchRepos, &d.Branch.RepositoryID
	case dialogPullRequest:
		repos, chosen = d.PRRepos, &d.PR.RepositoryID
	default:
		return
	}
	if len(repos) == 0 {
		return
	}
	i := slices.IndexFunc(repos, func(o repoOption) bool { return o.ID == *chosen })
	if i < 0 {
		i, *chosen = 0, repos[0].ID
	}
	o := &repos[i]
	if o.SetupRequired {
		d.Setup = o
	}
	if e := fb.AsError(failure); e != nil && e.IntegrationID != "" {
		switch e.Code {
		case fb.EPATRequired, fb.EPATInvalid, fb.ETokenRejected:
			d.Setup = o
		}
	}
	branches, _, err := s.App.Branches(r.Context(), u, o.ID, "", fb.Page{Limit: 1000})
	if err != nil {
		d.BranchesError = s.errorText(r, err)
		return
	}
	d.Branches = branches
	if d.Dialog == dialogPullRequest {
		if d.PR.TargetBranch == "" {
			d.PR.TargetBranch = o.DefaultBranch
		}
		if d.PR.SourceBranch == "" {
			key := strings.ToUpper(d.View.Issue.Key)
			if i := slices.IndexFunc(branches, func(b fb.Branch) bool { return app.MentionsIssue(b.Name, key) }); i >= 0 {
				d.PR.SourceBranch = branches[i].Name
			}
		}
	}
}

// actorText says who performed an action on the provider.
func actorText(a fb.Actor) string {
	if a.Type == fb.ActorIntegration {
		return fmt.Sprintf("by the integration's service account %s", a.Login)
	}
	return fmt.Sprintf("by %s with your personal access token", a.Login)
}

func (s *Server) createBranch(w http.ResponseWriter, r *http.Request, u fb.User) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	in := branchForm{RepositoryID: f.Get("repositoryId"), BaseBranch: f.Get("baseBranch"), Name: f.Get("name"),
		Remember: f.Get("rememberToken") != "", AccessKeyID: f.Get("accessKeyId")}
	key := r.PathValue("key")
	b, err := s.App.CreateBranch(r.Context(), u, key, app.CreateBranchInput{RepositoryID: in.RepositoryID,
		BaseBranch: in.BaseBranch, Name: in.Name, Token: app.OneOffToken{Credential: formCredential(r), Remember: in.Remember}})
	if err == nil {
		d, lerr := s.issueData(r, u, key)
		if lerr != nil {
			return lerr
		}
		s.redirect(w, r, "/browse/"+url.PathEscape(d.View.Issue.Key), &flash{
			Message: fmt.Sprintf("Branch created in %s %s.", d.RepoNames[b.RepositoryID], actorText(b.Actor)),
			Link:    b.WebURL, LinkText: b.Name})
		return nil
	}
	d, lerr := s.issueData(r, u, key)
	if lerr != nil {
		return lerr
	}
	d.Dialog, d.Branch, d.DialogError = dialogBranch, in, s.errorText(r, err)
	s.openDialog(r, u, d, err)
	s.renderIssue(w, r, u, statusOf(err), d)
	return nil
}

func (s *Server) createPullRequest(w http.ResponseWriter, r *http.Request, u fb.User) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := r.PostForm
	in := prForm{RepositoryID: f.Get("repositoryId"), SourceBranch: f.Get("sourceBranch"), TargetBranch: f.Get("targetBranch"),
		Title: f.Get("title"), Description: f.Get("description"), Draft: f.Get("draft") != "",
		Remember: f.Get("rememberToken") != "", AccessKeyID: f.Get("accessKeyId")}
	key := r.PathValue("key")
	pr, err := s.App.CreatePullRequest(r.Context(), u, key, app.CreatePullRequestInput{RepositoryID: in.RepositoryID,
		SourceBranch: in.SourceBranch, TargetBranch: in.TargetBranch, Title: in.Title, Description: in.Description,
		Draft: in.Draft, Token: app.OneOffToken{Credential: formCredential(r), Remember: in.Remember}})
	if err == nil {
		d, lerr := s.issueData(r, u, key)
		if lerr != nil {
			return lerr
		}
		s.redirect(w, r, "/browse/"+url.PathEscape(d.View.Issue.Key), &flash{
			Message: fmt.Sprintf("Pull request #%d opened in %s %s.", pr.Number, d.RepoNames[pr.RepositoryID], actorText(pr.Actor)),
			Link:    pr.WebURL, LinkText: pr.Title})
		return nil
	}
	d, lerr := s.issueData(r, u, key)
	if lerr != nil {
		return lerr
	}
	d.Dialog, d.PR, d.DialogError = dialogPullRequest, in, s.errorText(r, err)
	s.openDialog(r, u, d, err)
	s.renderIssue(w, r, u, statusOf(err), d)
	return nil
}

// dialogNotices is what a create dialog shows above its fields.
type dialogNotices struct {
	Error  string
	Setup  *repoOption
	Return string // where the token page returns to without JavaScript
}

// dialogState returns the notices of one dialog: only the dialog drawn open has any.
func dialogState(d *issueData, dialog string) dialogNotices {
	if d.Dialog != dialog {
		return dialogNotices{}
	}
	n := dialogNotices{Error: d.DialogError, Setup: d.Setup}
	if d.Setup != nil {
		n.Return = "/browse/" + d.View.Issue.Key + "?" + url.Values{"dialog": {dialog}, "repositoryId": {d.Setup.ID}}.Encode()
	}
	return n
}
