package web

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"
)

const (
	sessionCookie = "forgebridge_session"
	sessionTTL    = 12 * time.Hour
)

// sessionAD binds the cookie's ciphertext to its purpose, so no other
// ciphertext made with the same keys can pass for a session.
var sessionAD = []byte("forgebridge/session/v1")

// session is what the encrypted cookie holds: the API token issued at
// sign-in, until when it is good, and a message for the next page. The token
// is the session's server-side record: revoking it (signing out, a new
// password) ends the session even where a copy of the cookie survives.
type session struct {
	Token   string `json:"t"`
	Expires int64  `json:"e"` // Unix seconds, as the token's own expiry
	Flash   *flash `json:"f,omitempty"`
	// JiraToken is the Jira OAuth access token of a person who signed in
	// with Jira, so Jira is asked about their projects as them (one call
	// instead of one per project). Jira makes it expire after an hour; then
	// the service account is asked instead.
	JiraToken string `json:"j,omitempty"`
}

// flash is a message shown once, on the page a form redirects to.
type flash struct {
	Message string `json:"m"`
	// Link and LinkText point at what was created, on the provider.
	Link     string `json:"l,omitempty"`
	LinkText string `json:"t,omitempty"`
}

func (s *Server) readSession(r *http.Request) (session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return session{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(c.Value)
	if err != nil {
		return session{}, false
	}
	plain, err := s.Cipher.Decrypt(raw, sessionAD)
	if err != nil {
		return session{}, false
	}
	var sess session
	if json.Unmarshal(plain, &sess) != nil || sess.Token == "" || time.Now().Unix() >= sess.Expires {
		return session{}, false
	}
	return sess, true
}

// writeSession sets the cookie; it lives until the session expires.
func (s *Server) writeSession(w http.ResponseWriter, sess session) {
	plain, err := json.Marshal(sess)
	if err != nil {
		panic(err) // a struct of strings and numbers always marshals
	}
	sealed, err := s.Cipher.Encrypt(plain, sessionAD)
	if err != nil {
		s.log().Error("session not sealed", "err", err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: base64.RawURLEncoding.EncodeToString(sealed),
		Path: "/", Expires: time.Unix(sess.Expires, 0), MaxAge: int(time.Until(time.Unix(sess.Expires, 0)).Seconds()),
		HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteLaxMode})
}

func (s *Server) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteLaxMode})
}
