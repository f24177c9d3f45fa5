package web

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

// repoGroup is one integration's repositories in the repository browser.
type repoGroup struct {
	Integration    fb.Integration
	RequireUserPAT bool
	Token          *fb.UserToken
	Repositories   []app.RepositoryView
}

type repositoriesData struct {
	Query  string
	Groups []repoGroup
	// Next is the address of the next page, "" on the last.
	Next string
}

const repositoriesPerPage = 100

func (s *Server) repositories(w http.ResponseWriter, r *http.Request, u fb.User) error {
	q := r.URL.Query()
	text := strings.TrimSpace(q.Get("q"))
	views, next, err := s.App.Repositories(r.Context(), u, "", text, fb.Page{Limit: repositoriesPerPage, Cursor: q.Get("cursor")})
	if err != nil {
		return err
	}
	d := repositoriesData{Query: text}
	for _, v := range views {
		i := slices.IndexFunc(d.Groups, func(g repoGroup) bool { return g.Integration.ID == v.IntegrationID })
		if i < 0 {
			d.Groups = append(d.Groups, repoGroup{Integration: v.Integration, RequireUserPAT: v.RequireUserPAT, Token: v.Token})
			i = len(d.Groups) - 1
		}
		d.Groups[i].Repositories = append(d.Groups[i].Repositories, v)
	}
	slices.SortStableFunc(d.Groups, func(a, b repoGroup) int { return cmp.Compare(a.Integration.Name, b.Integration.Name) })
	if next != "" {
		d.Next = "/repositories?" + url.Values{"q": {text}, "cursor": {next}}.Encode()
	}
	s.render(w, r, http.StatusOK, "repositories", view{Title: "Repositories", User: &u, Active: "repositories", Data: d})
	return nil
}

func (s *Server) tokens(w http.ResponseWriter, r *http.Request, u fb.User) error {
	entries, err := s.App.MyTokens(r.Context(), u)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "tokens", view{Title: "My tokens", User: &u, Active: "tokens", Data: entries})
	return nil
}

type tokenData struct {
	Entry app.TokenEntry
	// Return is where to go once the token is saved.
	Return      string
	AccessKeyID string
}

// tokenEntry returns the person's token entry for one integration.
func (s *Server) tokenEntry(r *http.Request, u fb.User, id string) (app.TokenEntry, error) {
	entries, err := s.App.MyTokens(r.Context(), u)
	if err != nil {
		return app.TokenEntry{}, err
	}
	i := slices.IndexFunc(entries, func(e app.TokenEntry) bool { return e.Integration.ID == id })
	if i < 0 {
		return app.TokenEntry{}, fb.Errorf(fb.ENotFound, "Integration %s not found.", id)
	}
	return entries[i], nil
}

// tokenForm is the token dialog as a page, for browsers without JavaScript.
func (s *Server) tokenForm(w http.ResponseWriter, r *http.Request, u fb.User) error {
	e, err := s.tokenEntry(r, u, r.PathValue("id"))
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "token", view{Title: "Personal access token", User: &u, Active: "tokens",
		Data: tokenData{Entry: e, Return: localPath(r.URL.Query().Get("return"))}})
	return nil
}

func formCredential(r *http.Request) fb.Credential {
	f := r.PostForm
	return fb.Credential{Token: strings.TrimSpace(f.Get("token")), AccessKeyID: strings.TrimSpace(f.Get("accessKeyId")),
		SecretAccessKey: strings.TrimSpace(f.Get("secretAccessKey"))}
}

func (s *Server) saveToken(w http.ResponseWriter, r *http.Request, u fb.User) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	id := r.PathValue("id")
	e, err := s.tokenEntry(r, u, id)
	if err != nil {
		return err
	}
	d := tokenData{Entry: e, Return: localPath(r.PostForm.Get("return")), AccessKeyID: r.PostForm.Get("accessKeyId")}
	c := formCredential(r)
	if c.IsZero() {
		err = fb.Errorf(fb.EInvalid, "Paste the token to save it, or use Remove to delete the saved one.")
	} else {
		e, err = s.App.SaveToken(r.Context(), u, id, c)
	}
	if err != nil {
		s.render(w, r, statusOf(err), "token", view{Title: "Personal access token", User: &u, Active: "tokens",
			Error: s.errorText(r, err), Data: d})
		return nil
	}
	msg := fmt.Sprintf("Your token for %s is saved.", e.Integration.Name)
	if e.Token != nil && e.Token.Login != "" {
		msg = fmt.Sprintf("Your token for %s is saved; %s says it belongs to %s.", e.Integration.Name, kindName(e.Integration.Kind), e.Token.Login)
	}
	s.redirect(w, r, cmp.Or(d.Return, "/tokens"), &flash{Message: msg})
	return nil
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request, u fb.User) error {
	e, err := s.tokenEntry(r, u, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := s.App.DeleteToken(r.Context(), u, e.Integration.ID); err != nil {
		return err
	}
	s.redirect(w, r, "/tokens", &flash{Message: fmt.Sprintf("Your token for %s is removed.", e.Integration.Name)})
	return nil
}
