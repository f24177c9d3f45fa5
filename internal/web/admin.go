package web

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

type integrationsData struct {
	Integrations      []fb.Integration
	RequireEverywhere bool
}

func (s *Server) integrations(w http.ResponseWriter, r *http.Request, u fb.User) error {
	ins, err := s.App.Integrations(r.Context(), u)
	if err != nil {
		return err
	}
	st, err := s.App.Settings(r.Context(), u)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "integrations", view{Title: "Manage Git repositories", User: &u, Active: "integrations",
		Data: integrationsData{Integrations: ins, RequireEverywhere: st.RequireUserPATEverywhere}})
	return nil
}

// integrationForm is the Add integration and Edit form. The service
// credential is never part of it: the form only says whether one is set.
type integrationForm struct {
	ID                    string
	Name                  string
	Kind                  fb.Kind
	BaseURL               string
	Region                string
	ServerVersion         string
	AccessKeyID           string
	CredentialLogin       string
	AllProjects           bool
	Projects              string
	CreateBranch          bool
	CreatePullRequest     bool
	RequireUserPAT        bool
	SmartCommits          bool
	EnforcePermissions    bool
	DiffViewing           bool
	APIPath               string
	RepositoryFilter      string
	ProxyURL              string
	InsecureSkipTLSVerify bool
	// Version is the version the form was drawn from: a submit made after
	// someone else changed the integration is refused.
	Version string

	// The integration's git data, on its page once it exists.
	WebhookURL        string
	WebhookConfigured bool
	NewSecret         string // shown once, right after it was made
	Repositories      []app.IndexedRepository
}

func toForm(in fb.Integration) integrationForm {
	return integrationForm{ID: in.ID, Name: in.Name, Kind: in.Kind, BaseURL: in.BaseURL, Region: in.Region,
		ServerVersion: in.ServerVersion, CredentialLogin: in.CredentialLogin,
		AllProjects: len(in.Projects) == 0, Projects: strings.Join(in.Projects, ", "),
		CreateBranch: in.Settings.CreateBranch, CreatePullRequest: in.Settings.CreatePullRequest,
		RequireUserPAT: in.Settings.RequireUserPAT, SmartCommits: in.Settings.SmartCommits,
		EnforcePermissions: in.Settings.EnforcePermissions, DiffViewing: in.Settings.DiffViewing, APIPath: in.APIPath, RepositoryFilter: in.RepositoryFilter,
		ProxyURL: in.ProxyURL, InsecureSkipTLSVerify: in.InsecureSkipTLSVerify, Version: in.Version}
}

// readIntegrationForm reads the posted form into what was typed and the
// input for app. Every field is sent, so unticked boxes mean false.
func readIntegrationForm(r *http.Request) (integrationForm, app.IntegrationInput, error) {
	p := r.PostForm
	f := integrationForm{ID: r.PathValue("id"), Name: p.Get("name"), Kind: fb.Kind(p.Get("kind")), BaseURL: p.Get("baseUrl"),
		Region: p.Get("region"), ServerVersion: p.Get("serverVersion"), AccessKeyID: p.Get("accessKeyId"),
		AllProjects: p.Get("projectScope") != "chosen", Projects: p.Get("projects"),
		CreateBranch: p.Get("createBranch") != "", CreatePullRequest: p.Get("createPullRequest") != "",
		RequireUserPAT: p.Get("requireUserPat") != "", SmartCommits: p.Get("smartCommits") != "",
		EnforcePermissions: p.Get("enforcePermissions") != "", DiffViewing: p.Get("diffViewing") != "", APIPath: p.Get("apiPath"), RepositoryFilter: p.Get("repositoryFilter"),
		ProxyURL: p.Get("proxyUrl"), InsecureSkipTLSVerify: p.Get("insecureSkipTlsVerify") != "", Version: p.Get("version")}
	projects := []string{}
	if !f.AllProjects {
		projects = strings.FieldsFunc(f.Projects, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' })
		if len(projects) == 0 {
			return f, app.IntegrationInput{}, fb.Errorf(fb.EInvalid, "Name at least one project key, or choose All projects.")
		}
	}
	in := app.IntegrationInput{Name: &f.Name, BaseURL: &f.BaseURL, Region: &f.Region, ServerVersion: &f.ServerVersion,
		APIPath: &f.APIPath, RepositoryFilter: &f.RepositoryFilter, Projects: &projects, ProxyURL: &f.ProxyURL,
		InsecureSkipTLSVerify: &f.InsecureSkipTLSVerify, CreateBranch: &f.CreateBranch,
		CreatePullRequest: &f.CreatePullRequest, RequireUserPAT: &f.RequireUserPAT, SmartCommits: &f.SmartCommits,
		EnforcePermissions: &f.EnforcePermissions, DiffViewing: &f.DiffViewing, IfVersion: f.Version}
	if f.Kind != "" {
		in.Kind = &f.Kind
	}
	// An empty credential keeps the saved one (on edit) or is refused by
	// app as missing (on add).
	c := formCredential(r)
	if f.Kind.UsesAccessKeys() {
		c.Token = ""
	} else {
		c.AccessKeyID, c.SecretAccessKey = "", ""
	}
	if !c.IsZero() || f.ID == "" {
		in.Credential = &c
	}
	return f, in, nil
}

func (s *Server) renderIntegrationForm(w http.ResponseWriter, r *http.Request, u fb.User, status int, f integrationForm, err error) {
	title := "Add integration"
	if f.ID != "" {
		title = "Edit " + f.Name
	}
	v := view{Title: title, User: &u, Active: "integrations", Data: f}
	if err != nil {
		v.Error = s.errorText(r, err)
	}
	s.render(w, r, status, "integration", v)
}

func (s *Server) newIntegration(w http.ResponseWriter, r *http.Request, u fb.User) error {
	// Only administrators may add one: ask app, which decides who is one.
	if _, err := s.App.Integrations(r.Context(), u); err != nil {
		return err
	}
	kind := fb.Kind(r.URL.Query().Get("kind"))
	if !kind.Valid() {
		kind = fb.KindGitHub
	}
	f := toForm(fb.Integration{Kind: kind, Settings: fb.DefaultIntegrationSettings})
	s.renderIntegrationForm(w, r, u, http.StatusOK, f, nil)
	return nil
}

func (s *Server) createIntegration(w http.ResponseWriter, r *http.Request, u fb.User) error {
	if _, err := s.App.Integrations(r.Context(), u); err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	f, in, err := readIntegrationForm(r)
	var created fb.Integration
	if err == nil {
		created, err = s.App.CreateIntegration(r.Context(), u, in)
	}
	if err != nil {
		s.renderIntegrationForm(w, r, u, statusOf(err), f, err)
		return nil
	}
	s.redirect(w, r, "/admin/integrations", &flash{Message: fmt.Sprintf("%s is added: %d repositories discovered, as %s.",
		created.Name, created.RepositoryCount, created.CredentialLogin)})
	return nil
}

func (s *Server) editIntegration(w http.ResponseWriter, r *http.Request, u fb.User) error {
	return s.integrationPage(w, r, u, "")
}

// integrationPage draws an integration's form with its webhook and the index
// state of its repositories; newSecret, when set, is shown this once.
func (s *Server) integrationPage(w http.ResponseWriter, r *http.Request, u fb.User, newSecret string) error {
	in, err := s.App.Integration(r.Context(), u, r.PathValue("id"))
	if err != nil {
		return err
	}
	f := toForm(in)
	if err := s.gitData(r, u, &f); err != nil {
		return err
	}
	f.NewSecret = newSecret
	if newSecret != "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	s.renderIntegrationForm(w, r, u, http.StatusOK, f, nil)
	return nil
}

// gitData adds the webhook and the repositories' index states to the form.
func (s *Server) gitData(r *http.Request, u fb.User, f *integrationForm) error {
	configured, err := s.App.WebhookConfigured(r.Context())
	if err != nil {
		return err
	}
	f.WebhookConfigured = configured[f.ID]
	base := strings.TrimRight(s.PublicURL, "/")
	if base == "" {
		base = "http://" + r.Host
	}
	f.WebhookURL = base + "/api/v1/webhooks/" + url.PathEscape(f.ID)
	f.Repositories, err = s.App.IntegrationIndex(r.Context(), u, f.ID)
	return err
}

func (s *Server) newWebhookSecret(w http.ResponseWriter, r *http.Request, u fb.User) error {
	secret, err := s.App.NewWebhookSecret(r.Context(), u, r.PathValue("id"))
	if err != nil {
		return err
	}
	// Drawn, not redirected to: the secret must not travel in a URL or a
	// session, and is shown this once.
	return s.integrationPage(w, r, u, secret)
}

func (s *Server) reindexIntegration(w http.ResponseWriter, r *http.Request, u fb.User) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	in, err := s.App.Integration(r.Context(), u, r.PathValue("id"))
	if err != nil {
		return err
	}
	reset := r.PostForm.Get("reset") == "true"
	states, err := s.App.ReindexIntegration(r.Context(), u, in.ID, reset)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("%s: %d repositories queued for indexing.", in.Name, len(states))
	if reset {
		msg = fmt.Sprintf("%s: what was indexed is dropped; %d repositories are read again.", in.Name, len(states))
	}
	s.redirect(w, r, "/admin/integrations/"+url.PathEscape(in.ID), &flash{Message: msg})
	return nil
}

func (s *Server) reindexRepository(w http.ResponseWriter, r *http.Request, u fb.User) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	st, err := s.App.Reindex(r.Context(), u, r.PathValue("id"), r.PostForm.Get("reset") == "true")
	if err != nil {
		return err
	}
	back := "/admin/integrations"
	if v, err := s.App.Repository(r.Context(), u, st.RepositoryID); err == nil {
		back += "/" + url.PathEscape(v.IntegrationID)
	}
	s.redirect(w, r, back, &flash{Message: "The repository is queued for indexing."})
	return nil
}

func (s *Server) updateIntegration(w http.ResponseWriter, r *http.Request, u fb.User) error {
	saved, err := s.App.Integration(r.Context(), u, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	f, in, err := readIntegrationForm(r)
	// The kind cannot change; the form shows it but does not send it.
	f.Kind, in.Kind, f.CredentialLogin = saved.Kind, nil, saved.CredentialLogin
	if err == nil {
		err = requireVersion(r)
	}
	if err == nil {
		saved, err = s.App.UpdateIntegration(r.Context(), u, saved.ID, in)
	}
	if err != nil {
		// The form keeps what was typed and the version it was drawn from,
		// so that submitting it again is refused again.
		s.renderIntegrationForm(w, r, u, statusOf(err), f, staleForm(err, "this integration"))
		return nil
	}
	s.redirect(w, r, "/admin/integrations", &flash{Message: fmt.Sprintf("%s is updated.", saved.Name)})
	return nil
}

func (s *Server) syncIntegration(w http.ResponseWriter, r *http.Request, u fb.User) error {
	in, err := s.App.Integration(r.Context(), u, r.PathValue("id"))
	if err != nil {
		return err
	}
	n, err := s.App.SyncIntegration(r.Context(), u, in.ID)
	if err != nil {
		return err
	}
	s.redirect(w, r, "/admin/integrations", &flash{Message: fmt.Sprintf("%s: %d repositories discovered.", in.Name, n)})
	return nil
}

func (s *Server) deleteIntegration(w http.ResponseWriter, r *http.Request, u fb.User) error {
	in, err := s.App.Integration(r.Context(), u, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	if err := requireVersion(r); err != nil {
		return err
	}
	err = s.App.DeleteIntegration(r.Context(), u, in.ID, r.PostForm.Get("version"))
	if fb.ErrorCode(err) == fb.EVersionMismatch {
		s.redirect(w, r, "/admin/integrations", &flash{Message: fb.ErrorMessage(staleForm(err, in.Name)) +
			" It was not deleted; check it, then delete it again if you still want to."})
		return nil
	}
	if err != nil {
		return err
	}
	s.redirect(w, r, "/admin/integrations", &flash{Message: fmt.Sprintf("%s is deleted, with its repositories and the tokens people saved for it.", in.Name)})
	return nil
}

type settingsForm struct {
	RequireUserPATEverywhere bool
	BranchNameTemplate       string
	BranchNameMaxLength      string
	Version                  string // the version the form was drawn from
}

func (s *Server) settings(w http.ResponseWriter, r *http.Request, u fb.User) error {
	st, err := s.App.Settings(r.Context(), u)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "settings", view{Title: "Settings", User: &u, Active: "settings",
		Data: settingsForm{RequireUserPATEverywhere: st.RequireUserPATEverywhere, BranchNameTemplate: st.BranchNameTemplate,
			BranchNameMaxLength: strconv.Itoa(st.BranchNameMaxLength), Version: st.Version}})
	return nil
}

func (s *Server) updateSettings(w http.ResponseWriter, r *http.Request, u fb.User) error {
	if _, err := s.App.Settings(r.Context(), u); err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	p := r.PostForm
	f := settingsForm{RequireUserPATEverywhere: p.Get("requireUserPatEverywhere") != "",
		BranchNameTemplate: p.Get("branchNameTemplate"), BranchNameMaxLength: strings.TrimSpace(p.Get("branchNameMaxLength")),
		Version: p.Get("version")}
	n, err := strconv.Atoi(f.BranchNameMaxLength)
	if verr := requireVersion(r); verr != nil {
		err = verr
	} else if err != nil {
		err = fb.Errorf(fb.EInvalid, "The maximum length must be a whole number of bytes.")
	} else {
		_, err = s.App.UpdateSettings(r.Context(), u, app.SettingsInput{RequireUserPATEverywhere: &f.RequireUserPATEverywhere,
			BranchNameTemplate: &f.BranchNameTemplate, BranchNameMaxLength: &n, IfVersion: f.Version})
	}
	if err != nil {
		s.render(w, r, statusOf(err), "settings", view{Title: "Settings", User: &u, Active: "settings",
			Error: s.errorText(r, staleForm(err, "the settings")), Data: f})
		return nil
	}
	s.redirect(w, r, "/admin/settings", &flash{Message: "The settings are saved."})
	return nil
}

// requireVersion refuses an admin form posted without the version it was
// drawn from: to the API that is an unconditional overwrite, which a form
// (drawn from what it shows) never means.
func requireVersion(r *http.Request) error {
	if strings.TrimSpace(r.PostForm.Get("version")) == "" {
		return fb.Errorf(fb.EInvalid, "This form was sent without the version of the page it came from, so nothing was saved. "+
			"Reload the page, then make your change again.")
	}
	return nil
}

// staleForm turns the refusal of a form drawn from an older version into
// words for the person who submitted it; other errors pass unchanged.
func staleForm(err error, what string) error {
	if fb.ErrorCode(err) != fb.EVersionMismatch {
		return err
	}
	return fb.Errorf(fb.EVersionMismatch, "Someone changed %s since you opened this page, so nothing was saved. "+
		"Reload the page to see the current values, then make your change again.", what)
}

// changeLine is one field of an audit entry's changes, for the audit page.
type changeLine struct {
	Path, Before, After string
}

// changeLines lists an entry's changes by path, each value as JSON (null
// where there was none).
func changeLines(ch fb.Changes) []changeLine {
	out := make([]changeLine, 0, len(ch))
	for _, path := range slices.Sorted(maps.Keys(ch)) {
		out = append(out, changeLine{Path: path, Before: jsonText(ch[path][0]), After: jsonText(ch[path][1])})
	}
	return out
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

type auditData struct {
	User    string
	Action  string
	Actions []string
	Entries []fb.AuditEntry
	Next    string
}

var auditActions = []string{fb.AuditBranchCreate, fb.AuditBranchDelete, fb.AuditPullRequestCreate, fb.AuditTokenSave, fb.AuditTokenDelete,
	fb.AuditTokenInvalidated, fb.AuditIntegrationCreate, fb.AuditIntegrationUpdate, fb.AuditIntegrationDelete,
	fb.AuditSettingsUpdate, fb.AuditUserCreate, fb.AuditUserUpdate, fb.AuditUserDelete, fb.AuditUserEnrol, fb.AuditUserPassword,
	fb.AuditPermissionsUpdate, fb.AuditProjectCreate, fb.AuditIssueCreate, fb.AuditAPITokenIssue, fb.AuditAPITokenRevoke,
	fb.AuditSmartCommit}

const auditPerPage = 50

func (s *Server) audit(w http.ResponseWriter, r *http.Request, u fb.User) error {
	q := r.URL.Query()
	d := auditData{User: strings.TrimSpace(q.Get("user")), Action: q.Get("action"), Actions: auditActions}
	entries, next, err := s.App.Audit(r.Context(), u, fb.AuditQuery{Page: fb.Page{Limit: auditPerPage, Cursor: q.Get("cursor")},
		User: d.User, Action: d.Action})
	if err != nil {
		return err
	}
	d.Entries = entries
	if next != "" {
		d.Next = "/admin/audit?" + url.Values{"user": {d.User}, "action": {d.Action}, "cursor": {next}}.Encode()
	}
	s.render(w, r, http.StatusOK, "audit", view{Title: "Audit log", User: &u, Active: "audit", Data: d})
	return nil
}
