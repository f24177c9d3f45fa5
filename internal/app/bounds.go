package app

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	fb "github.com/forgebridge/forgebridge"
)

// Bounds of text fields (API.md, "Errors"). Every entry point checks its
// fields first, so a longer value is refused before anything is recorded
// or any provider or tracker is asked.
const (
	MaxNameChars        = 200      // names and display names, ids
	MaxIssueKeyChars    = 255      // issue keys, project keys in a query
	MaxSummaryChars     = 1000     // issue summaries of the local directory (Jira holds its own to 255)
	MaxBranchBytes      = 1000     // any branch name; a typed one is also held to the configured maximum
	MaxTitleChars       = 256      // pull request titles
	MaxDescriptionBytes = 64 << 10 // pull request descriptions
	MaxSearchChars      = 200      // search text (?q=)
	MaxURLBytes         = 2048     // base URLs, proxy URLs
	MaxTemplateBytes    = 1000     // the branch name template, repository filters
	MaxSecretBytes      = 16 << 10 // tokens, access keys, webhook secrets
	MaxCABundleBytes    = 512 << 10
	MaxPasswordBytes    = 1024 // a slow hash of more is work for nothing
	MaxProjects         = 1000 // project keys of one integration
)

// bound is one text field with its limit, in characters or in bytes.
type bound struct {
	field, value string
	max          int
	bytes        bool
}

func chars(field, value string, max int) bound { return bound{field: field, value: value, max: max} }

func octets(field, value string, max int) bound {
	return bound{field: field, value: value, max: max, bytes: true}
}

// checkBounds refuses the first field over its limit, naming it.
func checkBounds(bs ...bound) error {
	for _, b := range bs {
		if b.bytes && len(b.value) > b.max {
			return fb.Errorf(fb.EInvalid, "%s is longer than %s bytes.", b.field, thousands(b.max))
		}
		// Counting runes is needed only when the bytes could exceed the limit.
		if !b.bytes && len(b.value) > b.max && utf8.RuneCountInString(b.value) > b.max {
			return fb.Errorf(fb.EInvalid, "%s is longer than %d characters.", b.field, b.max)
		}
	}
	return nil
}

func thousands(n int) string {
	if n < 10000 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%d,%03d", n/1000, n%1000)
}

// CheckSecret bounds a credential or token a handler passes on by itself
// (the Jira personal access token of a sign-in).
func CheckSecret(field, value string) error {
	return checkBounds(octets(field, value, MaxSecretBytes))
}

func credentialBounds(prefix string, c fb.Credential) []bound {
	return []bound{octets(prefix+"token", c.Token, MaxSecretBytes),
		octets(prefix+"accessKeyId", c.AccessKeyID, MaxSecretBytes),
		octets(prefix+"secretAccessKey", c.SecretAccessKey, MaxSecretBytes)}
}

func (in CreateBranchInput) bounds(issueKey string) error {
	bs := append([]bound{chars("issue key", issueKey, MaxIssueKeyChars),
		chars("repositoryId", in.RepositoryID, MaxNameChars), octets("name", in.Name, MaxBranchBytes),
		octets("baseBranch", in.BaseBranch, MaxBranchBytes)}, credentialBounds("", in.Token.Credential)...)
	if pr := in.PullRequest; pr != nil {
		bs = append(bs, chars("pullRequest.title", pr.Title, MaxTitleChars),
			octets("pullRequest.description", pr.Description, MaxDescriptionBytes),
			octets("pullRequest.targetBranch", pr.TargetBranch, MaxBranchBytes))
	}
	return checkBounds(bs...)
}

func (in CreatePullRequestInput) bounds(issueKey string) error {
	return checkBounds(append([]bound{chars("issue key", issueKey, MaxIssueKeyChars),
		chars("repositoryId", in.RepositoryID, MaxNameChars), octets("sourceBranch", in.SourceBranch, MaxBranchBytes),
		octets("targetBranch", in.TargetBranch, MaxBranchBytes), chars("title", in.Title, MaxTitleChars),
		octets("description", in.Description, MaxDescriptionBytes)}, credentialBounds("", in.Token.Credential)...)...)
}

func (in IntegrationInput) bounds() error {
	var bs []bound
	str := func(field string, v *string, max int, inBytes bool) {
		if v != nil {
			bs = append(bs, bound{field: field, value: *v, max: max, bytes: inBytes})
		}
	}
	str("name", in.Name, MaxNameChars, false)
	str("baseUrl", in.BaseURL, MaxURLBytes, true)
	str("region", in.Region, MaxNameChars, false)
	str("serverVersion", in.ServerVersion, MaxNameChars, false)
	str("apiPath", in.APIPath, MaxURLBytes, true)
	str("repositoryFilter", in.RepositoryFilter, MaxTemplateBytes, true)
	str("proxyUrl", in.ProxyURL, MaxURLBytes, true)
	str("caBundle", in.CABundle, MaxCABundleBytes, true)
	str("webhookSecret", in.WebhookSecret, MaxSecretBytes, true)
	if in.Kind != nil {
		bs = append(bs, chars("kind", string(*in.Kind), MaxNameChars))
	}
	if in.Projects != nil {
		if len(*in.Projects) > MaxProjects {
			return fb.Errorf(fb.EInvalid, "projects: at most %d project keys; choose All projects for more.", MaxProjects)
		}
		for _, p := range *in.Projects {
			bs = append(bs, chars("projects", p, MaxIssueKeyChars))
		}
	}
	if in.Credential != nil {
		bs = append(bs, credentialBounds("credential.", *in.Credential)...)
	}
	return checkBounds(bs...)
}

// Audit entries hold what was asked for, which may be long (a pull
// request's URL, a name tried at sign-in): each field is cut at write, here.
const (
	maxAuditName   = MaxIssueKeyChars
	maxAuditTarget = 1000 // bytes
)

func boundAudit(e *fb.AuditEntry) {
	e.User = truncate(e.User, maxAuditName)
	e.Action = truncate(e.Action, maxAuditName)
	e.IntegrationID = truncate(e.IntegrationID, maxAuditName)
	e.RepositoryID = truncate(e.RepositoryID, maxAuditName)
	e.Issue = truncate(e.Issue, maxAuditName)
	e.Target = truncate(e.Target, maxAuditTarget)
	e.Actor.Login = truncate(e.Actor.Login, maxAuditName)
	e.Code = truncate(e.Code, maxAuditName)
}

// truncate cuts s to at most n bytes without splitting a character, and
// marks the cut with an ellipsis.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + ellipsis
}

// branchBounds checks a branch request's fields, and holds a branch name
// typed by a person to the configured maximum length, as suggested names are.
func (s *Service) branchBounds(ctx context.Context, issueKey string, in CreateBranchInput) (fb.Settings, error) {
	if err := in.bounds(issueKey); err != nil {
		return fb.Settings{}, err
	}
	// Read here once for the whole request: resolve takes them from here.
	st, err := s.Store.Settings(ctx)
	if err != nil {
		return fb.Settings{}, err
	}
	if name := strings.TrimSpace(in.Name); st.BranchNameMaxLength > 0 && len(name) > st.BranchNameMaxLength {
		return fb.Settings{}, fb.Errorf(fb.EInvalid, "name is longer than the configured maximum of %d bytes for a branch name.", st.BranchNameMaxLength)
	}
	return st, nil
}

// check refuses a person who is not an administrator, then a field over its bound.
func (in IntegrationInput) check(u fb.User) error {
	if err := requireAdmin(u); err != nil {
		return err
	}
	return in.bounds()
}
