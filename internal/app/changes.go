package app

import (
	"reflect"
	"slices"

	fb "github.com/forgebridge/forgebridge"
)

// field is one setting of an integration as the API names it (a path in
// the request body) and its value.
type field struct {
	path  string
	value any
}

// integrationFields lists what an admin sets on an integration, by the
// paths of the request body. The CA bundle is shown only as replaced, like
// a secret: it is long, and a value in every audit entry helps no one.
func integrationFields(i fb.Integration) []field {
	projects := slices.Clone(i.Projects)
	if projects == nil {
		projects = []string{}
	}
	return []field{
		{"name", i.Name},
		{"kind", string(i.Kind)},
		{"baseUrl", i.BaseURL},
		{"region", i.Region},
		{"serverVersion", i.ServerVersion},
		{"apiPath", i.APIPath},
		{"repositoryFilter", i.RepositoryFilter},
		{"projects", projects},
		{"proxyUrl", i.ProxyURL},
		{"insecureSkipTlsVerify", i.InsecureSkipTLSVerify},
		{"settings.createBranch", i.Settings.CreateBranch},
		{"settings.createPullRequest", i.Settings.CreatePullRequest},
		{"settings.requireUserPat", i.Settings.RequireUserPAT},
		{"settings.smartCommits", i.Settings.SmartCommits},
		{"settings.enforcePermissions", i.Settings.EnforcePermissions},
		{"settings.diffViewing", i.Settings.DiffViewing},
	}
}

// integrationChanges says what a change of an integration changed: before
// is nil for a creation, after nil for a deletion. Fields that are empty on
// both sides of a creation or deletion are left out. Secrets (the service
// credential, the webhook secret) and the CA bundle appear only as
// ["replaced", "replaced"].
func integrationChanges(before, after *fb.Integration, in IntegrationInput) fb.Changes {
	ch := fb.Changes{}
	var b, a []field
	if before != nil {
		b = integrationFields(*before)
	}
	if after != nil {
		a = integrationFields(*after)
	}
	for k := range max(len(a), len(b)) {
		var path string
		var was, is any
		if b != nil {
			path, was = b[k].path, b[k].value
		}
		if a != nil {
			path, is = a[k].path, a[k].value
		}
		if reflect.DeepEqual(was, is) || (was == nil && isEmpty(is)) || (is == nil && isEmpty(was)) {
			continue
		}
		ch[path] = [2]any{was, is}
	}
	replaced := [2]any{fb.ChangeReplaced, fb.ChangeReplaced}
	switch {
	case before == nil || after == nil:
		one := cmpOr(before, after)
		if !one.Credential.IsZero() {
			ch["credential"] = replaced
		}
		if one.CABundle != "" {
			ch["caBundle"] = replaced
		}
	default:
		if before.Credential != after.Credential {
			ch["credential"] = replaced
		}
		if before.CABundle != after.CABundle {
			ch["caBundle"] = replaced
		}
	}
	if after != nil && in.WebhookSecret != nil && *in.WebhookSecret != "" {
		ch["webhookSecret"] = replaced
	}
	return ch
}

// cmpOr returns the first of a and b that is not nil.
func cmpOr(a, b *fb.Integration) *fb.Integration {
	if a != nil {
		return a
	}
	return b
}

// isEmpty reports whether v is a zero setting: "", false or no projects.
func isEmpty(v any) bool {
	switch v := v.(type) {
	case string:
		return v == ""
	case bool:
		return !v
	case []string:
		return len(v) == 0
	}
	return v == nil
}

// settingsChanges says what a change of the global settings changed.
func settingsChanges(before, after fb.Settings) fb.Changes {
	ch := fb.Changes{}
	if before.RequireUserPATEverywhere != after.RequireUserPATEverywhere {
		ch["requireUserPatEverywhere"] = [2]any{before.RequireUserPATEverywhere, after.RequireUserPATEverywhere}
	}
	if before.BranchNameTemplate != after.BranchNameTemplate {
		ch["branchNameTemplate"] = [2]any{before.BranchNameTemplate, after.BranchNameTemplate}
	}
	if before.BranchNameMaxLength != after.BranchNameMaxLength {
		ch["branchNameMaxLength"] = [2]any{before.BranchNameMaxLength, after.BranchNameMaxLength}
	}
	return ch
}
