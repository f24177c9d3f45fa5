package web

import (
	"net/http"
	"strconv"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

// apiTokensData is the page of the person's API tokens and sessions.
type apiTokensData struct {
	Tokens []fb.APIToken
	// Current is the id of this browser's own session.
	Current string
	// New is a token just made, shown this once.
	New     string
	NewName string
	// Form values to keep after a refused create.
	Name string
	Days string
}

func (s *Server) apiTokensPage(w http.ResponseWriter, r *http.Request, u fb.User, status int, d apiTokensData, errText string) error {
	list, err := s.App.MyAPITokens(r.Context(), u)
	if err != nil {
		return err
	}
	d.Tokens = list
	if sess, ok := r.Context().Value(sessionKey{}).(*session); ok {
		hash := app.HashAPIToken(sess.Token)
		for _, t := range list {
			if t.Hash == hash {
				d.Current = t.ID
			}
		}
	}
	if d.Days == "" {
		d.Days = strconv.Itoa(app.DefaultAPITokenDays)
	}
	s.render(w, r, status, "apitokens", view{Title: "API tokens and sessions", User: &u, Active: "apitokens", Error: errText, Data: d})
	return nil
}

func (s *Server) apiTokens(w http.ResponseWriter, r *http.Request, u fb.User) error {
	return s.apiTokensPage(w, r, u, http.StatusOK, apiTokensData{}, "")
}

// createAPIToken makes a token and shows it on the page it answers with,
// once: it is never put in a cookie or a redirect.
func (s *Server) createAPIToken(w http.ResponseWriter, r *http.Request, u fb.User) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	d := apiTokensData{Name: r.PostForm.Get("name"), Days: strings.TrimSpace(r.PostForm.Get("expiresInDays"))}
	days, err := strconv.Atoi(d.Days)
	if err != nil {
		err = fb.Errorf(fb.EInvalid, "Expires in days must be a whole number (0: never).")
	}
	var t fb.APIToken
	var token string
	if err == nil {
		t, token, err = s.App.IssueMyAPIToken(r.Context(), u, app.TokenRequest{Name: d.Name, ExpiresInDays: &days})
	}
	if err != nil {
		return s.apiTokensPage(w, r, u, statusOf(err), d, s.errorText(r, err))
	}
	return s.apiTokensPage(w, r, u, http.StatusOK, apiTokensData{New: token, NewName: t.Name}, "")
}

func (s *Server) revokeAPIToken(w http.ResponseWriter, r *http.Request, u fb.User) error {
	id := r.PathValue("id")
	if err := s.App.RevokeMyAPIToken(r.Context(), u, id); err != nil {
		return err
	}
	if sess, ok := r.Context().Value(sessionKey{}).(*session); ok {
		if _, err := s.App.Authenticate(r.Context(), sess.Token); fb.ErrorCode(err) == fb.EUnauthenticated {
			// It was this browser's own session: it has ended.
			s.clearSession(w)
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return nil
		}
	}
	s.redirect(w, r, "/api-tokens", &flash{Message: "The token is revoked; it no longer works anywhere."})
	return nil
}

// enrolData is the page where a person sets their password through a one-time link.
type enrolData struct {
	User fb.User
}

// enrolPage shows the form of a one-time enrolment link; no session needed.
func (s *Server) enrolPage(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	u, err := s.App.EnrolmentUser(r.Context(), r.PathValue("secret"))
	if err != nil {
		s.renderError(w, r, nil, err)
		return
	}
	s.render(w, r, http.StatusOK, "enrol", view{Title: "Set your password", Data: enrolData{User: u}})
}

// enrol sets the password, uses the link up and signs the person in.
func (s *Server) enrol(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	secret := r.PathValue("secret")
	u, err := s.App.EnrolmentUser(r.Context(), secret)
	if err != nil {
		s.renderError(w, r, nil, err)
		return
	}
	if err := parseForm(w, r); err != nil {
		s.render(w, r, statusOf(err), "enrol", view{Title: "Set your password", Error: s.errorText(r, err), Data: enrolData{User: u}})
		return
	}
	password := r.PostForm.Get("password")
	if password != r.PostForm.Get("confirm") {
		err = fb.Errorf(fb.EInvalid, "The two passwords differ; type the same one twice.")
	} else {
		u, err = s.App.CompleteEnrolment(r.Context(), secret, password)
	}
	if err != nil {
		s.render(w, r, statusOf(err), "enrol", view{Title: "Set your password", Error: s.errorText(r, err), Data: enrolData{User: u}})
		return
	}
	s.log().Info("enrolment completed", "user", u.Name)
	s.startSession(w, r, u, "/", "")
}
