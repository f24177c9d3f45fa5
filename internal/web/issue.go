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
	// OneStepOff says why Create branch cannot also open a draft pull
	// request in this repository; "" when it can.
	OneStepOff string
}

// branchForm and prForm are what the person typed into a dialog. The
// token fields are never drawn back; the access key id is not a secret.
type branchForm struct {
	RepositoryID string
	BaseBranch   string
	Name         string
	Remember     bool
	AccessKeyID  string
	PullRequest  bool // also open a draft pull request
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
	// BranchesCut: the repository has more branches than maxDialogBranches.
	BranchesCut bool
	// Unavailable says why the issue could not be loaded: the dialog is then
	// drawn from the posted form alone, so nothing typed is lost.
	Unavailable string
}

// maxDialogBranches is how many branches a dialog lists, here and in app.js.
const maxDialogBranches = 1000

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
		o.OneStepOff = oneStepOff(rv)
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
		// The fields come back in the query from the token page (dialogState).
		switch q.Get("dialog") {
		case dialogBranch:
			d.Dialog, d.Branch.RepositoryID, d.Branch.BaseBranch = dialogBranch, q.Get("repositoryId"), q.Get("baseBranch")
			if q.Has("name") {
				d.Branch.Name = q.Get("name")
			}
		case dialogPullRequest:
			d.Dialog, d.PR.RepositoryID = dialogPullRequest, q.Get("repositoryId")
			d.PR.SourceBranch, d.PR.TargetBranch = q.Get("sourceBranch"), q.Get("targetBranch")
			d.PR.Description, d.PR.Draft = q.Get("description"), q.Get("draft") != ""
			if q.Has("title") {
				d.PR.Title = q.Get("title")
			}
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
	if e := fb.AsError(failure); e != nil && e.IntegrationID != "" && o.Integration.ID != "" {
		switch e.Code {
		case fb.EPATRequired, fb.EPATInvalid, fb.ETokenRejected:
			d.Setup = o
		}
	}
	branches, next, err := s.App.Branches(r.Context(), u, o.ID, "", fb.Page{Limit: maxDialogBranches})
	if err != nil {
		// The branches chosen stay offered, so the form can be sent again as it was.
		d.BranchesError = s.errorText(r, err)
		for _, name := range []string{d.Branch.BaseBranch, d.PR.SourceBranch, d.PR.TargetBranch} {
			if name != "" && !slices.ContainsFunc(d.Branches, func(b fb.Branch) bool { return b.Name == name }) {
				d.Branches = append(d.Branches, fb.Branch{Name: name})
			}
		}
		return
	}
	d.Branches, d.BranchesCut = branches, next != ""
	// A choice the repository does not have (another repository was chosen)
	// falls back to the default.
	for _, name := range []*string{&d.Branch.BaseBranch, &d.PR.SourceBranch, &d.PR.TargetBranch} {
		if !slices.ContainsFunc(branches, func(b fb.Branch) bool { return b.Name == *name }) {
			*name = ""
		}
	}
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
		Remember: f.Get("rememberToken") != "", AccessKeyID: f.Get("accessKeyId"), PullRequest: f.Get("pullRequest") != ""}
	key := r.PathValue("key")
	set := func(d *issueData) { d.Branch = in }
	if f.Get("action") == actionReload {
		return s.drawDialog(w, r, u, key, dialogBranch, in.RepositoryID, nil, set)
	}
	var pr *app.PullRequestOptions
	if in.PullRequest {
		pr = &app.PullRequestOptions{Draft: true}
	}
	b, err := s.App.CreateBranch(r.Context(), u, key, app.CreateBranchInput{RepositoryID: in.RepositoryID,
		BaseBranch: in.BaseBranch, Name: in.Name, Token: app.OneOffToken{Credential: formCredential(r), Remember: in.Remember},
		PullRequest: pr})
	if err != nil {
		return s.drawDialog(w, r, u, key, dialogBranch, in.RepositoryID, err, set)
	}
	issueKey, repoName := s.createdIn(r, u, key, b.RepositoryID)
	s.redirect(w, r, "/browse/"+url.PathEscape(issueKey), &flash{
		Message: fmt.Sprintf("Branch created in %s %s.%s", repoName, actorText(b.Actor), s.oneStepText(r, b)),
		Link:    b.WebURL, LinkText: b.Name})
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
	set := func(d *issueData) { d.PR = in }
	if f.Get("action") == actionReload {
		return s.drawDialog(w, r, u, key, dialogPullRequest, in.RepositoryID, nil, set)
	}
	pr, err := s.App.CreatePullRequest(r.Context(), u, key, app.CreatePullRequestInput{RepositoryID: in.RepositoryID,
		SourceBranch: in.SourceBranch, TargetBranch: in.TargetBranch, Title: in.Title, Description: in.Description,
		Draft: in.Draft, Token: app.OneOffToken{Credential: formCredential(r), Remember: in.Remember}})
	if err != nil {
		return s.drawDialog(w, r, u, key, dialogPullRequest, in.RepositoryID, err, set)
	}
	issueKey, repoName := s.createdIn(r, u, key, pr.RepositoryID)
	s.redirect(w, r, "/browse/"+url.PathEscape(issueKey), &flash{
		Message: fmt.Sprintf("Pull request #%d opened in %s %s.", pr.Number, repoName, actorText(pr.Actor)),
		Link:    pr.WebURL, LinkText: pr.Title})
	return nil
}

// actionReload is the no-script "Load branches" button: draw the dialog
// again with the chosen repository's branches instead of creating.
const actionReload = "reload"

// createdIn names the issue and the repository for the message after a
// create. The create has happened: when the issue cannot be looked up again
// (the tracker down, say), the key as typed and the repository's id do.
func (s *Server) createdIn(r *http.Request, u fb.User, key, repositoryID string) (issueKey, repoName string) {
	d, err := s.issueData(r, u, key)
	if err != nil {
		s.log().Warn("issue not reloaded after a create", "issue", key, "err", err)
		return strings.ToUpper(key), repositoryID
	}
	if name := d.RepoNames[repositoryID]; name != "" {
		return d.View.Issue.Key, name
	}
	return d.View.Issue.Key, repositoryID
}

// drawDialog answers a create form with its dialog drawn again, holding what
// was typed: after a failed create (failure set) or to load the branches of
// another repository. set puts the form into the dialog's data.
func (s *Server) drawDialog(w http.ResponseWriter, r *http.Request, u fb.User, key, dialog, repositoryID string,
	failure error, set func(*issueData)) error {
	status := http.StatusOK
	d, err := s.issueData(r, u, key)
	if err != nil {
		// Not found or not allowed is the answer; anything else (the tracker
		// down, say) must not cost the person what they typed.
		if c := fb.ErrorCode(err); c == fb.ENotFound || c == fb.EForbidden {
			return err
		}
		d, status = formIssueData(key, dialog, repositoryID, s.errorText(r, err)), statusOf(err)
	}
	d.Dialog = dialog
	set(d)
	if failure != nil {
		d.DialogError, status = s.errorText(r, failure), statusOf(failure)
	}
	s.openDialog(r, u, d, failure)
	s.renderIssue(w, r, u, status, d)
	return nil
}

// formIssueData is the least a dialog can be drawn from when the issue
// cannot be loaded: its key and the repository the form named.
func formIssueData(key, dialog, repositoryID, why string) *issueData {
	d := &issueData{View: app.IssueView{Issue: fb.Issue{Key: strings.ToUpper(key)}, CanUseDevTools: true},
		RepoNames: map[string]string{}, Unavailable: why}
	if repositoryID == "" {
		return d
	}
	o := repoOption{RepositoryView: app.RepositoryView{Repository: fb.Repository{ID: repositoryID, FullName: repositoryID}},
		TokenState: tokenState(nil)}
	if dialog == dialogBranch {
		d.BranchRepos = []repoOption{o}
	} else {
		d.PRRepos = []repoOption{o}
	}
	return d
}

// dialogNotices is what a create dialog shows above its fields.
type dialogNotices struct {
	Error  string
	Setup  *repoOption
	Return string // where the token page returns to without JavaScript
	// BranchesError and BranchesCut are about the branch lists of the dialog.
	BranchesError string
	BranchesCut   bool
}

// dialogState returns the notices of one dialog: only the dialog drawn open has any.
func dialogState(d *issueData, dialog string) dialogNotices {
	if d.Dialog != dialog {
		return dialogNotices{}
	}
	n := dialogNotices{Error: d.DialogError, Setup: d.Setup, BranchesError: d.BranchesError, BranchesCut: d.BranchesCut}
	if d.Setup != nil {
		// What was typed goes along (never a token), for issue to draw it back.
		q := url.Values{"dialog": {dialog}, "repositoryId": {d.Setup.ID}}
		add := func(name, value string) {
			if value != "" {
				q.Set(name, value)
			}
		}
		switch dialog {
		case dialogBranch:
			q.Set("name", d.Branch.Name)
			add("baseBranch", d.Branch.BaseBranch)
		case dialogPullRequest:
			q.Set("title", d.PR.Title)
			add("sourceBranch", d.PR.SourceBranch)
			add("targetBranch", d.PR.TargetBranch)
			add("description", d.PR.Description)
			if d.PR.Draft {
				q.Set("draft", "true")
			}
		}
		n.Return = "/browse/" + d.View.Issue.Key + "?" + q.Encode()
	}
	return n
}

// commitsPerPage is how many commits the issue's commit page lists at once.
const commitsPerPage = 50

type commitsData struct {
	Issue     fb.Issue
	Commits   []app.CommitView
	Count     int
	RepoNames map[string]string
	Next      string
}

// issueCommits lists every commit of an issue, a page at a time: the
// development panel shows the newest and links here for the rest.
func (s *Server) issueCommits(w http.ResponseWriter, r *http.Request, u fb.User) error {
	v, err := s.App.Issue(r.Context(), u, r.PathValue("key"))
	if err != nil {
		return err
	}
	commits, count, next, err := s.App.IssueCommits(r.Context(), u, v.Issue.Key, fb.Page{Limit: commitsPerPage, Cursor: r.URL.Query().Get("cursor")})
	if err != nil {
		return err
	}
	d := commitsData{Issue: v.Issue, Commits: commits, Count: count, RepoNames: map[string]string{}}
	for _, rv := range v.Repositories {
		d.RepoNames[rv.ID] = rv.FullName
	}
	if next != "" {
		d.Next = "/browse/" + url.PathEscape(v.Issue.Key) + "/commits?" + url.Values{"cursor": {next}}.Encode()
	}
	s.render(w, r, http.StatusOK, "commits", view{Title: v.Issue.Key + " commits", User: &u, Data: d})
	return nil
}
