package httpapi

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/gitmirror"
	"github.com/prometheus/client_golang/prometheus"
)

// route is one pattern registered in routes.go.
type route struct {
	method, path string // path in OpenAPI form
	authed       bool   // the handler is wrapped in s.authed
}

// httpMethods are the operation keys of an OpenAPI path item.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// registeredRoutes reads routes.go's source and returns every route given to
// mux.Handle or mux.HandleFunc as a "METHOD /path" literal. Reading the
// source, not a running mux, keeps the document tied to the code that serves.
func registeredRoutes(t *testing.T) []route {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "routes.go", nil, 0)
	if err != nil {
		t.Fatalf("parse routes.go: %v", err)
	}
	var routes []route
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) != 2 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || (sel.Sel.Name != "Handle" && sel.Sel.Name != "HandleFunc") {
			return true
		}
		if recv, ok := sel.X.(*ast.Ident); !ok || recv.Name != "mux" {
			return true
		}
		lit, ok := call.Args[0].(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			t.Errorf("routes.go: a mux.%s pattern is not a string literal; this test cannot check it", sel.Sel.Name)
			return true
		}
		pattern, err := strconv.Unquote(lit.Value)
		if err != nil {
			t.Fatalf("routes.go: pattern %s: %v", lit.Value, err)
		}
		if pattern == "/api/" {
			return true // the catch-all that answers not_found
		}
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			t.Errorf("routes.go: pattern %q has no method", pattern)
			return true
		}
		routes = append(routes, route{method: strings.ToLower(method), path: openAPIPath(path), authed: isAuthed(call.Args[1])})
		return true
	})
	if len(routes) == 0 {
		t.Fatal("no routes found in routes.go")
	}
	return routes
}

// isAuthed reports whether a handler expression is s.authed(…).
func isAuthed(e ast.Expr) bool {
	call, ok := e.(*ast.CallExpr)
	if !ok {
		return false
	}
	sel, ok := call.Fun.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "authed"
}

var wildcardRE = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_]*)(\.\.\.)?\}`)

// openAPIPath turns a ServeMux path into an OpenAPI one: "{name...}" becomes
// "{name}" and the end anchor "{$}" goes.
func openAPIPath(p string) string {
	p = strings.ReplaceAll(p, "{$}", "")
	return wildcardRE.ReplaceAllString(p, "{$1}")
}

func TestOpenAPIPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/api/v1/me", "/api/v1/me"},
		{"/api/v1/issues/{key}/branches", "/api/v1/issues/{key}/branches"},
		{"/files/{path...}", "/files/{path}"},
		{"/a/{x}/b/{y}", "/a/{x}/b/{y}"},
		{"/{$}", "/"},
	} {
		if got := openAPIPath(tc.in); got != tc.want {
			t.Errorf("openAPIPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// loadDoc reads openapi.json as the generic JSON tree.
func loadDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json is not valid JSON: %v", err)
	}
	return doc
}

// operations returns "method path" → operation object.
func operations(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("paths is missing or not an object")
	}
	ops := map[string]map[string]any{}
	for path, item := range paths {
		item, ok := item.(map[string]any)
		if !ok {
			t.Fatalf("paths[%q] is not an object", path)
		}
		for key, v := range item {
			if !slices.Contains(httpMethods, key) {
				continue
			}
			op, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("%s %s is not an object", key, path)
			}
			ops[key+" "+path] = op
		}
	}
	return ops
}

func TestOpenAPIDocumentHeader(t *testing.T) {
	doc := loadDoc(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] != "forgebridge" || info["version"] != "1" {
		t.Errorf("info title/version = %v/%v, want forgebridge/1", info["title"], info["version"])
	}
	scheme, _ := lookup(doc, "#/components/securitySchemes/apiToken").(map[string]any)
	if scheme["type"] != "http" || scheme["scheme"] != "bearer" {
		t.Errorf("securitySchemes.apiToken = %v, want an http bearer scheme", scheme)
	}
	global, _ := doc["security"].([]any)
	if len(global) != 1 {
		t.Fatalf("global security = %v, want [{apiToken: []}]", doc["security"])
	}
	if req, _ := global[0].(map[string]any); len(req) != 1 || req["apiToken"] == nil {
		t.Errorf("global security = %v, want [{apiToken: []}]", doc["security"])
	}
}

// TestOpenAPIFormatting keeps the file as json.Indent with two spaces
// writes it, so that edits diff cleanly.
func TestOpenAPIFormatting(t *testing.T) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, bytes.TrimSpace(openAPI), "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	if !bytes.Equal(buf.Bytes(), openAPI) {
		t.Error("openapi.json is not indented with 2 spaces (as json.Indent writes it) with one final newline")
	}
}

// TestOpenAPIMatchesRoutes checks both ways: every route is documented with
// its method and its authentication, and nothing is documented that is not served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadDoc(t)
	ops := operations(t, doc)
	served := map[string]bool{}
	for _, r := range registeredRoutes(t) {
		key := r.method + " " + r.path
		served[key] = true
		t.Run(key, func(t *testing.T) {
			op, ok := ops[key]
			if !ok {
				t.Fatalf("%s is served (routes.go) but not in openapi.json", key)
			}
			sec, overridden := op["security"].([]any)
			switch {
			case r.authed && overridden:
				t.Errorf("%s needs an API token but its operation overrides security with %v", key, sec)
			case !r.authed && (!overridden || len(sec) != 0):
				t.Errorf("%s needs no API token; its operation must say \"security\": []", key)
			}
			if r.authed {
				if _, ok := resolveResponse(t, doc, op, "401"); !ok {
					t.Errorf("%s needs an API token but documents no 401", key)
				}
			}
		})
	}
	for key := range ops {
		if !served[key] {
			t.Errorf("%s is in openapi.json but routes.go does not serve it", key)
		}
	}
}

func TestOpenAPIOperations(t *testing.T) {
	ops := operations(t, loadDoc(t))
	ids := map[string]string{}
	for key, op := range ops {
		id, _ := op["operationId"].(string)
		switch {
		case id == "":
			t.Errorf("%s has no operationId", key)
		case ids[id] != "":
			t.Errorf("operationId %q is used by %s and %s", id, ids[id], key)
		default:
			ids[id] = key
		}
		if s, _ := op["summary"].(string); s == "" {
			t.Errorf("%s has no summary", key)
		}
		if rs, _ := op["responses"].(map[string]any); len(rs) == 0 {
			t.Errorf("%s has no responses", key)
		}
	}
}

// TestOpenAPIPathParameters checks that each operation declares exactly the
// parameters its path template names.
func TestOpenAPIPathParameters(t *testing.T) {
	doc := loadDoc(t)
	for key, op := range operations(t, doc) {
		_, path, _ := strings.Cut(key, " ")
		var want []string
		for _, m := range wildcardRE.FindAllStringSubmatch(path, -1) {
			want = append(want, m[1])
		}
		var got []string
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			p := deref(t, doc, p)
			if p["in"] == "path" {
				name, _ := p["name"].(string)
				got = append(got, name)
				if p["required"] != true {
					t.Errorf("%s: path parameter %s is not required", key, name)
				}
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: path parameters %v, want %v", key, got, want)
		}
	}
}

func TestOpenAPIRefsResolve(t *testing.T) {
	doc := loadDoc(t)
	n := 0
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if k == "$ref" {
					n++
					ref, _ := c.(string)
					if !strings.HasPrefix(ref, "#/") {
						t.Errorf("%s: $ref %q is not a reference within the document", at, c)
					} else if lookup(doc, ref) == nil {
						t.Errorf("%s: $ref %q does not resolve", at, ref)
					}
					continue
				}
				walk(at+"/"+k, c)
			}
		case []any:
			for i, c := range v {
				walk(at+"/"+strconv.Itoa(i), c)
			}
		}
	}
	walk("#", doc)
	if n == 0 {
		t.Fatal("no $ref found; the walk is broken")
	}
}

// handlerStatus are error answers a handler writes itself, with a status
// other than statusOf's for their code: the webhook's body limit (index.go).
var handlerStatus = map[string]fb.Code{
	"post /api/v1/webhooks/{integrationId} 413": fb.EInvalid,
}

// TestOpenAPIErrorCodes checks the error vocabulary against errors.go: the
// ErrorCode enum holds every code of statusOf, and each error response
// documented under a status only names codes that errors.go (or, for
// handlerStatus, the handler) answers with it.
func TestOpenAPIErrorCodes(t *testing.T) {
	doc := loadDoc(t)
	enum, _ := lookup(doc, "#/components/schemas/ErrorCode/enum").([]any)
	var documented []string
	for _, c := range enum {
		documented = append(documented, c.(string))
	}
	var coded []string
	for c := range statusOf {
		coded = append(coded, string(c))
	}
	slices.Sort(documented)
	slices.Sort(coded)
	if !slices.Equal(documented, coded) {
		t.Errorf("ErrorCode enum = %v, want the codes of errors.go %v", documented, coded)
	}

	checked := 0
	for key, op := range operations(t, doc) {
		rs, _ := op["responses"].(map[string]any)
		for status := range rs {
			code, err := strconv.Atoi(status)
			if err != nil || code < 400 || !strings.Contains(key, " /api/v1/") {
				continue
			}
			resp, _ := resolveResponse(t, doc, op, status)
			codes := errorCodes(resp)
			if len(codes) == 0 {
				t.Errorf("%s %s: an error response without its codes (allOf Error + code enum)", key, status)
			}
			for _, c := range codes {
				checked++
				if handlerStatus[key+" "+status] == fb.Code(c) || (code == http.StatusRequestEntityTooLarge && c == string(fb.EInvalid)) {
					continue // a body over its limit: 413 invalid_request, whatever the route
				}
				if want, ok := statusOf[fb.Code(c)]; !ok || want != code {
					t.Errorf("%s: code %s documented under %d; errors.go answers it with %d", key, c, code, want)
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no error response checked")
	}
}

// TestOpenAPISchemasMatchAnswers marshals the answers json.go builds and
// checks them against their schemas: no field the schema lacks, every
// required field present, and with every field filled, every property present.
func TestOpenAPISchemasMatchAnswers(t *testing.T) {
	doc := loadDoc(t)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	integ := fb.Integration{ID: "i1", Name: "TFS", Kind: fb.KindTFS, BaseURL: "https://tfs.example.com/tfs/C", Region: "eu-west-1",
		ServerVersion: "2019", APIPath: "/x", RepositoryFilter: "[?a]", Projects: []string{"PROJ"}, Settings: fb.DefaultIntegrationSettings,
		ProxyURL: "http://proxy:3128", CABundle: "PEM", InsecureSkipTLSVerify: true, Credential: fb.Credential{Token: "t"},
		CredentialLogin: "svc", RepositoryCount: 1, DiscoveredAt: &now, CreatedAt: now, UpdatedAt: now}
	token := &fb.UserToken{IntegrationID: "i1", Login: "alice", Scopes: []string{"repo"}, ExpiresAt: &now, Status: fb.TokenValid,
		CheckedAt: &now, UpdatedAt: now}
	failed := fb.IndexState{RepositoryID: "r1", State: fb.IndexFailed, IndexedAt: &now, Commits: 42, ErrorCode: fb.ERateLimited,
		ErrorMessage: "GitHub's rate limit was hit.", RetryAt: &now}
	repo := app.RepositoryView{Repository: fb.Repository{ID: "r1", IntegrationID: "i1", Name: "app", FullName: "Proj/app",
		DefaultBranch: "main", WebURL: "https://tfs.example.com/app"}, Integration: integ, Token: token, Index: failed}
	pr := fb.PullRequest{ID: "7", Number: 7, Title: "PROJ-1 x", WebURL: "https://tfs.example.com/pr/7", SourceBranch: "PROJ-1-x",
		TargetBranch: "main", State: fb.PullOpen, Draft: true, Author: "alice", UpdatedAt: now}
	merged, declined, created := pr, pr, pr
	merged.State, merged.Draft = fb.PullMerged, false
	declined.State, declined.Draft = fb.PullDeclined, false
	created.State, created.Draft, created.Author, created.UpdatedAt = "", false, "", time.Time{} // opened from forgebridge, not indexed yet
	commit := app.CommitView{Commit: fb.Commit{RepositoryID: "r1", SHA: "0123456789abcdef0123456789abcdef01234567",
		Message: "PROJ-1 fix\n\nLonger body.", AuthorName: "Alice", AuthorEmail: "alice@example.com", AuthoredAt: now},
		WebURL: "https://tfs.example.com/app/commit/0123456", User: &fb.User{Name: "alice", DisplayName: "Alice A."}}
	stranger := commit
	stranger.User, stranger.WebURL = nil, ""
	issue := app.IssueView{Issue: fb.Issue{Key: "PROJ-1", Summary: "x", Type: "Bug", Project: "PROJ"},
		CanUseDevTools: true, BranchNameSuggestion: "PROJ-1-x", Repositories: []app.RepositoryView{repo},
		Branches: []fb.IssueBranch{{RepositoryID: "r1", Name: "PROJ-1-x", SHA: "0123456789abcdef0123456789abcdef01234567",
			WebURL: "https://tfs.example.com/b"}},
		PullRequests: []fb.IssuePullRequest{{RepositoryID: "r1", PullRequest: pr}, {RepositoryID: "r1", PullRequest: merged},
			{RepositoryID: "r1", PullRequest: declined}, {RepositoryID: "r1", PullRequest: created}},
		TrackerLinks: map[string]string{pr.WebURL: "linked"},
		Commits:      []app.CommitView{commit, stranger}, CommitCount: 21, CommitsNext: "c",
		Tags: []app.TagView{{IssueTag: fb.IssueTag{IssueKey: "PROJ-1", RepositoryID: "r1", Name: "v1.0.0",
			SHA: "0123456789abcdef0123456789abcdef01234567"}, WebURL: "https://tfs.example.com/app/tag/v1.0.0"}},
		Activity: &fb.IssueActivity{Status: "In Progress",
			Comments: []fb.IssueComment{{Author: "alice", Body: "Ready for review", Created: now}},
			Worklog:  []fb.WorkLog{{Author: "alice", TimeSpentSeconds: 7200, Comment: "Fixed the parser", Started: now, Created: now}}}}
	// The reindex routes' answers, checked against the operations' own schemas.
	reindexIntegration := "#/paths/~1api~1v1~1integrations~1{id}~1reindex/post/responses/202/content/application~1json/schema"
	reindexRepository := "#/paths/~1api~1v1~1repositories~1{id}~1reindex/post/responses/202/content/application~1json/schema"
	audit := fb.AuditEntry{Time: now, User: "alice", Action: fb.AuditBranchCreate, IntegrationID: "i1", RepositoryID: "r1",
		Issue: "PROJ-1", Target: "PROJ-1-x", Actor: fb.Actor{Type: fb.ActorUser, Login: "alice"}, Outcome: fb.AuditOutcomeFailure,
		Code: string(fb.ERateLimited)}

	for _, tc := range []struct {
		name, schema string // schema: a component's name or a "#/…" pointer
		value        any
		full         bool // every property of the schema is filled
	}{
		{"integration", "Integration", toIntegration(integ, webhookJSON{URL: "https://fb.example.com/api/v1/webhooks/i1", SecretConfigured: true}), true},
		{"new integration", "Integration", toIntegration(fb.Integration{Kind: fb.KindGitHub}, webhookJSON{}), false},
		{"repository with token and a failed index", "Repository", toRepository(repo), true},
		{"repository without token, never indexed", "Repository", toRepository(app.RepositoryView{Integration: fb.Integration{Kind: fb.KindGitLab}}), false},
		{"issue search page", "IssueSearchPage", paged{Values: []app.IssueResult{{Key: "PROJ-1", Commits: 2, Branches: 1,
			PullRequests: 1, LastActivity: now}}, Next: "/api/v1/search/issues?cursor=x"}, true},
		{"repository page", "RepositoryPage", paged{Values: toRepositories([]app.RepositoryView{repo}), Next: "/api/v1/repositories?cursor=x"}, true},
		{"last repository page", "RepositoryPage", paged{Values: toRepositories(nil)}, false},
		{"token entry", "TokenEntry", toTokenEntry(app.TokenEntry{Integration: integ, Required: true, Token: token}), true},
		{"token entry without token", "TokenEntry", toTokenEntry(app.TokenEntry{Integration: integ}), false},
		{"issue with git data", "Issue", toIssue(issue, "/api/v1/issues/PROJ-1/commits?cursor=c&limit=20"), true},
		{"issue with nothing recorded", "Issue", toIssue(app.IssueView{Issue: fb.Issue{Key: "PROJ-1", Project: "PROJ"}, CanUseDevTools: true}, ""), false},
		{"commit page", "CommitPage", paged{Values: toCommits([]app.CommitView{commit, stranger}), Next: "/api/v1/issues/PROJ-1/commits?cursor=x&limit=20"}, true},
		{"last commit page", "CommitPage", paged{Values: toCommits(nil)}, false},
		{"commit diff", "CommitDiff", toCommitDiff(app.CommitDiffView{CommitDiff: gitmirror.CommitDiff{
			Commit: gitmirror.Commit{SHA: commit.SHA, Message: commit.Message, AuthorName: "Alice", AuthorEmail: "alice@example.com",
				AuthoredAt: now, Parents: []string{"1123456789abcdef0123456789abcdef01234567"}},
			Files: []gitmirror.FileChange{{Path: "b.go", OldPath: "a.go", Status: "renamed", Additions: 1, Deletions: 2,
				Patch: "@@ -1 +1 @@\n-a\n+b\n", Truncated: true}, {Path: "x.bin", Status: "added", Binary: true}},
			Truncated: true}, Repository: repo.Repository, WebURL: commit.WebURL, User: commit.User, Issues: []string{"PROJ-1"}}), true},
		{"root commit diff", "CommitDiff", toCommitDiff(app.CommitDiffView{}), false},
		{"index state of a reindexed repository", reindexRepository, indexStateJSON{RepositoryID: "r1", indexJSON: toIndex(failed)}, true},
		{"index states of a reindexed integration", reindexIntegration, []indexStateJSON{
			{RepositoryID: "r1", indexJSON: toIndex(fb.IndexState{RepositoryID: "r1", State: fb.IndexQueued, IndexedAt: &now, Commits: 7})},
			{RepositoryID: "r2", indexJSON: toIndex(fb.IndexState{RepositoryID: "r2"})}}, false},
		{"audit page", "AuditPage", paged{Values: toAudit([]fb.AuditEntry{audit}), Next: "/api/v1/audit?cursor=x"}, true},
		{"audit entry without provider call", "AuditEntry", toAudit([]fb.AuditEntry{{Time: now, User: "bob",
			Action: fb.AuditSettingsUpdate, Outcome: fb.AuditOutcomeSuccess}})[0], false},
		{"settings", "Settings", fb.DefaultSettings, true},
		{"error", "Error", errorBody{errorJSON{Code: fb.EAlreadyExists, Message: "m", IntegrationID: "i1", RetryAfter: 1,
			MissingScopes: []string{"repo"}, Existing: &fb.Existing{Name: "b", ID: "1", Number: 1, WebURL: "https://x"}, RequestID: "r1"}}, true},
		{"plain error", "Error", errorBody{errorJSON{Code: fb.ENotFound, Message: "m"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.value)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			ref := tc.schema
			if !strings.HasPrefix(ref, "#/") {
				ref = "#/components/schemas/" + ref
			}
			checkShape(t, doc, tc.schema, lookup(doc, ref), v, tc.full)
		})
	}
}

// checkShape compares a JSON value's object keys with a schema's properties,
// recursively through $ref, allOf, oneOf and array items, and each value
// with the schema's type, enum and const.
func checkShape(t *testing.T, doc map[string]any, at string, schema, v any, full bool) {
	t.Helper()
	s := deref(t, doc, schema)
	if s == nil {
		t.Fatalf("%s: no schema", at)
	}
	if !fits(t, doc, s, v) {
		t.Errorf("%s: %#v does not fit the schema's type, enum or const", at, v)
		return
	}
	switch v := v.(type) {
	case []any:
		for i, item := range v {
			checkShape(t, doc, at+"/"+strconv.Itoa(i), s["items"], item, full)
		}
	case map[string]any:
		props, required := objectSchema(t, doc, s)
		if props == nil {
			t.Fatalf("%s: the schema describes no object", at)
		}
		for k, c := range v {
			p, ok := props[k]
			if !ok {
				t.Errorf("%s: the answer has %q, which the schema lacks", at, k)
				continue
			}
			checkShape(t, doc, at+"/"+k, p, c, full)
		}
		for _, k := range required {
			if _, ok := v[k]; !ok {
				t.Errorf("%s: required %q is missing from the answer", at, k)
			}
		}
		if full {
			for k := range props {
				if _, ok := v[k]; !ok {
					t.Errorf("%s: %q is never answered", at, k)
				}
			}
		}
	}
}

// fits reports whether a value has a type the schema allows and, for a
// scalar, is one of its enum and equals its const, through allOf and oneOf
// (some alternative fits).
func fits(t *testing.T, doc, s map[string]any, v any) bool {
	t.Helper()
	for _, part := range asList(s["allOf"]) {
		if !fits(t, doc, deref(t, doc, part), v) {
			return false
		}
	}
	if alts := asList(s["oneOf"]); len(alts) > 0 && !slices.ContainsFunc(alts, func(alt any) bool {
		return fits(t, doc, deref(t, doc, alt), v)
	}) {
		return false
	}
	if types := asTypes(s["type"]); len(types) > 0 && !slices.ContainsFunc(types, func(ty string) bool { return isJSONType(v, ty) }) {
		return false
	}
	switch v.(type) {
	case map[string]any, []any:
		return true
	}
	if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, v) {
		return false
	}
	if c, ok := s["const"]; ok && c != v {
		return false
	}
	return true
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// asTypes reads a schema's "type": one name or a list of names.
func asTypes(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	return asStrings(v)
}

// isJSONType reports whether a decoded JSON value is of a JSON Schema type.
func isJSONType(v any, ty string) bool {
	switch v := v.(type) {
	case nil:
		return ty == "null"
	case bool:
		return ty == "boolean"
	case string:
		return ty == "string"
	case float64:
		return ty == "number" || ty == "integer" && v == math.Trunc(v)
	case map[string]any:
		return ty == "object"
	case []any:
		return ty == "array"
	}
	return false
}

// objectSchema collects the properties and required names of an object
// schema, merging allOf parts and picking the object variant of a oneOf.
func objectSchema(t *testing.T, doc, s map[string]any) (props map[string]any, required []string) {
	t.Helper()
	var parts []any
	if all, ok := s["allOf"].([]any); ok {
		parts = all
	} else if one, ok := s["oneOf"].([]any); ok {
		parts = one[:1]
		for _, alt := range one {
			if deref(t, doc, alt)["type"] == "object" {
				parts = []any{alt}
				break
			}
		}
	}
	if ps, ok := s["properties"].(map[string]any); ok {
		props = maps.Clone(ps)
	}
	required = append(required, asStrings(s["required"])...)
	for _, part := range parts {
		pp, rr := objectSchema(t, doc, deref(t, doc, part))
		if props == nil && pp != nil {
			props = map[string]any{}
		}
		maps.Copy(props, pp)
		required = append(required, rr...)
	}
	return props, required
}

func asStrings(v any) []string {
	list, _ := v.([]any)
	var out []string
	for _, s := range list {
		if s, ok := s.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// TestOpenAPIServed checks that the document is served as it is, without a token.
func TestOpenAPIServed(t *testing.T) {
	s := &Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Gatherer: prometheus.NewRegistry()}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		t.Errorf("GET /api/v1/openapi.json: %d %s, want 200 application/json", res.StatusCode, res.Header.Get("Content-Type"))
	}
	want, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, want) {
		t.Error("the served document differs from openapi.json")
	}
}

// lookup resolves a local JSON pointer ("#/a/b") in doc; nil when it does not.
func lookup(doc any, ref string) any {
	ptr, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil
	}
	cur := doc
	if ptr == "" {
		return cur
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// deref follows a $ref (transitively) to the object it names.
func deref(t *testing.T, doc map[string]any, v any) map[string]any {
	t.Helper()
	for range 10 {
		m, _ := v.(map[string]any)
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		v = lookup(doc, ref)
	}
	t.Fatalf("$ref chain too long at %v", v)
	return nil
}

// resolveResponse returns an operation's response object for a status.
func resolveResponse(t *testing.T, doc, op map[string]any, status string) (map[string]any, bool) {
	t.Helper()
	rs, _ := op["responses"].(map[string]any)
	r, ok := rs[status]
	if !ok {
		return nil, false
	}
	return deref(t, doc, r), true
}

// errorCodes returns the codes an error response names: the enum of
// error.code in the allOf that narrows the Error schema.
func errorCodes(resp map[string]any) []string {
	schema, _ := lookup(resp, "#/content/application~1json/schema").(map[string]any)
	all, _ := schema["allOf"].([]any)
	var out []string
	for _, part := range all {
		enum, _ := lookup(part, "#/properties/error/properties/code/enum").([]any)
		for _, c := range enum {
			if s, ok := c.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}
