package app

import (
	"testing"

	fb "github.com/forgebridge/forgebridge"
)

func TestValidateIntegration(t *testing.T) {
	gh := fb.Integration{Name: "GH", Kind: fb.KindGitHub, Credential: fb.Credential{Token: "t"}}
	with := func(f func(*fb.Integration)) fb.Integration {
		i := gh
		f(&i)
		return i
	}
	tests := []struct {
		name string
		in   fb.Integration
		ok   bool
	}{
		{"github with defaults", gh, true},
		{"no name", with(func(i *fb.Integration) { i.Name = "" }), false},
		{"unknown kind", with(func(i *fb.Integration) { i.Kind = "bitbucket" }), false},
		{"enterprise without baseUrl", with(func(i *fb.Integration) { i.Kind = fb.KindGitHubEnterprise }), false},
		{"enterprise with baseUrl", with(func(i *fb.Integration) {
			i.Kind, i.BaseURL = fb.KindGitHubEnterprise, "https://github.example.com"
		}), true},
		{"baseUrl not http(s)", with(func(i *fb.Integration) { i.BaseURL = "ftp://github.example.com" }), false},
		{"baseUrl with a password", with(func(i *fb.Integration) { i.BaseURL = "https://u:p@github.example.com" }), false},
		{"proxy with a password", with(func(i *fb.Integration) { i.ProxyURL = "http://u:p@proxy:3128" }), false},
		{"proxy", with(func(i *fb.Integration) { i.ProxyURL = "http://proxy:3128" }), true},
		{"azure without baseUrl", with(func(i *fb.Integration) { i.Kind = fb.KindAzureDevOps }), false},
		{"tfs with a server version", with(func(i *fb.Integration) {
			i.Kind, i.BaseURL, i.ServerVersion = fb.KindTFS, "https://tfs.example.com/tfs/Col", "2019"
		}), true},
		{"tfs with an unknown server version", with(func(i *fb.Integration) {
			i.Kind, i.BaseURL, i.ServerVersion = fb.KindTFS, "https://tfs.example.com/tfs/Col", "2016"
		}), false},
		{"server version on github", with(func(i *fb.Integration) { i.ServerVersion = "2019" }), false},
		{"codecommit", fb.Integration{Name: "CC", Kind: fb.KindCodeCommit, Region: "eu-west-1",
			Credential: fb.Credential{AccessKeyID: "AKIA", SecretAccessKey: "s"}}, true},
		{"codecommit without region", fb.Integration{Name: "CC", Kind: fb.KindCodeCommit,
			Credential: fb.Credential{AccessKeyID: "AKIA", SecretAccessKey: "s"}}, false},
		{"codecommit with a token", fb.Integration{Name: "CC", Kind: fb.KindCodeCommit, Region: "eu-west-1",
			Credential: fb.Credential{Token: "t"}}, false},
		{"github with access keys", with(func(i *fb.Integration) {
			i.Credential = fb.Credential{AccessKeyID: "AKIA", SecretAccessKey: "s"}
		}), false},
		{"token with a line break", with(func(i *fb.Integration) { i.Credential.Token = "a\nb" }), false},
		{"apiPath without slash", with(func(i *fb.Integration) { i.APIPath = "orgs/acme/repos" }), false},
		{"apiPath", with(func(i *fb.Integration) { i.APIPath = "/orgs/acme/repos" }), true},
		{"bad JMESPath", with(func(i *fb.Integration) { i.RepositoryFilter = "[?" }), false},
		{"JMESPath", with(func(i *fb.Integration) { i.RepositoryFilter = "[?archived==`false`]" }), true},
		{"project keys", with(func(i *fb.Integration) { i.Projects = []string{"PROJ", "OPS_2"} }), true},
		{"bad project key", with(func(i *fb.Integration) { i.Projects = []string{"proj"} }), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateIntegration(tt.in)
			if tt.ok != (err == nil) || (err != nil && fb.ErrorCode(err) != fb.EInvalid) {
				t.Fatalf("validateIntegration = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && fb.ErrorMessage(err) == "" {
				t.Fatal("no message for people")
			}
		})
	}
}

func TestWithIssueLink(t *testing.T) {
	url := func(key string) string { return "https://fb.example.com/browse/" + key }
	tests := []struct{ in, want string }{
		{"", "Issue: [PROJ-1](https://fb.example.com/browse/PROJ-1)"},
		{"Fixes it.\n", "Fixes it.\n\nIssue: [PROJ-1](https://fb.example.com/browse/PROJ-1)"},
		{"Already linked.\n\nIssue: [PROJ-1](https://fb.example.com/browse/PROJ-1)", "Already linked.\n\nIssue: [PROJ-1](https://fb.example.com/browse/PROJ-1)"},
	}
	for _, tt := range tests {
		if got := withIssueLink(tt.in, "PROJ-1", url); got != tt.want {
			t.Errorf("withIssueLink(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := withIssueLink("", "PROJ-1", nil); got != "Issue: PROJ-1" {
		t.Errorf("without an issue URL: %q", got)
	}
}

func TestFirstBranchFor(t *testing.T) {
	branches := []fb.Branch{{Name: "main"}, {Name: "feature/proj-12-x"}, {Name: "XPROJ-1"}, {Name: "PROJ-1-y"}, {Name: "PROJ-12-z"}}
	// PROJ-1 is not in PROJ-12's branches, nor in XPROJ-1.
	for key, want := range map[string]string{"PROJ-12": "feature/proj-12-x", "PROJ-1": "PROJ-1-y", "OPS-1": "", "proj-12": "feature/proj-12-x"} {
		got, ok := firstBranchFor(branches, key)
		if got != want || ok != (want != "") {
			t.Errorf("firstBranchFor(%s) = %q %v, want %q", key, got, ok, want)
		}
	}
}

func TestPageOf(t *testing.T) {
	all := []int{1, 2, 3, 4, 5}
	page, next, err := pageOf(all, fb.Page{Limit: 2})
	if err != nil || len(page) != 2 || next == "" {
		t.Fatalf("first page %v %q %v", page, next, err)
	}
	var got []int
	got = append(got, page...)
	for next != "" {
		if page, next, err = pageOf(all, fb.Page{Limit: 2, Cursor: next}); err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
	}
	if len(got) != 5 || got[4] != 5 {
		t.Errorf("all pages: %v", got)
	}
	for _, bad := range []string{"!", "LTE", "eHl6"} { // not base64, "-1", "xyz"
		if _, _, err := pageOf(all, fb.Page{Limit: 2, Cursor: bad}); fb.ErrorCode(err) != fb.EInvalid {
			t.Errorf("cursor %q: %v, want invalid_request", bad, err)
		}
	}
}
