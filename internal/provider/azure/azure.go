// Package azure is the provider driver for Azure DevOps Services (the
// azure-devops and vsts kinds) and Azure DevOps Server / TFS (the tfs kind).
// It is a small REST client rather than Microsoft's Go SDK, because the SDK
// fixes 7.x api-versions in every call (TFS 2017–2022 need 3.x–7.0) and binds
// the credential and its own HTTP client into a connection, where forgebridge
// needs per-call credentials over its own host-pinned client.
package azure

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/jmespath/go-jmespath"
)

// serviceName is how people know the service, in messages.
const serviceName = "Azure DevOps"

// servicesAPIVersion is what Azure DevOps Services (dev.azure.com,
// *.visualstudio.com) speaks.
const servicesAPIVersion = "7.1"

// newestServerAPIVersion is tried first on a TFS whose version is not
// configured: the newest an on-premises server (2022) accepts. Older servers
// refuse it naming their own latest, which is then used.
const newestServerAPIVersion = "7.0"

// serverAPIVersions maps Azure DevOps Server / TFS releases to the api-version
// their REST APIs accept. 2017 gets 3.0 because TFS 2017 before Update 2
// refuses 3.2, and nothing this driver calls changed between them.
var serverAPIVersions = map[string]string{
	"2017": "3.0",
	"2018": "4.1",
	"2019": "5.0",
	"2020": "6.0",
	"2022": "7.0",
}

// draftAPIVersion is the first api-version whose pull requests have isDraft
// (Azure DevOps Server 2019 Update 1).
var draftAPIVersion = apiVersion{5, 1}

// Provider is the Azure DevOps driver for one integration. It keeps no
// credential: each call gets the one chosen for it.
type Provider struct {
	integrationID string
	kind          fb.Kind
	base          string // organisation or collection URL, without a trailing slash
	reposURL      string // where repositories are listed (APIPath or the default)
	filter        *jmespath.JMESPath
	hc            httpDoer

	mu      sync.Mutex
	version string // api-version in use; "" for a TFS whose version is not learnt yet
}

var (
	_ provider.Provider          = (*Provider)(nil)
	_ provider.PullRequestLister = (*Provider)(nil)
	_ provider.Mirrorer          = (*Provider)(nil)
)

// New builds the driver for an azure-devops, vsts or tfs integration. It
// matches provider.Factory.
func New(in fb.Integration, opts provider.Options) (provider.Provider, error) {
	switch in.Kind {
	case fb.KindAzureDevOps, fb.KindVSTS, fb.KindTFS:
	default:
		return nil, fb.Errorf(fb.EInvalid, "The Azure DevOps driver does not serve %q integrations.", in.Kind)
	}
	if in.BaseURL == "" {
		return nil, fb.Errorf(fb.EInvalid,
			"An %s integration needs the organisation or collection URL (such as https://dev.azure.com/ORG or https://tfs.example.com/tfs/DefaultCollection).", in.Kind)
	}
	host, err := provider.HostOf(in.BaseURL)
	if err != nil {
		return nil, err
	}
	u, _ := url.Parse(in.BaseURL)
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fb.Errorf(fb.EInvalid, "The organisation or collection URL %q must not have a query or fragment.", in.BaseURL)
	}
	p := &Provider{integrationID: in.ID, kind: in.Kind, base: strings.TrimRight(in.BaseURL, "/")}

	switch {
	case in.Kind != fb.KindTFS:
		p.version = servicesAPIVersion
	case in.ServerVersion != "":
		v, ok := serverAPIVersions[in.ServerVersion]
		if !ok {
			return nil, fb.Errorf(fb.EInvalid,
				"The server version %q is not known: use 2017, 2018, 2019, 2020 or 2022, or leave it empty to learn it from the server.", in.ServerVersion)
		}
		p.version = v
	}

	p.reposURL = p.base + "/_apis/git/repositories"
	if in.APIPath != "" {
		if strings.Contains(in.APIPath, "://") || strings.HasPrefix(in.APIPath, "//") {
			return nil, fb.Errorf(fb.EInvalid,
				"The API path %q must be a path under the organisation or collection URL, such as /PROJECT/_apis/git/repositories.", in.APIPath)
		}
		p.reposURL = p.base + "/" + strings.TrimLeft(in.APIPath, "/")
	}
	if p.filter, err = provider.CompileFilter(in.RepositoryFilter); err != nil {
		return nil, err
	}
	if p.hc, err = provider.NewHTTPClient(in, opts, host); err != nil {
		return nil, err
	}
	return p, nil
}

// apiVersion is a REST api-version, major.minor.
type apiVersion struct{ major, minor int }

func parseAPIVersion(s string) (apiVersion, bool) {
	maj, min, ok := strings.Cut(s, ".")
	a, err1 := strconv.Atoi(maj)
	b, err2 := strconv.Atoi(min)
	if !ok || err1 != nil || err2 != nil || a < 1 || b < 0 {
		return apiVersion{}, false
	}
	return apiVersion{a, b}, true
}

func (v apiVersion) atLeast(o apiVersion) bool {
	return v.major > o.major || (v.major == o.major && v.minor >= o.minor)
}

// currentVersion is the api-version to send now.
func (p *Provider) currentVersion() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.version == "" {
		return newestServerAPIVersion
	}
	return p.version
}

// outOfRange reads the server's latest api-version from its refusal of a
// newer one ("… The latest REST API version this server supports is 5.0.").
var outOfRange = regexp.MustCompile(`latest REST API version this server supports is (\d+\.\d+)`)

// lowerVersion adopts the server's latest api-version after it refused sent.
// It reports whether a retry with the adopted version makes sense. Only a TFS
// adapts: Azure DevOps Services always speaks servicesAPIVersion.
func (p *Provider) lowerVersion(sent string, e *azError) bool {
	if p.kind != fb.KindTFS || e == nil || e.TypeKey != "VssVersionOutOfRangeException" {
		return false
	}
	m := outOfRange.FindStringSubmatch(e.Message)
	if m == nil {
		return false
	}
	latest, ok := parseAPIVersion(m[1])
	old, ok2 := parseAPIVersion(sent)
	if !ok || !ok2 || latest.atLeast(old) {
		return false
	}
	p.mu.Lock()
	p.version = m[1]
	p.mu.Unlock()
	return true
}
