package branchname

import (
	"regexp"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
)

func TestSuggest(t *testing.T) {
	const def = fb.DefaultBranchNameTemplate
	const typical = "${issuetype:Bug=bugfix,Story=feature,*=task}/${issuekey}-${summary}"
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

		{"mapping picks the type's value", typical, 0, fb.Issue{Key: "PROJ-12", Type: "Bug", Summary: "Fix"}, "bugfix/PROJ-12-fix"},
		{"mapping ignores case", typical, 0, fb.Issue{Key: "PROJ-12", Type: "STORY", Summary: "Fix"}, "feature/PROJ-12-fix"},
		{"mapping falls back", typical, 0, fb.Issue{Key: "PROJ-12", Type: "Epic", Summary: "Fix"}, "task/PROJ-12-fix"},
		{"mapping falls back for an unknown type", typical, 0, fb.Issue{Key: "PROJ-12", Summary: "Fix"}, "task/PROJ-12-fix"},
		{"mapping types with space and hyphen", "${issuetype:New Feature=feature,Sub-task=sub-task}/${issuekey}", 0,
			fb.Issue{Key: "PROJ-1", Type: "new feature"}, "feature/PROJ-1"},
		{"mapping type with hyphen, other case", "${issuetype:New Feature=feature,Sub-task=sub-task}/${issuekey}", 0,
			fb.Issue{Key: "PROJ-1", Type: "Sub-Task"}, "sub-task/PROJ-1"},
		{"mapping type is not slugged before matching", "${issuetype:New Feature=feature,*=other}/${issuekey}", 0,
			fb.Issue{Key: "PROJ-1", Type: "new-feature"}, "other/PROJ-1"},
		{"mapping without match or fallback leaves no leading slash", "${issuetype:Bug=bugfix}/${issuekey}-${summary}", 0,
			fb.Issue{Key: "PROJ-12", Type: "Story", Summary: "Fix"}, "PROJ-12-fix"},
		{"mapping without match in the middle", "team/${issuetype:Bug=fix}/${issuekey}", 0, fb.Issue{Key: "PROJ-12", Type: "Task"}, "team/PROJ-12"},
		{"mapping with spaces around names and values", "${issuetype: Bug = fix , * = task }/${issuekey}", 0,
			fb.Issue{Key: "PROJ-1", Type: " bug "}, "fix/PROJ-1"},
		{"mapping with non-ASCII type name", "${issuetype:Fehler=fix,Käfer=bug}/${issuekey}", 0, fb.Issue{Key: "PROJ-1", Type: "KÄFER"}, "bug/PROJ-1"},
		{"mapping and plain type together", "${issuetype:Bug=fix,*=work}/${issuetype}/${issuekey}", 0,
			fb.Issue{Key: "PROJ-1", Type: "New Feature"}, "work/new-feature/PROJ-1"},
		{"mapping after the key, cut", "${issuekey}-${issuetype:Bug=bugfix}-${summary}", 20,
			fb.Issue{Key: "PROJ-1", Type: "Bug", Summary: "Fix the login page"}, "PROJ-1-bugfix-fix"},
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
		{"bad type mapping", "${issuetype:Bug=fix,Bug=bugfix}/${issuekey}", 0, fb.Issue{Key: "PROJ-1", Type: "Bug"}, fb.EInvalid,
			`maps the issue type "Bug" twice`},
		{"mapping value makes an invalid name", "${issuekey}.${issuetype:Bug=lock}", 0, fb.Issue{Key: "PROJ-1", Type: "Bug"}, fb.EInvalid,
			`branch name "PROJ-1.lock" ends with ".lock"`},
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
		"${issuetype:Bug=bugfix,Story=feature,*=task}/${issuekey}-${summary}",
		"${issuetype:Bug=fix}/${issuekey}",
		"${issuetype:*=work}/${issuekey}",
		"${issuetype:New Feature=feature,Sub-task=sub-task,bug=fix-1}/${issuekey}",
		"${issuekey}-${issuetype: Bug = fix , * = task }",
		"${issuetype:Fehler=fix,Käfer=bug}/${issuekey}",
		"${issuekey}.${issuetype:Bug=locked}",
		"${issuetype:Bug=fix}/${issuetype:*=x}/${issuekey}",
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
		{"${issuekey}-${Summary}", fb.EInvalid,
			`unknown variable "${Summary}"; the known variables are ${issuekey}, ${summary}, ${issuetype} and ${issuetype:Type=value,…,*=value}`},
		{"${issuekey}-${}", fb.EInvalid, `unknown variable "${}"`},
		{"${issuekey", fb.EInvalid, `without its closing "}"`},
		{"${issuekey}-${summary", fb.EInvalid, `without its closing "}"`},
		{"${issuetype:}/${issuekey}", fb.EInvalid,
			`branch name template "${issuetype:}/${issuekey}": the mapping "${issuetype:}" maps no issue types; write it as ${issuetype:Bug=bugfix,Story=feature,*=task}`},
		{"${issuetype: }/${issuekey}", fb.EInvalid, "maps no issue types"},
		{"${issuetype:Bug=fix,,*=task}/${issuekey}", fb.EInvalid, `has an empty pair (a "," at an end or two in a row)`},
		{"${issuetype:Bug=fix,}/${issuekey}", fb.EInvalid, "has an empty pair"},
		{"${issuetype:,Bug=fix}/${issuekey}", fb.EInvalid, "has an empty pair"},
		{"${issuetype:Bug}/${issuekey}", fb.EInvalid,
			`the mapping "${issuetype:Bug}" has the pair "Bug" without "="; each pair is Type=value, and issue type names and values cannot contain ",", "=" or "}"`},
		{"${issuetype:Bug}fix=x,*=task}/${issuekey}", fb.EInvalid, `has the pair "Bug" without "="`},
		{"${issuetype:Bug=fix=now}/${issuekey}", fb.EInvalid, `has the pair "Bug=fix=now" with more than one "="; issue type names and values cannot contain`},
		{"${issuetype:=fix}/${issuekey}", fb.EInvalid, `has the pair "=fix" with no issue type before "="`},
		{"${issuetype: =fix}/${issuekey}", fb.EInvalid, `with no issue type before "="`},
		{"${issuetype:Bug=fix,bug=bugfix}/${issuekey}", fb.EInvalid, `maps the issue type "bug" twice (type names match ignoring case)`},
		{"${issuetype:*=a,Bug=b,*=c}/${issuekey}", fb.EInvalid, `has more than one fallback "*="`},
		{"${issuetype:Bug=}/${issuekey}", fb.EInvalid, `gives the issue type "Bug" an empty value; write a value after "=" or leave the pair out`},
		{"${issuetype:*= }/${issuekey}", fb.EInvalid, `gives the fallback "*" an empty value`},
		{"${issuetype:Bug=bug/fix}/${issuekey}", fb.EInvalid,
			`gives the issue type "Bug" the value "bug/fix"; a value may only hold lower-case letters a-z and digits, in words joined by single "-" (like "bug-fix"); put "/" and other separators in the template around the variable`},
		{"${issuetype:Bug=Fix}/${issuekey}", fb.EInvalid, `the value "Fix"; a value may only hold lower-case letters`},
		{"${issuetype:Bug=-fix}/${issuekey}", fb.EInvalid, `the value "-fix"`},
		{"${issuetype:Bug=fix-}/${issuekey}", fb.EInvalid, `the value "fix-"`},
		{"${issuetype:Bug=fix--it}/${issuekey}", fb.EInvalid, `the value "fix--it"`},
		{"${issuetype:Bug=fix it}/${issuekey}", fb.EInvalid, `the value "fix it"`},
		{"${issuetype:*=wörk}/${issuekey}", fb.EInvalid, `gives the fallback "*" the value "wörk"`},
		{"${issuetype:Bug=fix", fb.EInvalid, `without its closing "}"`},
		{"${issuetype:Bug=fix}", fb.EInvalid, "must contain ${issuekey}"},
		{"${issuekey}-${summary:Bug=fix}", fb.EInvalid, `unknown variable "${summary:Bug=fix}"`},
		{"${IssueType:Bug=fix}/${issuekey}", fb.EInvalid, `unknown variable "${IssueType:Bug=fix}"`},
		{"${issuetype :Bug=fix}/${issuekey}", fb.EInvalid, `unknown variable "${issuetype :Bug=fix}"`},
		{"${issuekey}.${issuetype:Story=feature,Bug=lock}", fb.EInvalid,
			`for issue ABC-1 of type "Bug" it gives "ABC-1.lock", which ends with ".lock"`},
		{"${issuekey}.${issuetype:Bug=fix,*=lock}", fb.EInvalid, `for issue ABC-1 of a type no pair names it gives "ABC-1.lock"`},
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
		{"${issuetype}.lock/${issuekey}", fb.EInvalid, `for issue ABC-1 of type "bug" it gives "bug.lock/ABC-1", which has a part "bug.lock"`},
		{"${issuekey}.${issuetype}lock", fb.EInvalid, `for issue ABC-1 without a type it gives "ABC-1.lock"`},
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
	f.Add("${issuetype:Bug=bugfix,Story=feature,*=task}/${issuekey}-${summary}", "PROJ-7", "Crash on save", "Bug", 0)
	f.Add("${issuetype:Bug=bugfix,Story=feature,*=task}/${issuekey}-${summary}", "PROJ-7", "Crash on save", "epic", 14)
	f.Add("team/${issuetype:New Feature=feature,Sub-task=sub}/${issuekey}", "P-1", "x", "sub-TASK", 0)
	f.Add("${issuetype:Bug=fix}-${issuekey}.${issuetype:*=lock}", "P-2", "", "Story", 0)
	f.Add("${issuetype:Bug=fix,,=x}/${issuekey}", "P-3", "", "Bug", 0)
	f.Add("${issuekey}/${issuetype: Bug = a-b , * = c }/${summary}", "P-4", "a b", " bug ", 8)
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
