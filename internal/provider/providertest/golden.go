package providertest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// This file is the harness of the drivers' golden tests: a scripted fake
// service answers each request the driver must make with the provider's own
// documented example payload, and the driver's result is compared with a
// golden file. Each driver supplies only what its service checks and how it
// answers (a Service) and its table of cases.

// Service is one provider's side of a Script, over C, the driver's
// description of an expected call.
type Service[C any] interface {
	// Serve checks r (whose body is already read) as the service would,
	// takes the expected call r is with take, checks r against it and says
	// how to answer. A non-nil Fault refuses r and fails the test.
	Serve(r *http.Request, body []byte, take Take[C]) (Reply, *Fault)
	// Refuse writes the service's own error answer to a refused request.
	Refuse(w http.ResponseWriter, f *Fault)
	// Name names c in the report of a call the driver never made.
	Name(c C) string
}

// Take marks as served and returns the first expected call not yet served
// for which is reports true, or false when there is none.
type Take[C any] func(is func(C) bool) (C, bool)

// Reply is how a Script answers an expected call.
type Reply struct {
	Status      int               // 200 when zero
	ContentType string            // the service's Content-Type for this answer
	Header      map[string]string // other answer headers
	Fixture     string            // testdata file answered as the body; "" answers an empty body
}

// Fault is a request the fake service refuses: the test fails with it, and
// the driver gets the service's error answer.
type Fault struct {
	Status  int
	Code    string // the service's error code, for services that have them
	Message string
}

func (f *Fault) String() string {
	if f.Code == "" {
		return f.Message
	}
	return f.Code + ": " + f.Message
}

// Refused is Serve's answer refusing a request with status and message.
func Refused(status int, message string) (Reply, *Fault) {
	return Reply{}, &Fault{Status: status, Message: message}
}

// Script is a fake service that answers each expected call once, in any
// order, and fails the test on any request it does not expect.
type Script[C any] struct {
	*httptest.Server
	t       *testing.T
	service Service[C]

	mu     sync.Mutex
	calls  []C
	served []bool
}

// NewScript starts a Script of service expecting calls; the test's cleanup
// closes it.
func NewScript[C any](t *testing.T, service Service[C], calls []C) *Script[C] {
	s := &Script[C]{t: t, service: service, calls: calls, served: make([]bool, len(calls))}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	t.Cleanup(s.Close)
	return s
}

func (s *Script[C]) serveHTTP(w http.ResponseWriter, r *http.Request) {
	reply, fault := s.answer(r)
	var payload []byte
	if fault == nil && reply.Fixture != "" {
		var err error
		if payload, err = os.ReadFile(filepath.Join("testdata", reply.Fixture)); err != nil {
			fault = &Fault{Status: http.StatusInternalServerError, Message: err.Error()}
		}
	}
	if fault != nil {
		s.t.Errorf("%s %s: %s", r.Method, r.URL, fault)
		s.service.Refuse(w, fault)
		return
	}
	for k, v := range reply.Header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", reply.ContentType)
	if reply.Status == 0 {
		reply.Status = http.StatusOK
	}
	w.WriteHeader(reply.Status)
	w.Write(payload)
}

func (s *Script[C]) answer(r *http.Request) (Reply, *Fault) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return Reply{}, &Fault{Status: http.StatusBadRequest, Message: "unreadable body: " + err.Error()}
	}
	return s.service.Serve(r, body, s.take)
}

// take is the Script's Take.
func (s *Script[C]) take(is func(C) bool) (C, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.calls {
		if !s.served[i] && is(c) {
			s.served[i] = true
			return c, true
		}
	}
	var none C
	return none, false
}

// CheckAllServed fails the test for every expected call the driver did not make.
func (s *Script[C]) CheckAllServed(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, c := range s.calls {
		if !s.served[i] {
			t.Errorf("the driver never called %s", s.service.Name(c))
		}
	}
}

// GoldenCase is one golden test of a driver.
type GoldenCase[C any] struct {
	Name  string // testdata/<Name>.golden holds the expected result
	Calls []C    // the calls the driver must make, each once
	Run   func(ctx context.Context, p provider.Provider, cred fb.Credential) (any, error)
}

// RunGolden runs each case as a subtest: a driver made by open for the URL
// of a new Script of service runs the case with cred; every call must be
// made, and the result must be testdata/<Name>.golden (rewritten instead
// when update is set).
func RunGolden[C any](t *testing.T, service Service[C], open func(url string) (provider.Provider, error),
	cred fb.Credential, cases []GoldenCase[C], update bool) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			srv := NewScript(t, service, tc.Calls)
			p, err := open(srv.URL)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			got, err := tc.Run(context.Background(), p, cred)
			if err != nil {
				t.Fatalf("driver error: %v", err)
			}
			srv.CheckAllServed(t)
			Golden(t, filepath.Join("testdata", tc.Name+".golden"), got, update)
		})
	}
}

// Golden compares got, as indented JSON, with the file at path, or rewrites
// that file when update is set.
func Golden(t *testing.T, path string, got any, update bool) {
	t.Helper()
	out, err := json.MarshalIndent(got, "", "  ")
	if err != nil {
		t.Fatalf("marshal result: %v", err)
	}
	out = append(out, '\n')
	if update {
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatalf("write %s: %v", path, err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s (run with -update to create it): %v", path, err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("result differs from %s\ngot:\n%s\nwant:\n%s", path, out, want)
	}
}

// QueryDiff says which parameter of want the query lacks or carries with
// other values, or "" when it carries them all.
func QueryDiff(query, want url.Values) string {
	for k, v := range want {
		if got := query[k]; !reflect.DeepEqual(got, v) {
			return "parameter " + k + " is " + JSON(got) + ", want " + JSON(v)
		}
	}
	return ""
}

// FieldsDiff says which field of want the decoded JSON object got lacks or
// holds with another value, or "" when it holds them all.
func FieldsDiff(got, want map[string]any) string {
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			return "field " + k + " is " + JSON(got[k]) + ", want " + JSON(v)
		}
	}
	return ""
}

// JSON is v as compact JSON, for messages.
func JSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
