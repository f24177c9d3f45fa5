package web

import (
	"net/http"
	"strings"
	"time"
)

type loginData struct {
	Name string
	Next string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	if _, _, err := s.sessionUser(w, r); err == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "login", view{Title: "Sign in", Data: loginData{Next: localPath(r.URL.Query().Get("next"))}})
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	setPageHeaders(w)
	if err := parseForm(w, r); err != nil {
		s.render(w, r, statusOf(err), "login", view{Title: "Sign in", Error: s.errorText(r, err)})
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	next := localPath(r.PostForm.Get("next"))
	u, err := s.App.SignIn(r.Context(), name, r.PostForm.Get("password"))
	if err != nil {
		s.render(w, r, statusOf(err), "login", view{Title: "Sign in", Error: s.errorText(r, err),
			Data: loginData{Name: name, Next: next}})
		return
	}
	s.writeSession(w, session{UserKey: u.Key, Name: u.Name, Expires: time.Now().Add(sessionTTL).Unix()})
	if next == "" {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	s.clearSession(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
