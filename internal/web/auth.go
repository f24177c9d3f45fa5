package web

import (
	"net/http"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// loginData is what the sign-in page shows.
type loginData struct {
	Name string
	Next string
	// JiraOAuth offers "Sign in with Jira"; JiraToken offers signing in
	// with a Jira personal access token. At most one is set.
	JiraOAuth bool
	JiraToken bool
	// JiraGrants says that signing in with Jira keeps the person's grant,
	// for smart commits to act as them.
	JiraGrants bool
}

// loginView is the sign-in page with the ways of signing in this server offers.
func (s *Server) loginView(next, name, errText string) view {
	d := loginData{Name: name, Next: next}
	if s.Jira != nil {
		d.JiraOAuth = s.Jira.OAuthConfigured()
		d.JiraToken = !d.JiraOAuth
		_, d.JiraGrants = s.grants()
	}
	return view{Title: "Sign in", Error: errText, Data: d}
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	if _, _, _, err := s.sessionUser(w, r); err == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", s.loginView(localPath(r.URL.Query().Get("next")), "", ""))
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	if err := parseForm(w, r); err != nil {
		s.render(w, r, statusOf(err), "login", s.loginView("", "", s.errorText(r, err)))
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	next := localPath(r.PostForm.Get("next"))
	u, err := s.App.SignIn(r.Context(), name, r.PostForm.Get("password"), s.clientAddress(r))
	if err != nil {
		setRetryAfter(w, err)
		s.render(w, r, statusOf(err), "login", s.loginView(next, name, s.errorText(r, err)))
		return
	}
	s.startSession(w, r, u, next, "")
}

// startSession signs u in and sends them on to next, a path on this site.
// The session is an expiring API token, so the server can end it; if none
// can be issued, the sign-in page says why. The session this browser had
// before is ended, so its token does not stay usable beside the new one.
// jiraToken is the person's Jira OAuth access token when they signed in
// with Jira, kept in the sealed session; empty otherwise.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u fb.User, next, jiraToken string) {
	next = localPath(next)
	if old, ok := s.readSession(r); ok {
		if err := s.App.RevokeAPIToken(r.Context(), old.Token); err != nil {
			// The old cookie is replaced all the same; its token expires in time.
			s.log().Warn("previous session not ended at sign-in", "err", err)
		}
	}
	token, err := s.App.IssueAPIToken(r.Context(), u, sessionTTL)
	if err != nil {
		s.render(w, r, statusOf(err), "login", s.loginView(next, "", s.errorText(r, err)))
		return
	}
	s.writeSession(w, session{Token: token, Expires: time.Now().Add(sessionTTL).Unix(), JiraToken: jiraToken})
	if next == "" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// logout ends the session on the server, then in this browser. When the
// server cannot end it, the cookie goes all the same and the person is told
// that copies of it stay usable until it expires.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	sess, ok := s.readSession(r)
	if keeper, keep := s.grants(); ok && keep {
		// Signing out ends forgebridge acting in Jira as the person.
		if u, err := s.App.Authenticate(r.Context(), sess.Token); err == nil {
			if err := keeper.DropGrant(r.Context(), u.Key); err != nil {
				s.clearSession(w)
				setPageHeaders(w)
				s.render(w, r, statusOf(err), "error", view{Title: "Something went wrong", Error: "You are signed out in this browser, " +
					"but forgebridge could not forget your Jira grant; sign out again, or revoke forgebridge in Jira " +
					"(Profile › Authorized applications). " + s.errorText(r, err)})
				return
			}
		}
	}
	s.clearSession(w)
	if ok {
		if err := s.App.RevokeAPIToken(r.Context(), sess.Token); err != nil {
			setPageHeaders(w)
			s.render(w, r, statusOf(err), "error", view{Title: "Something went wrong", Error: "You are signed out in this browser, " +
				"but forgebridge could not end the session, so it stays usable until it expires. " + s.errorText(r, err)})
			return
		}
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
