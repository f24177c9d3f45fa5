package provider

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// Timeout bounds every call to a provider, retries included.
const Timeout = 20 * time.Second

// maxIdlePerHost is how many idle connections to a provider are kept for reuse.
const maxIdlePerHost = 32

// readRetries is how often an idempotent read is tried again after a network
// error or a 502/503/504; the waits are short so an outage is answered in seconds.
var readRetryWaits = []time.Duration{200 * time.Millisecond, 800 * time.Millisecond}

// NewHTTPClient builds the client a driver uses for an integration: the
// integration's proxy (else the environment's), its extra CA bundle, TLS
// verification unless switched off, a timeout, brief retries of idempotent
// reads, and a guard that refuses to send anything to a host other than
// allowedHosts, so a credential only ever reaches the integration's service.
func NewHTTPClient(in fb.Integration, opts Options, allowedHosts ...string) (*http.Client, error) {
	timeout := cmp.Or(opts.Timeout, Timeout)
	var base http.RoundTripper
	if opts.HTTPClient != nil {
		base = opts.HTTPClient.Transport
		if base == nil {
			base = http.DefaultTransport
		}
	} else {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = http.ProxyFromEnvironment
		if in.ProxyURL != "" {
			u, err := url.Parse(in.ProxyURL)
			if err != nil || u.Host == "" {
				return nil, fb.Errorf(fb.EInvalid, "The integration's proxy URL is not a valid URL.")
			}
			t.Proxy = http.ProxyURL(u)
		}
		if in.CABundle != "" || in.InsecureSkipTLSVerify {
			cfg := &tls.Config{MinVersion: tls.VersionTLS12}
			if in.CABundle != "" {
				pool, err := x509.SystemCertPool()
				if err != nil {
					pool = x509.NewCertPool()
				}
				if !pool.AppendCertsFromPEM([]byte(in.CABundle)) {
					return nil, fb.Errorf(fb.EInvalid, "The CA bundle holds no PEM certificate.")
				}
				cfg.RootCAs = pool
			}
			cfg.InsecureSkipVerify = in.InsecureSkipTLSVerify
			t.TLSClientConfig = cfg
		}
		t.ResponseHeaderTimeout = timeout
		// Go keeps 2 idle connections per host by default: under concurrent
		// actions on one integration every further call opened (and for
		// HTTPS, handshook) a new connection. The driver, and with it this
		// transport, lives as long as the integration is unchanged.
		t.MaxIdleConnsPerHost = maxIdlePerHost
		t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		base = t
	}
	hosts := map[string]bool{}
	for _, h := range allowedHosts {
		hosts[strings.ToLower(h)] = true
	}
	return &http.Client{
		Transport: &guard{base: base, hosts: hosts, userAgent: opts.UserAgent},
		Timeout:   timeout,
		// A redirect to another host would carry the credential there (Go keeps
		// custom headers such as PRIVATE-TOKEN); the guard refuses such hops too.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}, nil
}

// guard pins requests to the integration's hosts and retries idempotent reads.
type guard struct {
	base      http.RoundTripper
	hosts     map[string]bool
	userAgent string
}

// ErrForeignHost is returned for a request to a host the integration does not name.
var ErrForeignHost = errors.New("request to a host other than the integration's refused")

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(g.hosts) > 0 && !g.hosts[strings.ToLower(req.URL.Host)] {
		return nil, fmt.Errorf("%w: %s", ErrForeignHost, req.URL.Host)
	}
	if g.userAgent != "" && req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", g.userAgent)
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return g.base.RoundTrip(req)
	}
	for attempt := 0; ; attempt++ {
		resp, err := g.base.RoundTrip(req)
		retryable := err != nil || resp.StatusCode == http.StatusBadGateway ||
			resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusGatewayTimeout
		if !retryable || attempt >= len(readRetryWaits) || req.Context().Err() != nil {
			return resp, err
		}
		if resp != nil {
			resp.Body.Close()
		}
		select {
		case <-time.After(readRetryWaits[attempt]):
		case <-req.Context().Done():
			return nil, req.Context().Err()
		}
	}
}

// HostOf returns the host[:port] of a URL, for allowedHosts.
func HostOf(rawURL string) (string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fb.Errorf(fb.EInvalid, "%q is not a valid http(s) URL.", rawURL)
	}
	return u.Host, nil
}

// Unavailable wraps a transport failure (unreachable, timeout) as EProviderUnavailable.
func Unavailable(service string, err error) error {
	msg := fmt.Sprintf("%s could not be reached or did not answer in time. Try again later.", service)
	if errors.Is(err, ErrForeignHost) {
		msg = fmt.Sprintf("%s redirected to another host; forgebridge does not send credentials there.", service)
	}
	return &fb.Error{Code: fb.EProviderUnavailable, Message: msg, Err: err}
}
