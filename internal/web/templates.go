package web

import (
	"html/template"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/provider"
)

// pageNames are the templates under templates/, each drawn inside layout.html.
var pageNames = []string{"login", "error", "repositories", "tokens", "token", "issue", "commits", "diff",
	"integrations", "integration", "settings", "audit", "apitokens", "enrol", "search", "branchdelete"}

func parsePages() map[string]*template.Template {
	base := template.Must(template.New("").Funcs(template.FuncMap{
		"when":     when,
		"changes":  changeLines,
		"shortSHA": shortSHA,
		"workTime": workTime,
		"commitList": func(cs []app.CommitView, names map[string]string) any {
			return struct {
				Commits   []app.CommitView
				RepoNames map[string]string
			}{cs, names}
		},
		"firstLine":   firstLine,
		"patchLines":  patchLines,
		"day":         day,
		"tokenState":  tokenState,
		"tokenHelp":   tokenHelp,
		"hostOf":      hostOf,
		"join":        strings.Join,
		"kinds":       func() []fb.Kind { return fb.Kinds },
		"kindName":    kindName,
		"list":        func(v ...string) []string { return v },
		"dialogState": dialogState,
		"branchLimit": func() int { return maxDialogBranches },
		"repoOpt": func(o repoOption, selected string) any {
			return struct {
				Repo     repoOption
				Selected bool
			}{o, o.ID == selected}
		},
		"oneOff": func(prefix string, remember bool, accessKeyID string) any {
			return struct {
				Prefix      string
				Remember    bool
				AccessKeyID string
			}{prefix, remember, accessKeyID}
		},
	}).ParseFS(templateFS, "templates/layout.html"))
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		t := template.Must(base.Clone())
		pages[name] = template.Must(t.ParseFS(templateFS, "templates/"+name+".html"))
	}
	return pages
}

// when formats an instant for people, in UTC; "" for nil or zero.
func when(t any) string {
	switch v := t.(type) {
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format("2006-01-02 15:04 UTC")
	case *time.Time:
		if v == nil {
			return ""
		}
		return when(*v)
	}
	return ""
}

// shortSHA is the abbreviation people know a commit by.
func shortSHA(sha string) string { return sha[:min(len(sha), 8)] }

// firstLine is a commit message's subject.
func firstLine(msg string) string {
	line, _, _ := strings.Cut(msg, "\n")
	return line
}

func day(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02")
}

// tokenView is how a person's token for an integration is shown.
type tokenView struct {
	Configured bool
	// State is "valid", "unverified", "invalid", "expired" or "none".
	State   string
	Label   string
	Expires string
	// Warn is set when the token expires within 7 days or has expired.
	Warn bool
	// Usable means the token can be used: it is not known to be bad.
	Usable bool
	// Check means configured and valid: the checkmark.
	Check bool
}

// expiryWarning is how long before expiry a token is flagged.
const expiryWarning = 7 * 24 * time.Hour

func tokenState(t *fb.UserToken) tokenView {
	if t == nil {
		return tokenView{State: "none", Label: "Not set"}
	}
	v := tokenView{Configured: true, Expires: day(t.ExpiresAt)}
	now := time.Now()
	// The service says expired by its own clock (fb.UserToken.StatusAt).
	expired := t.Status == fb.TokenExpired || t.ExpiresAt != nil && !t.ExpiresAt.After(now)
	v.Warn = t.ExpiresAt != nil && t.ExpiresAt.Before(now.Add(expiryWarning))
	switch {
	case expired:
		v.State, v.Label = "expired", "Expired"
	case t.Status == fb.TokenInvalid:
		v.State, v.Label = "invalid", "Invalid"
	case t.Status == fb.TokenUnverified:
		v.State, v.Label, v.Usable = "unverified", "Not verified yet", true
	default:
		v.State, v.Label, v.Usable, v.Check = "valid", "Valid", true, true
	}
	return v
}

// help says where a person creates a token for an integration and what to give it.
type help struct {
	URL    string
	Scopes string
}

// tokenHelp's URL is "" where the page is not known (no base URL): no link
// rather than a wrong or relative one.
func tokenHelp(in fb.Integration) help {
	base := strings.TrimRight(in.BaseURL, "/")
	// link is base+path, or "" without a base.
	link := func(path string) string {
		if base == "" {
			return ""
		}
		return base + path
	}
	switch in.Kind {
	case fb.KindGitHub, fb.KindGitHubEnterprise:
		if base == "" && in.Kind == fb.KindGitHub {
			base = "https://github.com"
		}
		base = strings.TrimSuffix(base, "/api/v3")
		return help{URL: link("/settings/tokens"), Scopes: "the repo scope"}
	case fb.KindGitLab, fb.KindGitLabSelfManaged:
		if base == "" && in.Kind == fb.KindGitLab {
			base = "https://gitlab.com"
		}
		base = strings.TrimSuffix(base, "/api/v4")
		return help{URL: link("/-/user_settings/personal_access_tokens"), Scopes: "the api scope"}
	case fb.KindAzureDevOps, fb.KindVSTS, fb.KindTFS:
		h := help{URL: link("/_usersSettings/tokens"), Scopes: "the Code (Read & write) scope"}
		if in.Kind == fb.KindTFS && (in.ServerVersion == "2017" || in.ServerVersion == "2018") {
			// Before Azure DevOps Server 2019 the page lived under the profile's security details.
			h.URL = link("/_details/security/tokens")
		}
		return h
	case fb.KindCodeCommit:
		return help{URL: "https://console.aws.amazon.com/iam/home#/security_credentials",
			Scopes: "an IAM access key whose policy allows codecommit:GetRepository, " +
				"codecommit:ListBranches, codecommit:GetBranch, codecommit:CreateBranch and codecommit:CreatePullRequest"}
	}
	return help{}
}

// hostOf is the host an integration talks to, for the integration list.
func hostOf(in fb.Integration) string {
	switch {
	case in.Kind == fb.KindCodeCommit:
		return "codecommit." + in.Region + ".amazonaws.com"
	case in.BaseURL != "":
		if h, err := provider.HostOf(in.BaseURL); err == nil {
			return h
		}
		return in.BaseURL
	case in.Kind == fb.KindGitHub:
		return "github.com"
	case in.Kind == fb.KindGitLab:
		return "gitlab.com"
	}
	return ""
}

func kindName(k fb.Kind) string {
	switch k {
	case fb.KindGitHub:
		return "GitHub"
	case fb.KindGitHubEnterprise:
		return "GitHub Enterprise Server"
	case fb.KindGitLab:
		return "GitLab.com"
	case fb.KindGitLabSelfManaged:
		return "GitLab Self-Managed"
	case fb.KindAzureDevOps:
		return "Azure DevOps Services"
	case fb.KindVSTS:
		return "Visual Studio Team Services"
	case fb.KindTFS:
		return "Team Foundation Server / Azure DevOps Server"
	case fb.KindCodeCommit:
		return "AWS CodeCommit"
	}
	return string(k)
}
