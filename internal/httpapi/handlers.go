package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/ratelimit"
)

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// JiraSessionTTL is how long an API token got from a Jira token lasts; the
// person exchanges their Jira token again after that.
const JiraSessionTTL = 30 * 24 * time.Hour

// endSession revokes the API token the request presents (signing out).
func (s *Server) endSession(w http.ResponseWriter, r *http.Request, u fb.User) error {
	_, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if token = strings.TrimSpace(token); token == "" {
		return fb.Errorf(fb.EInvalid, "Only an API token can be revoked this way; sign out of the web UI instead.")
	}
	if err := s.App.RevokeAPIToken(r.Context(), token); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// jiraSession exchanges a Jira personal access token (checked, never
// stored) for a forgebridge API token of that Jira user.
func (s *Server) jiraSession(w http.ResponseWriter, r *http.Request) {
	err := func() error {
		if s.JiraSession == nil {
			return fb.Errorf(fb.ENotSupported, "This server uses the local tracker; signing in with Jira needs --tracker jira.")
		}
		var in struct {
			Token string `json:"token"`
		}
		if err := decode(r, w, &in); err != nil {
			return err
		}
		if in.Token == "" {
			return fb.Errorf(fb.EInvalid, "token is required: a Jira personal access token.")
		}
		if err := app.CheckSecret("token", in.Token); err != nil {
			return err
		}
		u, err := s.App.GuardSignIn(r.Context(), "", ratelimit.ClientAddress(r, s.TrustedProxies), func(ctx context.Context) (fb.User, error) {
			return s.JiraSession(ctx, in.Token)
		})
		if err != nil {
			return err
		}
		token, err := s.App.IssueSessionToken(r.Context(), u, "jira session", JiraSessionTTL)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]string{"name": u.Name, "displayName": u.DisplayName, "apiToken": token})
		return nil
	}()
	if err != nil {
		writeError(w, r, s.Logger, err)
	}
}

// Directory (local tracker; admin).

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, u fb.User) error {
	var in struct {
		Name        string `json:"name"`
		DisplayName string `json:"displayName"`
		Admin       bool   `json:"admin"`
		Email       string `json:"email"`
	}
	if err := decode(r, w, &in); err != nil {
		return err
	}
	nu, token, err := s.App.CreateUser(r.Context(), u, fb.User{Name: in.Name, DisplayName: in.DisplayName, Admin: in.Admin, Email: in.Email})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"name": nu.Name, "displayName": nu.DisplayName, "admin": nu.Admin,
		"email": nu.Email, "apiToken": token})
	return nil
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request, u fb.User) error {
	var in struct {
		Key  string `json:"key"`
		Name string `json:"name"`
	}
	if err := decode(r, w, &in); err != nil {
		return err
	}
	p, err := s.App.CreateProject(r.Context(), u, fb.Project{Key: in.Key, Name: in.Name})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"key": p.Key, "name": p.Name})
	return nil
}

func (s *Server) setPermissions(w http.ResponseWriter, r *http.Request, u fb.User) error {
	var in struct {
		Permissions []string `json:"permissions"`
	}
	if err := decode(r, w, &in); err != nil {
		return err
	}
	if in.Permissions == nil {
		return fb.Errorf(fb.EInvalid, "permissions is required (an array, possibly empty).")
	}
	perms, err := s.App.SetPermissions(r.Context(), u, r.PathValue("key"), r.PathValue("user"), in.Permissions)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"project": r.PathValue("key"), "user": r.PathValue("user"), "permissions": perms})
	return nil
}

func (s *Server) createIssue(w http.ResponseWriter, r *http.Request, u fb.User) error {
	var in struct {
		Key     string `json:"key"`
		Summary string `json:"summary"`
		Type    string `json:"type"`
	}
	if err := decode(r, w, &in); err != nil {
		return err
	}
	is, err := s.App.CreateIssue(r.Context(), u, fb.Issue{Key: in.Key, Summary: in.Summary, Type: in.Type})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"key": is.Key, "summary": is.Summary, "type": is.Type, "project": is.Project})
	return nil
}

// Settings and integrations (admin).

func (s *Server) getSettings(w http.ResponseWriter, r *http.Request, u fb.User) error {
	st, err := s.App.Settings(r.Context(), u)
	if err != nil {
		return err
	}
	setETag(w, st.Version)
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) patchSettings(w http.ResponseWriter, r *http.Request, u fb.User) error {
	var in struct {
		RequireUserPATEverywhere *bool   `json:"requireUserPatEverywhere"`
		BranchNameTemplate       *string `json:"branchNameTemplate"`
		BranchNameMaxLength      *int    `json:"branchNameMaxLength"`
	}
	ifVersion, err := ifMatch(r)
	if err != nil {
		return err
	}
	if err := decode(r, w, &in); err != nil {
		return err
	}
	st, err := s.App.UpdateSettings(r.Context(), u, app.SettingsInput{RequireUserPATEverywhere: in.RequireUserPATEverywhere,
		BranchNameTemplate: in.BranchNameTemplate, BranchNameMaxLength: in.BranchNameMaxLength, IfVersion: ifVersion})
	if err != nil {
		return err
	}
	setETag(w, st.Version)
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (s *Server) createIntegration(w http.ResponseWriter, r *http.Request, u fb.User) error {
	var in integrationInput
	if err := decode(r, w, &in); err != nil {
		return err
	}
	if in.Kind == nil {
		return fb.Errorf(fb.EInvalid, "kind is required.")
	}
	if in.Credential == nil {
		return fb.Errorf(fb.EInvalid, "credential is required.")
	}
	i, err := s.App.CreateIntegration(r.Context(), u, in.app())
	if err != nil {
		return err
	}
	setETag(w, i.Version)
	writeJSON(w, http.StatusCreated, s.integrationJSON(r.Context(), i))
	return nil
}

func (s *Server) listIntegrations(w http.ResponseWriter, r *http.Request, u fb.User) error {
	ins, err := s.App.Integrations(r.Context(), u)
	if err != nil {
		return err
	}
	configured, err := s.App.WebhookConfigured(r.Context())
	if err != nil {
		return err
	}
	out := make([]integrationJSON, 0, len(ins))
	for _, i := range ins {
		out = append(out, toIntegration(i, webhookJSON{URL: s.webhookURL(i.ID), SecretConfigured: configured[i.ID]}))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) getIntegration(w http.ResponseWriter, r *http.Request, u fb.User) error {
	i, err := s.App.Integration(r.Context(), u, r.PathValue("id"))
	if err != nil {
		return err
	}
	setETag(w, i.Version)
	writeJSON(w, http.StatusOK, s.integrationJSON(r.Context(), i))
	return nil
}

func (s *Server) patchIntegration(w http.ResponseWriter, r *http.Request, u fb.User) error {
	var in integrationInput
	ifVersion, err := ifMatch(r)
	if err != nil {
		return err
	}
	if err := decode(r, w, &in); err != nil {
		return err
	}
	patch := in.app()
	patch.IfVersion = ifVersion
	i, err := s.App.UpdateIntegration(r.Context(), u, r.PathValue("id"), patch)
	if err != nil {
		return err
	}
	setETag(w, i.Version)
	writeJSON(w, http.StatusOK, s.integrationJSON(r.Context(), i))
	return nil
}

func (s *Server) deleteIntegration(w http.ResponseWriter, r *http.Request, u fb.User) error {
	ifVersion, err := ifMatch(r)
	if err != nil {
		return err
	}
	if err := s.App.DeleteIntegration(r.Context(), u, r.PathValue("id"), ifVersion); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setETag sends a version as the strong entity tag of the answer.
func setETag(w http.ResponseWriter, version string) {
	if version != "" {
		w.Header().Set("ETag", `"`+version+`"`)
	}
}

// ifMatch reads the version a change is made against from If-Match: "" when
// there is none or it is "*" (any current version). A quoted entity tag is
// the version; a bare version is accepted too. A weak tag (W/"…") never
// matches, as RFC 9110 compares If-Match strongly: it is refused at once.
func ifMatch(r *http.Request) (string, error) {
	values := r.Header.Values("If-Match")
	if len(values) == 0 {
		return "", nil
	}
	v := strings.TrimSpace(strings.Join(values, ","))
	switch {
	case v == "*":
		return "", nil
	case strings.HasPrefix(v, "W/"):
		return "", fb.Errorf(fb.EVersionMismatch, "If-Match compares versions strongly: a weak entity tag (W/…) never matches; nothing was changed.")
	case strings.Contains(v, ","):
		return "", fb.Errorf(fb.EInvalid, "If-Match takes one version, such as \"3\".")
	}
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if v == "" || strings.ContainsAny(v, `" `) {
		return "", fb.Errorf(fb.EInvalid, "If-Match must be a version, such as \"3\".")
	}
	return v, nil
}

func (s *Server) syncIntegration(w http.ResponseWriter, r *http.Request, u fb.User) error {
	n, err := s.App.SyncIntegration(r.Context(), u, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"repositoryCount": n})
	return nil
}

// Repositories.

func (s *Server) listRepositories(w http.ResponseWriter, r *http.Request, u fb.User) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	repos, next, err := s.App.Repositories(r.Context(), u, q.Get("project"), q.Get("q"), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, paged{Values: toRepositories(repos), Next: nextURL(r, next, p)})
	return nil
}

func (s *Server) listBranches(w http.ResponseWriter, r *http.Request, u fb.User) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	branches, next, err := s.App.Branches(r.Context(), u, r.PathValue("id"), r.URL.Query().Get("q"), p)
	if err != nil {
		return err
	}
	out := make([]map[string]string, 0, len(branches))
	for _, b := range branches {
		out = append(out, map[string]string{"name": b.Name, "sha": b.SHA})
	}
	writeJSON(w, http.StatusOK, paged{Values: out, Next: nextURL(r, next, p)})
	return nil
}

// The caller's own tokens.

func (s *Server) me(w http.ResponseWriter, r *http.Request, u fb.User) error {
	writeJSON(w, http.StatusOK, map[string]any{"name": u.Name, "displayName": u.DisplayName, "admin": u.Admin})
	return nil
}

func (s *Server) myTokens(w http.ResponseWriter, r *http.Request, u fb.User) error {
	entries, err := s.App.MyTokens(r.Context(), u)
	if err != nil {
		return err
	}
	out := make([]tokenEntryJSON, 0, len(entries))
	for _, e := range entries {
		out = append(out, toTokenEntry(e))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) putToken(w http.ResponseWriter, r *http.Request, u fb.User) error {
	var in credentialInput
	if err := decode(r, w, &in); err != nil {
		return err
	}
	e, err := s.App.SaveToken(r.Context(), u, r.PathValue("integrationId"), in.credential())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toTokenEntry(e))
	return nil
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request, u fb.User) error {
	if err := s.App.DeleteToken(r.Context(), u, r.PathValue("integrationId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Issues and actions.

func (s *Server) getIssue(w http.ResponseWriter, r *http.Request, u fb.User) error {
	v, err := s.App.Issue(r.Context(), u, r.PathValue("key"))
	if err != nil {
		return err
	}
	if !v.CanUseDevTools {
		// The whole issue view is development information (API.md).
		return fb.Errorf(fb.EForbidden, "You need the View Development Tools permission on project %s to see the development information of %s.", v.Issue.Project, v.Issue.Key)
	}
	next := ""
	if v.CommitsNext != "" {
		next = "/api/v1/issues/" + url.PathEscape(v.Issue.Key) + "/commits?" + url.Values{"cursor": {v.CommitsNext}, "limit": {"20"}}.Encode()
	}
	writeJSON(w, http.StatusOK, toIssue(v, next))
	return nil
}

type actorJSON = fb.Actor

func (s *Server) createBranch(w http.ResponseWriter, r *http.Request, u fb.User) error {
	var in struct {
		RepositoryID string `json:"repositoryId"`
		BaseBranch   string `json:"baseBranch"`
		Name         string `json:"name"`
		credentialInput
		RememberToken bool                `json:"rememberToken"`
		PullRequest   *pullRequestOptions `json:"pullRequest"`
	}
	if err := decode(r, w, &in); err != nil {
		return err
	}
	b, err := s.App.CreateBranch(r.Context(), u, r.PathValue("key"), app.CreateBranchInput{RepositoryID: in.RepositoryID,
		BaseBranch: in.BaseBranch, Name: in.Name,
		Token:       app.OneOffToken{Credential: in.credential(), Remember: in.RememberToken},
		PullRequest: in.PullRequest.options()})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, createdBranchJSON(r, b, in.PullRequest != nil))
	return nil
}

func (s *Server) createPullRequest(w http.ResponseWriter, r *http.Request, u fb.User) error {
	var in struct {
		RepositoryID string `json:"repositoryId"`
		SourceBranch string `json:"sourceBranch"`
		TargetBranch string `json:"targetBranch"`
		Title        string `json:"title"`
		Description  string `json:"description"`
		Draft        bool   `json:"draft"`
		credentialInput
		RememberToken bool `json:"rememberToken"`
	}
	if err := decode(r, w, &in); err != nil {
		return err
	}
	pr, err := s.App.CreatePullRequest(r.Context(), u, r.PathValue("key"), app.CreatePullRequestInput{
		RepositoryID: in.RepositoryID, SourceBranch: in.SourceBranch, TargetBranch: in.TargetBranch, Title: in.Title,
		Description: in.Description, Draft: in.Draft,
		Token: app.OneOffToken{Credential: in.credential(), Remember: in.RememberToken}})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, struct {
		fb.PullRequest
		RepositoryID string    `json:"repositoryId"`
		Actor        actorJSON `json:"actor"`
	}{pr.PullRequest, pr.RepositoryID, pr.Actor})
	return nil
}

// Audit (admin).

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, u fb.User) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	entries, next, err := s.App.Audit(r.Context(), u, fb.AuditQuery{Page: p, User: q.Get("user"), Action: q.Get("action")})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, paged{Values: toAudit(entries), Next: nextURL(r, next, p)})
	return nil
}
