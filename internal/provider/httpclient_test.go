package provider

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	fb "github.com/forgebridge/forgebridge"
)

func TestNewHTTPClientSettings(t *testing.T) {
	tests := []struct {
		name string
		in   fb.Integration
		code fb.Code
	}{
		{"defaults", fb.Integration{}, ""},
		{"proxy", fb.Integration{ProxyURL: "http://proxy.example:3128"}, ""},
		{"proxy that is not a URL", fb.Integration{ProxyURL: "::"}, fb.EInvalid},
		{"CA bundle without a certificate", fb.Integration{CABundle: "not pem"}, fb.EInvalid},
		{"TLS verification off", fb.Integration{InsecureSkipTLSVerify: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewHTTPClient(tt.in, Options{}, "example.com")
			if fb.ErrorCode(err) != tt.code {
				t.Fatalf("err = %v, want code %q", err, tt.code)
			}
			if err == nil && c.Timeout != Timeout {
				t.Errorf("timeout %v, want %v", c.Timeout, Timeout)
			}
			if err != nil && strings.Contains(err.Error(), tt.in.ProxyURL) && tt.in.ProxyURL != "" {
				t.Errorf("the error quotes the proxy URL, which may hold a password: %v", err)
			}
		})
	}
}

// TestGuard checks the host pinning, the user agent, and that only
// idempotent reads are retried, and only on outages.
func TestGuard(t *testing.T) {
	var hits atomic.Int32
	status := atomic.Int32{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("User-Agent") != "forgebridge-test" {
			t.Errorf("User-Agent = %q", r.Header.Get("User-Agent"))
		}
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()
	host, _ := HostOf(srv.URL)
	c, err := NewHTTPClient(fb.Integration{}, Options{HTTPClient: srv.Client(), UserAgent: "forgebridge-test"}, host)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method   string
		status   int
		wantHits int32
	}{
		{"GET", 200, 1},
		{"GET", 503, 3}, // tried again twice
		{"GET", 502, 3},
		{"GET", 500, 1}, // a server error, not an outage: answered at once
		{"GET", 429, 1}, // rate limits are never waited out
		{"POST", 503, 1},
		{"PUT", 504, 1},
	}
	for _, tt := range tests {
		hits.Store(0)
		status.Store(int32(tt.status))
		req, _ := http.NewRequest(tt.method, srv.URL+"/x", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %d: %v", tt.method, tt.status, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status || hits.Load() != tt.wantHits {
			t.Errorf("%s answered %d: status %d after %d requests, want %d", tt.method, tt.status, resp.StatusCode, hits.Load(), tt.wantHits)
		}
	}

	// Another host is refused before anything is sent, redirects included.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a request reached another host: %s %s", r.Method, r.URL)
	}))
	defer other.Close()
	if _, err := c.Get(other.URL + "/steal"); !errors.Is(err, ErrForeignHost) {
		t.Errorf("request to another host: %v, want ErrForeignHost", err)
	}
	redirect := httptest.NewServer(http.RedirectHandler(other.URL+"/steal", http.StatusFound))
	defer redirect.Close()
	rhost, _ := HostOf(redirect.URL)
	c2, _ := NewHTTPClient(fb.Integration{}, Options{HTTPClient: redirect.Client()}, rhost)
	if _, err := c2.Get(redirect.URL); !errors.Is(err, ErrForeignHost) {
		t.Errorf("redirect to another host: %v, want ErrForeignHost", err)
	}
	if e := fb.AsError(Unavailable("GitHub", err)); e == nil || e.Code != fb.EProviderUnavailable {
		t.Errorf("Unavailable = %v", e)
	}
}

func TestHostOf(t *testing.T) {
	for raw, want := range map[string]string{"https://github.example.com": "github.example.com",
		"http://127.0.0.1:8080/api/v3": "127.0.0.1:8080", "ftp://x": "", "github.com": "", "": ""} {
		got, err := HostOf(raw)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("HostOf(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
}
