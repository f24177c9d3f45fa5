package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider/codecommit/fakecodecommit"
	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
)

// More tokens of the fake GitHub's accounts: another of the service
// account's (acme-bot), and another of alice's account (alice-gh).
const (
	serviceToken2 = "ghp_service200000000000000000000000000000"
	aliceToken2   = "ghp_alice2000000000000000000000000000000"
	bobToken      = "ghp_bob00000000000000000000000000000000"
)

func newTokensEnv(t *testing.T) *env {
	e := newEnv(t)
	e.gh.AddToken(serviceToken2, fakegithub.Token{Login: "acme-bot", Scopes: []string{"repo"}})
	e.gh.AddToken(aliceToken2, fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}})
	e.gh.AddToken(bobToken, fakegithub.Token{Login: "bob-gh", Scopes: []string{"repo"}})
	// bob may create branches too, so his dialog tokens reach the rule.
	if r := e.json("PUT", "/api/v1/directory/projects/PROJ/permissions/bob", e.admin,
		`{"permissions":["BROWSE_PROJECTS","VIEW_DEV_TOOLS"]}`); r.status != 200 {
		t.Fatalf("permissions: %d %s", r.status, r.body)
	}
	return e
}

func (e *env) json(method, path, token, body string) reply {
	e.t.Helper()
	return e.do(method, path, token, body, "Content-Type", "application/json")
}

type tokenEntry struct {
	IntegrationID   string  `json:"integrationId"`
	IntegrationName string  `json:"integrationName"`
	Configured      bool    `json:"configured"`
	Status          *string `json:"status"`
	Login           *string `json:"login"`
}

func (e *env) myTokens(token string) map[string]tokenEntry {
	e.t.Helper()
	r := e.do("GET", "/api/v1/me/tokens", token, nil)
	if r.status != 200 {
		e.t.Fatalf("GET /me/tokens: %d %s", r.status, r.body)
	}
	var list []tokenEntry
	if err := json.Unmarshal(r.body, &list); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]tokenEntry{}
	for _, t := range list {
		out[t.IntegrationID] = t
	}
	return out
}

func (e *env) branchBody(name, token string, remember bool) string {
	return fmt.Sprintf(`{"repositoryId":%q,"name":%q,"token":%q,"rememberToken":%t}`, e.repoID, name, token, remember)
}

// TestTokenNotPersonal: a token of the service account, or of an account
// another person saved a token of, is refused as a person's own, saved or
// typed in, and nothing is saved or created.
func TestTokenNotPersonal(t *testing.T) {
	e := newTokensEnv(t)
	put := func(user, token string) reply {
		return e.json("PUT", "/api/v1/me/tokens/"+e.integrationID, user, fmt.Sprintf(`{"token":%q}`, token))
	}
	if r := put(e.alice, aliceToken); r.status != 200 {
		t.Fatalf("alice saves her own: %d %s", r.status, r.body)
	}
	tests := []struct {
		name, user, token string
	}{
		{"the service credential itself", e.bob, serviceToken},
		{"another token of the service account", e.bob, serviceToken2},
		{"alice's token, saved by bob", e.bob, aliceToken},
		{"another token of alice's account, saved by bob", e.bob, aliceToken2},
	}
	for _, tt := range tests {
		t.Run("save "+tt.name, func(t *testing.T) {
			r := put(tt.user, tt.token)
			if r.status != 422 || r.code() != "token_not_personal" || strings.Contains(string(r.body), tt.token) {
				t.Fatalf("PUT = %d %s, want 422 token_not_personal", r.status, r.body)
			}
			if got := e.myTokens(tt.user)[e.integrationID]; got.Configured {
				t.Fatalf("a refused token was saved: %+v", got)
			}
		})
		for _, remember := range []bool{false, true} {
			t.Run(fmt.Sprintf("typed in (remember %t) %s", remember, tt.name), func(t *testing.T) {
				before := len(e.gh.Calls())
				name := fmt.Sprintf("PROJ-1-np-%d", before)
				r := e.json("POST", "/api/v1/issues/PROJ-1/branches", tt.user, e.branchBody(name, tt.token, remember))
				if r.status != 422 || r.code() != "token_not_personal" {
					t.Fatalf("POST = %d %s, want 422 token_not_personal", r.status, r.body)
				}
				for _, c := range e.gh.Calls()[before:] {
					if c.Method == "POST" {
						t.Errorf("a refused token wrote to GitHub: %s %s", c.Method, c.Path)
					}
				}
				if got := e.myTokens(tt.user)[e.integrationID]; got.Configured {
					t.Fatalf("a refused token was saved: %+v", got)
				}
			})
		}
	}
	// Her own account's other token is hers to save and use.
	if r := put(e.alice, aliceToken2); r.status != 200 {
		t.Fatalf("alice replaces hers with another of her account's: %d %s", r.status, r.body)
	}
	r := e.json("POST", "/api/v1/issues/PROJ-1/branches", e.alice, e.branchBody("PROJ-1-own", aliceToken, false))
	if r.status != 201 || !strings.Contains(string(r.body), `"login":"alice-gh"`) {
		t.Fatalf("alice types her own first token: %d %s", r.status, r.body)
	}
	// Once alice removes hers, bob may save a token of his own account,
	// and alice's account is free again.
	if r := put(e.bob, bobToken); r.status != 200 {
		t.Fatalf("bob saves his own: %d %s", r.status, r.body)
	}
}

// TestBlankTypedTokenIsNone sends a blank token with rememberToken down the
// whole path: it never removes the saved token and never lets the service
// account act where a person's token is required.
func TestBlankTypedTokenIsNone(t *testing.T) {
	e := newTokensEnv(t)
	if r := e.json("PATCH", "/api/v1/integrations/"+e.integrationID, e.admin, `{"settings":{"requireUserPat":true}}`); r.status != 200 {
		t.Fatalf("require PAT: %d %s", r.status, r.body)
	}
	for _, blank := range []string{"", "   ", "\t \n"} {
		before := len(e.gh.Calls())
		r := e.json("POST", "/api/v1/issues/PROJ-1/branches", e.alice, e.branchBody("PROJ-1-none", blank, true))
		if r.status != 428 || r.code() != "pat_required" {
			t.Fatalf("blank %q without a saved token: %d %s, want 428 pat_required", blank, r.status, r.body)
		}
		if calls := e.gh.Calls()[before:]; len(calls) != 0 {
			t.Fatalf("blank %q without a saved token called GitHub: %+v", blank, calls[0].Path)
		}
	}
	if r := e.json("PUT", "/api/v1/me/tokens/"+e.integrationID, e.alice, fmt.Sprintf(`{"token":%q}`, aliceToken)); r.status != 200 {
		t.Fatalf("save: %d %s", r.status, r.body)
	}
	for i, blank := range []string{"   ", "\t"} {
		r := e.json("POST", "/api/v1/issues/PROJ-1/branches", e.alice, e.branchBody(fmt.Sprintf("PROJ-1-b%d", i), blank, true))
		if r.status != 201 || !strings.Contains(string(r.body), `"actor":{"type":"user","login":"alice-gh"}`) {
			t.Fatalf("branch with blank %q: %d %s, want 201 by alice-gh", blank, r.status, r.body)
		}
		if got := e.myTokens(e.alice)[e.integrationID]; !got.Configured {
			t.Fatalf("a blank typed-in token removed the saved one: %+v", got)
		}
	}
	body := fmt.Sprintf(`{"repositoryId":%q,"sourceBranch":"PROJ-1-work","token":"  ","rememberToken":true}`, e.repoID)
	r := e.json("POST", "/api/v1/issues/PROJ-1/pull-requests", e.alice, body)
	if r.status != 201 || !strings.Contains(string(r.body), `"login":"alice-gh"`) {
		t.Fatalf("pull request with a blank token: %d %s, want 201 by alice-gh", r.status, r.body)
	}
	if got := e.myTokens(e.alice)[e.integrationID]; !got.Configured {
		t.Fatalf("a blank typed-in token removed the saved one: %+v", got)
	}
}

// TestExpiredSavedToken: past its expiry a saved token shows expired and an
// action with it is 428 pat_invalid before any call to GitHub.
func TestExpiredSavedToken(t *testing.T) {
	e := newTokensEnv(t)
	start := time.Now().UTC()
	expires := start.Add(24 * time.Hour).Truncate(time.Second)
	const expiring = "ghp_expiring0000000000000000000000000000"
	e.gh.AddToken(expiring, fakegithub.Token{Login: "alice-gh", Scopes: []string{"repo"}, ExpiresAt: &expires})
	if r := e.json("PUT", "/api/v1/me/tokens/"+e.integrationID, e.alice, fmt.Sprintf(`{"token":%q}`, expiring)); r.status != 200 ||
		!strings.Contains(string(r.body), `"status":"valid"`) {
		t.Fatalf("save: %d %s", r.status, r.body)
	}
	e.svc.Now = func() time.Time { return expires.Add(time.Minute) }
	if got := e.myTokens(e.alice)[e.integrationID]; got.Status == nil || *got.Status != "expired" {
		t.Fatalf("GET /me/tokens entry %+v, want status expired", got)
	}
	r := e.do("GET", "/api/v1/repositories/"+e.repoID, e.alice, nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"status":"expired"`) {
		t.Fatalf("repository: %d %s, want userToken.status expired", r.status, r.body)
	}
	before := e.gh.CallCount()
	for path, body := range map[string]string{
		"branches":      fmt.Sprintf(`{"repositoryId":%q,"name":"PROJ-1-late"}`, e.repoID),
		"pull-requests": fmt.Sprintf(`{"repositoryId":%q,"sourceBranch":"PROJ-1-work"}`, e.repoID),
	} {
		r := e.json("POST", "/api/v1/issues/PROJ-1/"+path, e.alice, body)
		if r.status != 428 || r.code() != "pat_invalid" || !strings.Contains(string(r.body), `"integrationId":"`+e.integrationID+`"`) {
			t.Fatalf("%s with an expired token: %d %s, want 428 pat_invalid", path, r.status, r.body)
		}
	}
	if n := e.gh.CallCount(); n != before {
		t.Fatalf("GitHub was called %d times with an expired token, want none", n-before)
	}
}

// TestMyTokensListsOnlyWhatThePersonMaySee: integrations serving a project
// the person may browse, and any where they hold a token.
func TestMyTokensListsOnlyWhatThePersonMaySee(t *testing.T) {
	e := newTokensEnv(t)
	other := fmt.Sprintf(`{"name":"Other","kind":"github","baseUrl":%q,"credential":{"token":%q},"projects":["OTHER"]}`, e.gh.URL(), serviceToken)
	r := e.json("POST", "/api/v1/integrations", e.admin, other)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var created struct{ ID string }
	_ = json.Unmarshal(r.body, &created)
	if got := e.myTokens(e.alice); len(got) != 2 {
		t.Fatalf("alice (PROJ and OTHER) sees %v, want both", got)
	}
	if got := e.myTokens(e.bob); len(got) != 1 || got[e.integrationID].IntegrationName != "Acme" {
		t.Fatalf("bob (PROJ only) sees %v, want Acme alone", got)
	}
	// A token bob holds keeps its integration listed, whatever he may browse.
	if r := e.json("PUT", "/api/v1/me/tokens/"+created.ID, e.bob, fmt.Sprintf(`{"token":%q}`, bobToken)); r.status != 200 {
		t.Fatalf("bob saves: %d %s", r.status, r.body)
	}
	if r := e.json("PUT", "/api/v1/directory/projects/PROJ/permissions/bob", e.admin, `{"permissions":[]}`); r.status != 200 {
		t.Fatalf("permissions: %d %s", r.status, r.body)
	}
	if got := e.myTokens(e.bob); len(got) != 1 || !got[created.ID].Configured {
		t.Fatalf("bob (no project, a token for Other) sees %v, want Other alone", got)
	}
}

// TestConcurrentSaveOfOneAccount: people saving tokens of one account at
// once: exactly one succeeds, the others get token_not_personal.
func TestConcurrentSaveOfOneAccount(t *testing.T) {
	e := newTokensEnv(t)
	users := []string{e.alice, e.bob, e.admin}
	tokens := []string{aliceToken, aliceToken2, aliceToken}
	replies := make([]reply, len(users))
	var wg sync.WaitGroup
	for i := range users {
		wg.Go(func() {
			replies[i] = e.json("PUT", "/api/v1/me/tokens/"+e.integrationID, users[i], fmt.Sprintf(`{"token":%q}`, tokens[i]))
		})
	}
	wg.Wait()
	ok := 0
	for i, r := range replies {
		switch {
		case r.status == 200:
			ok++
		case r.status != 422 || r.code() != "token_not_personal":
			t.Errorf("person %d: %d %s", i, r.status, r.body)
		}
	}
	if ok != 1 {
		t.Fatalf("%d people saved alice-gh's tokens, want exactly 1", ok)
	}
	saved, err := e.svc.Store.IntegrationUserTokens(context.Background(), e.integrationID)
	if err != nil || len(saved) != 1 {
		t.Fatalf("tokens stored: %d, %v; want 1", len(saved), err)
	}
}

// TestAttributionOfTokensSavedBefore: an integration and tokens saved
// before provider ids were kept learn them at their next validation: the
// service account's id when a person's token is checked against it, a
// token's own at revalidation, where a second person's token of one
// account is not theirs and turns invalid.
func TestAttributionOfTokensSavedBefore(t *testing.T) {
	e := newTokensEnv(t)
	ctx := context.Background()
	st := e.svc.Store
	in, err := st.Integration(ctx, e.integrationID)
	if err != nil || in.CredentialUserID == "" {
		t.Fatalf("a new integration has service account id %q (%v)", in.CredentialUserID, err)
	}
	// As if saved before: no ids anywhere.
	if err := st.RecordCredentialUserID(ctx, in, ""); err != nil {
		t.Fatal(err)
	}
	r := e.json("PUT", "/api/v1/me/tokens/"+e.integrationID, e.bob, fmt.Sprintf(`{"token":%q}`, serviceToken2))
	if r.status != 422 || r.code() != "token_not_personal" {
		t.Fatalf("service account's token before its id was kept: %d %s", r.status, r.body)
	}
	if again, _ := st.Integration(ctx, e.integrationID); again.CredentialUserID != in.CredentialUserID {
		t.Errorf("the service account id learnt is %q, want %q", again.CredentialUserID, in.CredentialUserID)
	}
	for user, token := range map[string]string{"alice": aliceToken, "bob": aliceToken2} {
		tok := fb.UserToken{UserKey: user, IntegrationID: e.integrationID, Credential: fb.Credential{Token: token}, Status: fb.TokenValid}
		if err := st.PutUserToken(ctx, &tok); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := e.svc.RevalidateTokens(ctx, e.integrationID); err != nil {
		t.Fatal(err)
	}
	statuses := map[string]fb.TokenStatus{}
	for _, user := range []string{"alice", "bob"} {
		tok, err := st.UserToken(ctx, user, e.integrationID)
		if err != nil {
			t.Fatal(err)
		}
		statuses[string(tok.Status)+map[bool]string{true: "+id", false: ""}[tok.ProviderUserID != ""]] = tok.Status
	}
	if _, ok := statuses["valid+id"]; !ok || len(statuses) != 2 {
		t.Fatalf("after revalidation: %v, want one valid with its id and one invalid", statuses)
	}
	if _, ok := statuses["invalid"]; !ok {
		t.Fatalf("after revalidation: %v, want the second token of the account invalid", statuses)
	}
}

// TestCodeCommitTokenSave: a person's access key is checked with STS and
// one repository of the integration (GetRepository), never an account-wide
// ListRepositories; a key of the service's IAM user is not a person's own.
func TestCodeCommitTokenSave(t *testing.T) {
	e := newTokensEnv(t)
	cc := fakecodecommit.New("eu-west-1")
	t.Cleanup(cc.Close)
	const account = "arn:aws:iam::123456789012:user/"
	cc.AddKey("AKIASERVICE000000001", "service/secret/0000000000000000000000", fakecodecommit.Key{ARN: account + "forgebridge"})
	cc.AddKey("AKIASERVICE000000002", "service/secret/2222222222222222222222", fakecodecommit.Key{ARN: account + "forgebridge"})
	cc.AddKey("AKIAALICE00000000001", "alice/secret/11111111111111111111111", fakecodecommit.Key{ARN: account + "alice"})
	cc.AddKey("AKIANOCODECOMMIT0001", "nocc/secret/000000000000000000000000",
		fakecodecommit.Key{ARN: account + "s3-only", Deny: []string{"codecommit:GetRepository"}})
	cc.AddRepo("app", "main")
	body := fmt.Sprintf(`{"name":"AWS","kind":"codecommit","region":"eu-west-1","baseUrl":%q,"projects":["PROJ"],
		"credential":{"accessKeyId":"AKIASERVICE000000001","secretAccessKey":"service/secret/0000000000000000000000"}}`, cc.URL())
	r := e.json("POST", "/api/v1/integrations", e.admin, body)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var in struct{ ID string }
	_ = json.Unmarshal(r.body, &in)
	put := func(keyID, secret string) reply {
		return e.json("PUT", "/api/v1/me/tokens/"+in.ID, e.alice, fmt.Sprintf(`{"accessKeyId":%q,"secretAccessKey":%q}`, keyID, secret))
	}
	cc.ResetCalls()
	r = put("AKIANOCODECOMMIT0001", "nocc/secret/000000000000000000000000")
	if r.status != 422 || r.code() != "provider_denied" || !strings.Contains(string(r.body), `"missingScopes":["codecommit:GetRepository"]`) {
		t.Fatalf("key without CodeCommit: %d %s, want provider_denied naming codecommit:GetRepository", r.status, r.body)
	}
	r = put("AKIASERVICE000000002", "service/secret/2222222222222222222222")
	if r.status != 422 || r.code() != "token_not_personal" {
		t.Fatalf("another key of the service's IAM user: %d %s, want token_not_personal", r.status, r.body)
	}
	r = put("AKIAALICE00000000001", "alice/secret/11111111111111111111111")
	if r.status != 200 || !strings.Contains(string(r.body), `"login":"`+account+`alice"`) {
		t.Fatalf("alice's own key: %d %s", r.status, r.body)
	}
	for _, c := range cc.Calls() {
		if c.Operation == "ListRepositories" || c.Operation == "BatchGetRepositories" {
			t.Errorf("saving a token listed the account's repositories (%s)", c.Operation)
		}
	}
}
