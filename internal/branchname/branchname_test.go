package branchname

import (
	"regexp"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
)

func TestSuggest(t *testing.T) {
	const def = fb.DefaultBranchNameTemplate
	long := strings.Repeat(" word", 60) // "PROJ-1" + 60×"-word" = 306 bytes
	tests := []struct {
		name     string
		template string
		maxLen   int
		issue    fb.Issue
		want     string
	}{
		{"default", def, 0, fb.Issue{Key: "PROJ-12", Summary: "Fix the login page!"}, "PROJ-12-fix-the-login-page"},
		{"key is upper-cased", def, 0, fb.Issue{Key: "proj-12", Summary: "Fix"}, "PROJ-12-fix"},
		{"digits and punctuation runs", def, 0, fb.Issue{Key: "GO-1", Summary: "Upgrade Go 1.26 -> 1.27"}, "GO-1-upgrade-go-1-26-1-27"},
		{"separators trimmed from summary", def, 0, fb.Issue{Key: "A-1", Summary: "--Leading and trailing--  "}, "A-1-leading-and-trailing"},
		{"summary only symbols", def, 0, fb.Issue{Key: "PROJ-12", Summary: "!!! ??? ***"}, "PROJ-12"},
		{"empty summary", def, 0, fb.Issue{Key: "PROJ-12"}, "PROJ-12"},
		{"non-ASCII dropped", def, 0, fb.Issue{Key: "PROJ-1", Summary: "Größe ändern"}, "PROJ-1-gr-e-ndern"},
		{"only non-ASCII", def, 0, fb.Issue{Key: "PROJ-1", Summary: "日本語"}, "PROJ-1"},
		{"mixed non-ASCII", def, 0, fb.Issue{Key: "PROJ-1", Summary: "日本語 support"}, "PROJ-1-support"},

		{"long summary cut at separator within default limit", def, 0, fb.Issue{Key: "PROJ-1", Summary: long},
			"PROJ-1" + strings.Repeat("-word", 48)},
		{"cut before the word that crosses the limit", def, 20, fb.Issue{Key: "PROJ-12", Summary: "Fix the login page!"}, "PROJ-12-fix-the"},
		{"separator exactly at the limit", def, 15, fb.Issue{Key: "PROJ-12", Summary: "Fix the login page!"}, "PROJ-12-fix-the"},
		{"limit equal to name", def, 26, fb.Issue{Key: "PROJ-12", Summary: "Fix the login page!"}, "PROJ-12-fix-the-login-page"},
		{"limit equal to key", def, 7, fb.Issue{Key: "PROJ-12", Summary: "Fix the login page!"}, "PROJ-12"},
		{"one long word falls back to the key", def, 0, fb.Issue{Key: "PROJ-1", Summary: strings.Repeat("a", 300)}, "PROJ-1"},
		{"no separator after key: cut in the word", "${issuekey}_${summary}", 20, fb.Issue{Key: "PROJ-1", Summary: strings.Repeat("a", 300)},
			"PROJ-1_" + strings.Repeat("a", 13)},
		{"hard cut keeps whole runes", "${issuekey}éé${summary}", 9, fb.Issue{Key: "PROJ-1", Summary: "abc"}, "PROJ-1é"},
		{"cut at slash", "${issuekey}/${summary}", 10, fb.Issue{Key: "PROJ-12", Summary: "abcdefghijk"}, "PROJ-12"},

		{"custom prefix", "feature/${issuekey}-${summary}", 0, fb.Issue{Key: "PROJ-12", Summary: "Fix the login page!"}, "feature/PROJ-12-fix-the-login-page"},
		{"custom prefix, empty summary", "feature/${issuekey}-${summary}", 0, fb.Issue{Key: "PROJ-12"}, "feature/PROJ-12"},
		{"custom prefix, cut", "feature/${issuekey}-${summary}", 24, fb.Issue{Key: "PROJ-12", Summary: "Fix the login page!"}, "feature/PROJ-12-fix-the"},
		{"issue type", "${issuetype}/${issuekey}-${summary}", 0, fb.Issue{Key: "PROJ-12", Type: "New Feature", Summary: "Fix"}, "new-feature/PROJ-12-fix"},
		{"empty issue type leaves no leading slash", "${issuetype}/${issuekey}-${summary}", 0, fb.Issue{Key: "PROJ-12", Summary: "Fix"}, "PROJ-12-fix"},
		{"empty variable in the middle", "team/${issuetype}/${issuekey}", 0, fb.Issue{Key: "PROJ-12"}, "team/PROJ-12"},
		{"key last", "${summary}-${issuekey}", 0, fb.Issue{Key: "PROJ-12", Summary: "Fix the login page"}, "fix-the-login-page-PROJ-12"},
		{"key last, empty summary", "${summary}-${issuekey}", 0, fb.Issue{Key: "PROJ-12"}, "PROJ-12"},
		{"key ending in a separator stays whole", def, 0, fb.Issue{Key: "a-", Summary: "!"}, "A-"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Suggest(tt.template, tt.maxLen, tt.issue)
			if err != nil {
				t.Fatalf("Suggest(%q, %d, %+v): %v", tt.template, tt.maxLen, tt.issue, err)
			}
			if got != tt.want {
				t.Errorf("Suggest(%q, %d, %+v) = %q, want %q", tt.template, tt.maxLen, tt.issue, got, tt.want)
			}
			limit := tt.maxLen
			if limit <= 0 {
				limit = fb.DefaultBranchNameMaxLength
			}
			if len(got) > limit {
				t.Errorf("len(%q) = %d, over %d", got, len(got), limit)
			}
		})
	}
}

func TestSuggestErrors(t *testing.T) {
	tests := []struct {
		name     string
		template string
		maxLen   int
		issue    fb.Issue
		code     fb.Code
		msg      string // a part of the message
	}{
		{"limit shorter than key", fb.DefaultBranchNameTemplate, 6, fb.Issue{Key: "PROJ-12", Summary: "Fix"}, fb.EInvalid,
			"the issue key ends at byte 7 of the name but the maximum length is 6"},
		{"prefix pushes key past limit", "feature/${issuekey}-${summary}", 10, fb.Issue{Key: "PROJ-12"}, fb.EInvalid,
			"ends at byte 15"},
		{"key after the cut", "${summary}-${issuekey}", 20, fb.Issue{Key: "PROJ-12", Summary: "Fix the login page now"}, fb.EInvalid,
			"put ${issuekey} earlier"},
		{"no key", fb.DefaultBranchNameTemplate, 0, fb.Issue{Summary: "Fix"}, fb.EInvalid, "the issue has no key"},
		{"key makes an invalid name", fb.DefaultBranchNameTemplate, 0, fb.Issue{Key: "A B-1", Summary: "Fix"}, fb.EInvalid,
			`branch name "A B-1-fix" contains a space`},
		{"key alone is reserved", fb.DefaultBranchNameTemplate, 0, fb.Issue{Key: "@"}, fb.EInvalid, `branch name "@" is reserved by git`},
		{"unknown variable", "${issuekey}-${title}", 0, fb.Issue{Key: "PROJ-1"}, fb.EInvalid, `unknown variable "${title}"`},
		{"template without key", "${summary}", 0, fb.Issue{Key: "PROJ-1"}, fb.EInvalid, "must contain ${issuekey}"},
		{"type mapping", "${issuetype:Bug=fix,*=task}/${issuekey}", 0, fb.Issue{Key: "PROJ-1"}, fb.ENotSupported, "not supported yet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Suggest(tt.template, tt.maxLen, tt.issue)
			if err == nil {
				t.Fatalf("Suggest(%q, %d, %+v) = %q, want an error", tt.template, tt.maxLen, tt.issue, got)
			}
			checkError(t, err, tt.code, tt.msg)
		})
	}
}

func TestValidateTemplate(t *testing.T) {
	valid := []string{
		fb.DefaultBranchNameTemplate,
		"${issuekey}",
		"feature/${issuekey}-${summary}",
		"${issuetype}/${issuekey}-${summary}",
		"${summary}-${issuekey}",
		"users/jdoe/${issuekey}_${summary}",
		"${issuekey}/",
		"$${issuekey}$",
	}
	for _, tmpl := range valid {
		if err := ValidateTemplate(tmpl); err != nil {
			t.Errorf("ValidateTemplate(%q): %v", tmpl, err)
		}
	}

	invalid := []struct {
		template string
		code     fb.Code
		msg      string
	}{
		{"", fb.EInvalid, "must contain ${issuekey}"},
		{"${summary}", fb.EInvalid, "must contain ${issuekey}"},
		{"${issuekey}-${Summary}", fb.EInvalid, `unknown variable "${Summary}"; the known variables are ${issuekey}, ${summary}, ${issuetype}`},
		{"${issuekey}-${}", fb.EInvalid, `unknown variable "${}"`},
		{"${issuekey", fb.EInvalid, `without its closing "}"`},
		{"${issuekey}-${summary", fb.EInvalid, `without its closing "}"`},
		{"${issuetype:Bug=fix,Story=feature,*=task}/${issuekey}", fb.ENotSupported, "mappings are not supported yet"},
		{"${issuekey} ${summary}", fb.EInvalid, `gives "ABC-1 summary", which contains a space`},
		{"${issuekey}\t", fb.EInvalid, `contains the control character '\t'`},
		{"feature..${issuekey}", fb.EInvalid, `contains ".."`},
		{"-${issuekey}", fb.EInvalid, `starts with "-"`},
		{"/${issuekey}", fb.EInvalid, `starts with "/"`},
		{".hidden/${issuekey}", fb.EInvalid, `has a part ".hidden" that starts with "."`},
		{"feature/.${issuekey}", fb.EInvalid, `has a part ".ABC-1" that starts with "."`},
		{"a//${issuekey}", fb.EInvalid, `contains "//"`},
		{"${issuekey}.lock/${summary}", fb.EInvalid, `has a part "ABC-1.lock" that ends with ".lock"`},
		{"x@{${issuekey}}", fb.EInvalid, `contains "@{"`},
		{"refs:${issuekey}", fb.EInvalid, `contains ":"`},
		{"${issuekey}~${summary}", fb.EInvalid, `contains "~"`},
		{"what?${issuekey}", fb.EInvalid, `contains "?"`},
	}
	for _, tt := range invalid {
		err := ValidateTemplate(tt.template)
		if err == nil {
			t.Errorf("ValidateTemplate(%q) accepted it", tt.template)
			continue
		}
		checkError(t, err, tt.code, tt.msg)
	}
}

func checkError(t *testing.T, err error, code fb.Code, msg string) {
	t.Helper()
	e := fb.AsError(err)
	if e == nil {
		t.Fatalf("error %v is not a *forgebridge.Error", err)
	}
	if e.Code != code {
		t.Errorf("code = %s, want %s (%v)", e.Code, code, err)
	}
	if !strings.Contains(e.Message, msg) {
		t.Errorf("message %q does not contain %q", e.Message, msg)
	}
}

// jiraKey is the shape of a real issue key; for those Suggest must succeed.
var jiraKey = regexp.MustCompile(`^[A-Z][A-Z0-9_]*-[1-9][0-9]*$`)

func FuzzSuggest(f *testing.F) {
	f.Add(fb.DefaultBranchNameTemplate, "PROJ-12", "Fix the login page!", "Bug", 0)
	f.Add(fb.DefaultBranchNameTemplate, "proj-12", "Größe ändern", "", 12)
	f.Add(fb.DefaultBranchNameTemplate, "A-1", "日本語", "Story", 3)
	f.Add("feature/${issuekey}-${summary}", "PROJ-1", strings.Repeat("lorem ipsum ", 40), "Task", 0)
	f.Add("${issuetype}/${issuekey}_${summary}", "X-9", "!!!", "New Feature", 20)
	f.Add("${summary}-${issuekey}", "K-1", "a b c d e f", "", 9)
	f.Add("${issuekey}.${summary}", "K.", "", "", 0)
	f.Add("${issuekey}", "@", "", "", 0)
	f.Fuzz(func(t *testing.T, template, key, summary, typ string, maxLen int) {
		issue := fb.Issue{Key: key, Summary: summary, Type: typ}
		name, err := Suggest(template, maxLen, issue)
		limit := maxLen
		if limit <= 0 {
			limit = fb.DefaultBranchNameMaxLength
		}
		upper := strings.ToUpper(key)
		if err != nil {
			if fb.AsError(err) == nil {
				t.Fatalf("Suggest(%q, %d, %+v) error %v is not a *forgebridge.Error", template, maxLen, issue, err)
			}
			if template == fb.DefaultBranchNameTemplate && jiraKey.MatchString(upper) && len(upper) <= limit {
				t.Fatalf("Suggest(%q, %d, %+v) failed for a well-formed key: %v", template, maxLen, issue, err)
			}
			return
		}
		if verr := Valid(name); verr != nil {
			t.Errorf("Suggest(%q, %d, %+v) = %q, not valid: %v", template, maxLen, issue, name, verr)
		}
		if len(name) > limit {
			t.Errorf("Suggest(%q, %d, %+v) = %q, %d bytes, over %d", template, maxLen, issue, name, len(name), limit)
		}
		if !strings.Contains(name, upper) {
			t.Errorf("Suggest(%q, %d, %+v) = %q, lost the key %q", template, maxLen, issue, name, upper)
		}
	})
}

func BenchmarkSuggest(b *testing.B) {
	issue := fb.Issue{Key: "PROJ-1234", Summary: "Fix the login page when the session expires during SSO", Type: "Bug"}
	for b.Loop() {
		if _, err := Suggest(fb.DefaultBranchNameTemplate, 0, issue); err != nil {
			b.Fatal(err)
		}
	}
}
