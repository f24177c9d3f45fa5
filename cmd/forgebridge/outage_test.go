package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

// pgProxy is a TCP proxy in front of PostgreSQL that a test cuts and
// restores: cut drops every connection and refuses new ones at once (as a
// restarting server does) without touching the server others use.
type pgProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

func newPGProxy(t *testing.T, target string) *pgProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	return p
}

func (p *pgProxy) serve(c net.Conn) {
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		c.Close()
		return
	}
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down { // cut while dialing
		p.mu.Unlock()
		c.Close()
		s.Close()
		return
	}
	p.conns[c], p.conns[s] = struct{}{}, struct{}{}
	p.mu.Unlock()
	go func() { io.Copy(s, c); s.Close(); c.Close() }()
	io.Copy(c, s)
	c.Close()
	s.Close()
}

func (p *pgProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

func (p *pgProxy) restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = false
}

// try is call for a load's goroutine: a request that gets no complete
// answer is status 0 with the error as its code, for the test to count.
func (p *program) try(method, path, token string, body any) answer {
	a, err := p.send(p.client(), method, path, token, body)
	if err != nil {
		return answer{body: map[string]any{"error": map[string]any{"code": "no complete answer: " + err.Error()}}}
	}
	return a
}

// send makes one request with client and reads the whole answer.
func (p *program) send(client *http.Client, method, path, token string, body any) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.base+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return answer{}, err
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a, nil
}

// TestPostgresOutage cuts PostgreSQL away from a serving program under
// load, the moment GitHub has created a branch and before its record is
// written, then brings it back: meanwhile every request gets a complete
// answer — success or 503 service_unavailable with Retry-After, never an
// internal error — and afterwards the same process serves again without a
// restart, the branch made during the outage is recorded, and every branch
// the host created has exactly one audit entry.
func TestPostgresOutage(t *testing.T) {
	gh := fakegithub.New()
	defer gh.Close()
	gh.AddToken("ghp_svc", fakegithub.Token{Login: "bot", Scopes: []string{"repo"}})
	repo := gh.AddRepo("acme/app", "main")

	dsn, err := url.Parse(storetest.NewPostgresDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := newPGProxy(t, dsn.Host)
	dsn.Host = proxy.ln.Addr().String()

	// GitHub, seen through a proxy that cuts the database once GitHub has
	// answered a create of a branch named …-outage.
	target, _ := url.Parse(gh.URL())
	rp := httputil.NewSingleHostReverseProxy(target)
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" && strings.HasSuffix(r.URL.Path, "/git/refs") {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(strings.NewReader(string(body)))
			if strings.Contains(string(body), "-outage") {
				rec := httptest.NewRecorder()
				rp.ServeHTTP(rec, r)
				proxy.cut()
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				w.Write(rec.Body.Bytes())
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	defer host.Close()

	p := newProgram(t, map[string]string{"FORGEBRIDGE_DATABASE": dsn.String(), "FORGEBRIDGE_REINDEX": "-1s"})
	admin, err := p.cli("", "users", "add", "admin", "--admin", "--create")
	if err != nil {
		t.Fatal(err)
	}
	admin = strings.TrimSpace(admin)
	p.serve()
	defer p.shutdown()
	p.must(p.call("POST", "/api/v1/directory/projects", admin, map[string]any{"key": "PROJ"}), 201, "project")
	p.must(p.call("PUT", "/api/v1/directory/projects/PROJ/permissions/admin", admin,
		map[string]any{"permissions": []string{"BROWSE_PROJECTS", "VIEW_DEV_TOOLS"}}), 200, "permissions")
	p.must(p.call("POST", "/api/v1/directory/issues", admin, map[string]any{"key": "PROJ-1", "summary": "Work"}), 201, "issue")
	p.must(p.call("POST", "/api/v1/integrations", admin, map[string]any{"name": "GH", "kind": "github", "baseUrl": host.URL,
		"credential": map[string]any{"token": "ghp_svc"}}), 201, "integration")
	repoID := p.must(p.call("GET", "/api/v1/repositories", admin, nil), 200, "repositories").list_("values")[0].(map[string]any)["id"].(string)

	// Load: readers and a writer of branches, each answer noted.
	var (
		mu       sync.Mutex
		statuses = map[string]int{} // "status code" → count
		created  atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	note := func(a answer) {
		mu.Lock()
		statuses[fmt.Sprintf("%d %s", a.status, a.errCode())]++
		mu.Unlock()
	}
	var stopOnce sync.Once
	stopLoad := func() { stopOnce.Do(func() { close(stop); wg.Wait() }) }
	defer stopLoad()
	for i := range 4 {
		wg.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if i == 0 {
					a := p.try("POST", "/api/v1/issues/PROJ-1/branches", admin, map[string]any{"repositoryId": repoID, "name": fmt.Sprintf("PROJ-1-load-%d", n)})
					if a.status == 201 {
						created.Add(1)
					}
					note(a)
					continue
				}
				note(p.try("GET", []string{"/api/v1/repositories", "/api/v1/issues/PROJ-1", "/api/v1/me"}[n%3], admin, nil))
			}
		})
	}
	p.waitFor("load before the outage", func() bool { return created.Load() >= 3 })

	// The branch GitHub creates as the database goes away is answered as created.
	b := p.must(p.call("POST", "/api/v1/issues/PROJ-1/branches", admin, map[string]any{"repositoryId": repoID, "name": "PROJ-1-outage"}), 201,
		"the branch created as the database went away")
	created.Add(1)
	if b.str("name") != "PROJ-1-outage" {
		t.Fatalf("created: %s", b.raw)
	}
	down := p.mustErr(p.call("GET", "/api/v1/repositories", admin, nil), 503, "service_unavailable", "a read while the database is down")
	if down.header.Get("Retry-After") == "" {
		t.Fatalf("503 without Retry-After: %v", down.header)
	}
	p.must(p.call("GET", "/readyz", "", nil), 503, "readyz while the database is down")
	p.waitFor("503s under load", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return statuses["503 service_unavailable"] >= 10
	})
	if m := p.scrape(); true {
		if v, _ := metricValue(m, "forgebridge_state_read_ok"); v != 0 {
			t.Fatalf("forgebridge_state_read_ok = %v during the outage, want 0", v)
		}
		// The load's own create may have met the cut as well.
		if v, _ := metricValue(m, "forgebridge_records_held"); v < 1 {
			t.Fatalf("forgebridge_records_held = %v during the outage, want at least 1", v)
		}
	}

	proxy.restore()
	p.waitFor("the same process serving again", func() bool {
		return p.call("GET", "/api/v1/repositories", admin, nil).status == 200 && p.call("GET", "/readyz", "", nil).status == 200
	})
	before := created.Load()
	p.waitFor("branches created again", func() bool { return created.Load() >= before+3 })
	stopLoad()

	// Every answer was complete and clean.
	for s, n := range statuses {
		if s != "200 " && s != "201 " && s != "503 service_unavailable" {
			t.Errorf("%d answers %q during the outage, want only 200, 201 and 503 service_unavailable", n, s)
		}
	}
	t.Logf("answers: %v", statuses)

	// Nothing lost, nothing twice: one audit entry per branch on GitHub.
	p.waitFor("the held record written", func() bool {
		v, _ := metricValue(p.scrape(), "forgebridge_records_held")
		return v == 0
	})
	onHost := 0
	for _, name := range repo.Branches() {
		if strings.HasPrefix(name, "PROJ-1-") {
			onHost++
		}
	}
	audited := map[string]int{}
	for next := "/api/v1/audit?action=branch.create&limit=100"; next != ""; {
		a := p.must(p.call("GET", next, admin, nil), 200, "audit")
		for _, v := range a.list_("values") {
			if e := v.(map[string]any); e["outcome"] == "success" {
				audited[e["target"].(string)]++
			}
		}
		next = a.str("next")
	}
	if int64(onHost) != created.Load() || len(audited) != onHost {
		t.Fatalf("%d branches on GitHub, %d answered 201, %d audited", onHost, created.Load(), len(audited))
	}
	for name, n := range audited {
		if n != 1 {
			t.Errorf("%s audited %d times", name, n)
		}
	}
	if audited["PROJ-1-outage"] != 1 {
		t.Fatal("the branch created during the outage was not recorded")
	}
	issue := p.must(p.call("GET", "/api/v1/issues/PROJ-1", admin, nil), 200, "issue")
	if !strings.Contains(issue.raw, "PROJ-1-outage") {
		t.Fatalf("the issue lacks the branch created during the outage: %.500s", issue.raw)
	}
}
