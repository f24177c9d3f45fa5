package httpapi

import (
	"net/http"
	"net/url"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

// Accounts: the lifecycle of users of the local directory and of API tokens.

// directoryUserJSON is a user of the local directory as the API shows one.
type directoryUserJSON struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	Admin       bool   `json:"admin"`
	Email       string `json:"email"`
	Active      bool   `json:"active"`
}

// apiTokenJSON is an API token as listed: never the token itself.
type apiTokenJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"createdAt"`
	ExpiresAt  *time.Time `json:"expiresAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	IssuedBy   *string    `json:"issuedBy"` // null for a person's own
	Token      string     `json:"token,omitempty"`
}

func apiTokenView(t fb.APIToken) apiTokenJSON {
	v := apiTokenJSON{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt}
	if t.IssuedBy != "" {
		v.IssuedBy = &t.IssuedBy
	}
	return v
}

func apiTokenViews(list []fb.APIToken) []apiTokenJSON {
	out := make([]apiTokenJSON, len(list))
	for i, t := range list {
		out[i] = apiTokenView(t)
	}
	return out
}

func (s *Server) patchUser(w http.ResponseWriter, r *http.Request, u fb.User) error {
	var in struct {
		DisplayName *string `json:"displayName"`
		Email       *string `json:"email"`
		Admin       *bool   `json:"admin"`
		Active      *bool   `json:"active"`
	}
	if err := decode(r, w, &in); err != nil {
		return err
	}
	nu, err := s.App.UpdateUser(r.Context(), u, r.PathValue("name"),
		fb.UserPatch{DisplayName: in.DisplayName, Email: in.Email, Admin: in.Admin, Active: in.Active})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, directoryUserJSON{Name: nu.Name, DisplayName: nu.DisplayName, Admin: nu.Admin, Email: nu.Email, Active: nu.Active})
	return nil
}

func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, u fb.User) error {
	if err := s.App.DeleteUser(r.Context(), u, r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// tokenRequest reads {name, expiresInDays}.
func tokenRequest(w http.ResponseWriter, r *http.Request) (app.TokenRequest, error) {
	var in struct {
		Name          string `json:"name"`
		ExpiresInDays *int   `json:"expiresInDays"`
	}
	if err := decode(r, w, &in); err != nil {
		return app.TokenRequest{}, err
	}
	return app.TokenRequest{Name: in.Name, ExpiresInDays: in.ExpiresInDays}, nil
}

func writeNewToken(w http.ResponseWriter, t fb.APIToken, token string) {
	v := apiTokenView(t)
	v.Token = token
	writeJSON(w, http.StatusCreated, v)
}

func (s *Server) myAPITokens(w http.ResponseWriter, r *http.Request, u fb.User) error {
	list, err := s.App.MyAPITokens(r.Context(), u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiTokenViews(list))
	return nil
}

func (s *Server) createMyAPIToken(w http.ResponseWriter, r *http.Request, u fb.User) error {
	req, err := tokenRequest(w, r)
	if err != nil {
		return err
	}
	t, token, err := s.App.IssueMyAPIToken(r.Context(), u, req)
	if err != nil {
		return err
	}
	writeNewToken(w, t, token)
	return nil
}

func (s *Server) revokeMyAPIToken(w http.ResponseWriter, r *http.Request, u fb.User) error {
	if err := s.App.RevokeMyAPIToken(r.Context(), u, r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) userAPITokens(w http.ResponseWriter, r *http.Request, u fb.User) error {
	list, err := s.App.UserAPITokens(r.Context(), u, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, apiTokenViews(list))
	return nil
}

func (s *Server) createUserAPIToken(w http.ResponseWriter, r *http.Request, u fb.User) error {
	req, err := tokenRequest(w, r)
	if err != nil {
		return err
	}
	t, token, err := s.App.IssueUserAPIToken(r.Context(), u, r.PathValue("name"), req)
	if err != nil {
		return err
	}
	writeNewToken(w, t, token)
	return nil
}

func (s *Server) revokeUserAPIToken(w http.ResponseWriter, r *http.Request, u fb.User) error {
	if _, err := s.App.RevokeUserAPIToken(r.Context(), u, r.PathValue("name"), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// EnrolmentPath is where the web UI serves enrolment links: EnrolmentPath + secret.
const EnrolmentPath = "/enrol/"

func (s *Server) createEnrolment(w http.ResponseWriter, r *http.Request, u fb.User) error {
	e, err := s.App.Enrol(r.Context(), u, r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"url": s.PublicURL + EnrolmentPath + url.PathEscape(e.Secret), "expiresAt": e.ExpiresAt})
	return nil
}
