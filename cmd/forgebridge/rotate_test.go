package main

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/github/fakegithub"
)

// keysList runs `keys list --json`.
func (p *program) keysList() []keyUse {
	p.t.Helper()
	out, err := p.cli("", "keys", "list", "--json")
	if err != nil {
		p.t.Fatal(err)
	}
	var list []keyUse
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		p.t.Fatalf("keys list --json printed %q: %v", out, err)
	}
	return list
}

// resealed waits until every stored value is sealed by the primary key,
// and returns the keys.
func (p *program) resealed() []keyUse {
	p.t.Helper()
	var list []keyUse
	p.waitFor("the stored values re-sealed under the primary key", func() bool {
		list = p.keysList()
		for _, k := range list {
			if !k.Primary && k.Values > 0 {
				return false
			}
		}
		return true
	})
	return list
}

// TestRotationWithoutOutage rotates the keyset twice through its file and
// retires the old keys while two instances on one database answer requests
// that decrypt the integration's credential: not one fails.
func TestRotationWithoutOutage(t *testing.T) {
	gh := fakegithub.New()
	defer gh.Close()
	gh.AddToken("ghp_service0000000000000000000000000001", fakegithub.Token{Login: "acme-bot", Scopes: []string{"repo", "read:org"}})
	gh.AddRepo("acme/app", "main").AddBranch("PROJ-1-work")

	first := newProgram(t, nil)
	first.serve() // makes the database and the keyset
	defer func() {
		if first.stop != nil {
			first.stop()
		}
	}()
	admin, err := first.cli("", "users", "add", "admin", "--admin")
	if err != nil {
		t.Fatal(err)
	}
	admin = strings.TrimSpace(admin)
	first.must(first.call("POST", "/api/v1/directory/projects", admin, map[string]any{"key": "PROJ", "name": "Project"}), 201, "project")
	first.must(first.call("PUT", "/api/v1/directory/projects/PROJ/permissions/admin", admin,
		map[string]any{"permissions": []string{"BROWSE_PROJECTS", "VIEW_DEV_TOOLS"}}), 200, "permissions")
	first.must(first.call("POST", "/api/v1/integrations", admin, map[string]any{"name": "Acme", "kind": "github",
		"baseUrl": gh.URL(), "credential": map[string]any{"token": "ghp_service0000000000000000000000000001"}}), 201, "integration")
	repos := first.must(first.call("GET", "/api/v1/repositories?q=acme/app", admin, nil), 200, "repositories")
	repoID := repos.body["values"].([]any)[0].(map[string]any)["id"].(string)

	// A second instance on the same database and keyset file.
	data := first.env["FORGEBRIDGE_DATA"]
	second := newProgram(t, map[string]string{"FORGEBRIDGE_DATABASE": filepath.Join(data, "forgebridge.db"),
		"FORGEBRIDGE_KEYSET": filepath.Join(data, "keyset.json")})
	second.serve()
	defer func() {
		if second.stop != nil {
			second.stop()
		}
	}()

	rotateUnderLoad(t, first, second, admin, repoID)
	first.shutdown()
	second.shutdown()
	first.stop, second.stop = nil, nil

	// With no server to re-seal, the old key still seals every value after a
	// rotation: it is not retired, nor is the primary.
	if _, err := first.cli("", "keys", "rotate"); err != nil {
		t.Fatal(err)
	}
	for _, k := range first.keysList() {
		_, err := first.cli("", "keys", "retire", k.ID)
		switch {
		case k.Primary && (err == nil || !strings.Contains(err.Error(), "primary")):
			t.Fatalf("retire the primary key: %v", err)
		case !k.Primary && (k.Values == 0 || err == nil || !strings.Contains(err.Error(), "still seals")):
			t.Fatalf("retire key %s sealing %d values: %v", k.ID, k.Values, err)
		}
	}
	if _, err := first.cli("", "keys", "retire", strconv.Itoa(12345)); err == nil || !strings.Contains(err.Error(), "no key 12345") {
		t.Fatalf("retire a key the keyset does not hold: %v", err)
	}
	// The next start re-seals them.
	first.serve()
	first.resealed()
	first.shutdown()
	first.stop = nil
}

// rotateUnderLoad rotates the keyset twice through its file and retires the
// old keys while requests that decrypt the integration's credential run
// against both instances; it fails the test if any request fails.
func rotateUnderLoad(t *testing.T, first, second *program, admin, repoID string) {
	// Requests that decrypt the credential, spread over both instances.
	var requests, failures atomic.Int64
	var failed sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			p := first
			if i%2 == 1 {
				p = second
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				a := p.call("GET", "/api/v1/repositories/"+repoID+"/branches", admin, nil)
				requests.Add(1)
				if a.status != 200 {
					failures.Add(1)
					failed.Store(a.raw, true)
				}
			}
		})
	}

	start := first.keysList()
	if len(start) != 1 || !start[0].Primary || start[0].Values < 2 { // the credential, the webhook secret?, the check value
		t.Fatalf("keys before the rotation: %+v", start)
	}
	for round := range 2 {
		out, err := first.cli("", "keys", "rotate")
		if err != nil {
			t.Fatal(err)
		}
		newID := strings.Fields(strings.TrimPrefix(out, "new primary key "))[0]
		newID = strings.TrimSuffix(newID, ";")
		list := first.resealed()
		for _, k := range list {
			if k.Primary != (k.ID == newID) {
				t.Fatalf("round %d: keys after rotating to %s: %+v", round, newID, list)
			}
		}
		// Every older key seals nothing now: retire them.
		for _, k := range list {
			if !k.Primary {
				if _, err := first.cli("", "keys", "retire", k.ID); err != nil {
					t.Fatalf("retire %s: %v", k.ID, err)
				}
			}
		}
		if list := first.keysList(); len(list) != 1 || list[0].ID != newID || list[0].Values != start[0].Values {
			t.Fatalf("round %d: keys after retiring: %+v", round, list)
		}
		// Both instances use the retired-down keyset: the next requests
		// and readiness probes still open everything.
		for _, p := range []*program{first, second} {
			p.waitFor("the instance on the new keyset", func() bool {
				r := p.call("GET", "/readyz", "", nil)
				return r.status == 200 && r.str("keyset") == "ok" && r.str("jobs") == "ok" && r.str("database") == "ok"
			})
		}
	}
	// Keep the load on a moment after the last retirement, while the
	// instances take up the keyset without the old keys.
	for n := requests.Load(); requests.Load() < n+50; time.Sleep(10 * time.Millisecond) {
	}
	close(stop)
	wg.Wait()
	if failures.Load() > 0 {
		var bodies []string
		failed.Range(func(k, _ any) bool { bodies = append(bodies, k.(string)); return true })
		t.Fatalf("%d of %d requests failed during the rotations: %s", failures.Load(), requests.Load(), strings.Join(bodies, "\n"))
	}
	t.Logf("%d requests over two instances, two rotations and retirements, no failure", requests.Load())

}
