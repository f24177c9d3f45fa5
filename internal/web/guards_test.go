package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
)

// TestSignInFormIsLimited checks the sign-in form's limit per user name:
// after five failures, 429 with Retry-After, even for the right password,
// and each failure in the audit log under the name tried.
func TestSignInFormIsLimited(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for i := range app.SignInFailsPerName {
		r := b.post("/login", url.Values{"name": {"alice"}, "password": {"wrong"}})
		if r.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, r.Code)
		}
	}
	r := b.post("/login", url.Values{"name": {"alice"}, "password": {passwords["alice"]}})
	if r.Code != http.StatusTooManyRequests || r.Header().Get("Retry-After") == "" || !strings.Contains(r.body(), "Too many failed sign-ins") {
		t.Fatalf("the right password after %d failures: %d %v", app.SignInFailsPerName, r.Code, r.Header())
	}
	e.signedIn("bob") // another name from the same address is not held back yet
	es, _, err := e.app.Store.Audit(context.Background(), fb.AuditQuery{Page: fb.Page{Limit: 100}, Action: fb.AuditSignInFailure})
	if err != nil || len(es) != app.SignInFailsPerName || es[0].User != "alice" {
		t.Fatalf("audit: %v %v", es, err)
	}
}

// TestSignInFormCountsTheProxysClient checks that behind a trusted proxy the
// address limit counts X-Forwarded-For's client, and from anyone else the
// connection's own address.
func TestSignInFormCountsTheProxysClient(t *testing.T) {
	e := newEnv(t)
	e.web.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}
	post := func(remote, forwarded, name string) int {
		req := newRequest("POST", "/login", url.Values{"name": {name}, "password": {"wrong"}}.Encode())
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.RemoteAddr = remote
		req.Header.Set("X-Forwarded-For", forwarded)
		return e.browser().do(req).Code
	}
	for i := range app.SignInFailsPerAddr {
		// A new name each time: only the address limit can apply.
		if c := post("192.0.2.10:4000", "203.0.113.9", "nobody"+strings.Repeat("x", i)); c != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i+1, c)
		}
	}
	if c := post("192.0.2.10:4000", "203.0.113.9", "someone"); c != http.StatusTooManyRequests {
		t.Fatalf("the client behind the proxy after %d failures: %d", app.SignInFailsPerAddr, c)
	}
	if c := post("192.0.2.10:4000", "203.0.113.10", "someone"); c != http.StatusUnauthorized {
		t.Fatalf("another client behind the same proxy: %d", c)
	}
}

func TestWebAnswersCarryARequestID(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, path := range []string{"/login", "/repositories", "/api/v1/me", "/static/app.css"} {
		if r := b.get(path); r.Header().Get("X-Request-Id") == "" {
			t.Errorf("%s: no X-Request-Id", path)
		}
	}
}

func TestCrossSiteAPIRefusalIsJSON(t *testing.T) {
	e := newEnv(t)
	admin := e.signedIn("admin")
	req := newRequest("POST", "/api/v1/directory/projects", `{"key":"X"}`)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	r := admin.do(req)
	var body struct {
		Error struct{ Code, RequestID string }
	}
	if err := json.Unmarshal(r.Body.Bytes(), &body); err != nil || r.Code != http.StatusForbidden ||
		body.Error.Code != "forbidden" || body.Error.RequestID != r.Header().Get("X-Request-Id") {
		t.Fatalf("cross-site API request: %d %s", r.Code, r.body())
	}
	// A page's form gets the error page.
	req = newRequest("POST", "/admin/settings", "branchNameMaxLength=20")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if r := admin.do(req); r.Code != http.StatusForbidden || !strings.Contains(r.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("cross-site form: %d %v", r.Code, r.Header())
	}
}

func TestLargeFormIs413(t *testing.T) {
	e := newEnv(t)
	r := e.browser().post("/login", url.Values{"name": {strings.Repeat("a", 1<<20)}})
	if r.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("a form over 1 MiB: %d", r.Code)
	}
}
