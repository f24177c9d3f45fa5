package issuekey

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

var projects = []string{"PROJ", "OPS", "A1_B", "X"}

func TestNewMatcher(t *testing.T) {
	tests := []struct {
		name string
		in   []string
		want []string
	}{
		{"nil", nil, nil},
		{"sorted and upper case", []string{"ops", "PROJ", " Abc "}, []string{"ABC", "OPS", "PROJ"}},
		{"duplicates once", []string{"PROJ", "proj", "PROJ"}, []string{"PROJ"}},
		{"digits and underscore after the first letter", []string{"A1", "B_2", "C_"}, []string{"A1", "B_2", "C_"}},
		{"invalid entries ignored", []string{"", " ", "1A", "_A", "PRO-J", "PRO J", "ÄBC", "PROJ\x00", "P.Q"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := NewMatcher(tt.in).Projects()
			if len(got) == 0 && len(tt.want) == 0 {
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Projects() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProjectsIsACopy(t *testing.T) {
	m := NewMatcher([]string{"PROJ"})
	m.Projects()[0] = "EVIL"
	if got := m.Projects(); got[0] != "PROJ" {
		t.Errorf("Projects() after changing a returned slice = %q", got)
	}
}

func TestMessage(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"empty", "", nil},
		{"no hyphen", "fix the build", nil},
		{"whole text", "PROJ-1", []string{"PROJ-1"}},
		{"start of text", "PROJ-1 fix", []string{"PROJ-1"}},
		{"end of text", "fix PROJ-1", []string{"PROJ-1"}},
		{"large number", "PROJ-123456789012345678", []string{"PROJ-123456789012345678"}},
		{"more than 18 digits", "PROJ-1234567890123456789", nil},
		{"leading zero", "PROJ-01", nil},
		{"zero", "PROJ-0", nil},
		{"no number", "PROJ- 1 PROJ-", nil},
		{"letter after", "PROJ-1x", nil},
		{"underscore after", "PROJ-1_", nil},
		{"letter before", "XPROJ-1", nil},
		{"lower-case letter before", "xPROJ-1", nil},
		{"digit before", "1PROJ-1", nil},
		{"underscore before", "_PROJ-1", nil},
		{"longer number never mentions a shorter one", "PROJ-12", []string{"PROJ-12"}},
		{"lower case", "proj-1 Proj-2 pROJ-3", nil},
		{"unknown project", "ABC-1", nil},
		{"look-alikes", "Use UTF-8 and SHA-256 (see CVE-2021-21300)", nil},
		{"synth look-alikes", "xproj-1 PROJ-01 PROJ-1x lower proj-2", nil},
		{"refs line", "Refs: PROJ-12, OPS-3", []string{"PROJ-12", "OPS-3"}},
		{"parentheses", "(PROJ-1)", []string{"PROJ-1"}},
		{"colon", "PROJ-1: fix", []string{"PROJ-1"}},
		{"brackets", "[PROJ-1] fix", []string{"PROJ-1"}},
		{"comma without space", "PROJ-1,PROJ-2", []string{"PROJ-1", "PROJ-2"}},
		{"hyphen after", "PROJ-1-fix", []string{"PROJ-1"}},
		{"chained", "PROJ-1-OPS-2", []string{"PROJ-1", "OPS-2"}},
		{"hyphen before", "PROJ-PROJ-1", []string{"PROJ-1"}},
		{"dot after", "see PROJ-1.", []string{"PROJ-1"}},
		{"slash around", "feature/PROJ-1/x", []string{"PROJ-1"}},
		{"hash", "#PROJ-1", []string{"PROJ-1"}},
		{"newlines", "subject\n\nPROJ-1\nOPS-2\r\nPROJ-3\n", []string{"PROJ-1", "OPS-2", "PROJ-3"}},
		{"tab", "\tPROJ-1\t", []string{"PROJ-1"}},
		{"deduplicated in order", "OPS-2 PROJ-1 OPS-2 PROJ-1 PROJ-3", []string{"OPS-2", "PROJ-1", "PROJ-3"}},
		{"digits and underscore in the project", "A1_B-7", []string{"A1_B-7"}},
		{"project prefix of the run is not a key", "A1_B_C-7", nil},
		{"one-letter project", "X-9 XX-9", []string{"X-9"}},
		{"unicode letter before", "ÄPROJ-1", nil},
		{"unicode letter after", "PROJ-1é", nil},
		{"unicode digit after", "PROJ-1٣", nil},
		{"unicode punctuation around", "«PROJ-1» “OPS-2”", []string{"PROJ-1", "OPS-2"}},
		{"non-breaking space", "\u00a0PROJ-1\u00a0", []string{"PROJ-1"}},
		{"invalid UTF-8 around", "\xffPROJ-1\xfe \xc3PROJ-2\xc3", []string{"PROJ-1", "PROJ-2"}},
		{"NUL bytes around", "\x00PROJ-1\x00OPS-2\x00", []string{"PROJ-1", "OPS-2"}},
		{"NUL inside", "PROJ\x00-1 PROJ-\x001", nil},
		{"en dash is not a hyphen", "PROJ–1", nil},
		{"smart commit", "PROJ-1 #comment done #time 2h", []string{"PROJ-1"}},
		{"url", "https://jira.example.com/browse/PROJ-42?x=1", []string{"PROJ-42"}},
	}
	m := NewMatcher(projects)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Message(tt.text); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Message(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestBranch(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string
	}{
		{"lower case", "proj-1-fix", []string{"PROJ-1"}},
		{"mixed case", "feature/Proj-12_x", nil},
		{"mixed case with hyphen", "feature/Proj-12-x", []string{"PROJ-12"}},
		{"upper case", "PROJ-1", []string{"PROJ-1"}},
		{"several", "ops-2/proj-1-and-PROJ-1", []string{"OPS-2", "PROJ-1"}},
		{"letter before", "xproj-1", nil},
		{"leading zero", "proj-01", nil},
		{"letter after", "proj-1x", nil},
		{"unknown project", "utf-8", nil},
		{"unicode letter before", "äproj-1", nil},
		{"slash", "bugfix/proj-7", []string{"PROJ-7"}},
		{"underscore project", "a1_b-3", []string{"A1_B-3"}},
	}
	m := NewMatcher(projects)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Branch(tt.text); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Branch(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestManyKeys(t *testing.T) {
	var b strings.Builder
	var want []string
	for i := 1; i <= 200; i++ {
		k := "PROJ-" + strings.Repeat("1", 1+i%5) + string(rune('1'+i%9))
		b.WriteString(k + " " + k + ", ")
		if !contains(want, k) {
			want = append(want, k)
		}
	}
	if got := NewMatcher(projects).Message(b.String()); !reflect.DeepEqual(got, want) {
		t.Errorf("Message of 200 keys: got %d keys, want %d: %q", len(got), len(want), got)
	}
}

func TestNoProjects(t *testing.T) {
	if got := NewMatcher(nil).Message("PROJ-1"); got != nil {
		t.Errorf("Message with no projects = %q", got)
	}
}

func TestLongProject(t *testing.T) {
	long := "P" + strings.Repeat("R", 100)
	m := NewMatcher([]string{long})
	if got := m.Branch(strings.ToLower(long) + "-5"); !reflect.DeepEqual(got, []string{long + "-5"}) {
		t.Errorf("Branch with a 101-character project = %q", got)
	}
}

func TestNoAllocationWithoutKeys(t *testing.T) {
	m := NewMatcher(projects)
	text := strings.Repeat("Use UTF-8 and SHA-256 (see CVE-2021-21300); xproj-1 PROJ-01 PROJ-1x.\n", 20)
	for _, f := range []func(string) []string{m.Message, m.Branch} {
		if n := testing.AllocsPerRun(100, func() { f(text) }); n != 0 {
			t.Errorf("%v allocations scanning text without keys, want 0", n)
		}
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

var (
	refWordBefore = regexp.MustCompile(`[\p{L}\p{Nd}_]$`)
	refWordAfter  = regexp.MustCompile(`^[\p{L}\p{Nd}_]`)
	refKeyTail    = regexp.MustCompile(`^[1-9][0-9]{0,17}$`)
)

// reference is an independent implementation with regular expressions: the
// leftmost project key followed by a number, accepted only when no word
// character touches it.
func reference(projects []string, text string, anyCase bool) []string {
	if anyCase {
		// ASCII only, byte by byte: (?i) would also fold the Kelvin sign
		// into K, and strings.Map would rewrite invalid UTF-8.
		b := []byte(text)
		for i, c := range b {
			if 'a' <= c && c <= 'z' {
				b[i] = c - 'a' + 'A'
			}
		}
		text = string(b)
	}
	cand := regexp.MustCompile(`(?:` + strings.Join(projects, "|") + `)-[0-9]+`)
	var keys []string
	for _, loc := range cand.FindAllStringIndex(text, -1) {
		match := text[loc[0]:loc[1]]
		h := strings.LastIndexByte(match, '-')
		if !refKeyTail.MatchString(match[h+1:]) ||
			refWordBefore.MatchString(text[max(0, loc[0]-utf8.UTFMax):loc[0]]) ||
			refWordAfter.MatchString(text[loc[1]:]) {
			continue
		}
		if k := strings.ToUpper(match); !contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

func FuzzMessage(f *testing.F) {
	for _, s := range []string{
		"PROJ-1", "xproj-1 PROJ-01 PROJ-1x lower proj-2", "Use UTF-8 and SHA-256 (see CVE-2021-21300)",
		"Refs: PROJ-12, OPS-3", "(PROJ-1)", "PROJ-1:", "[PROJ-1]", "PROJ-1,PROJ-2", "proj-1-fix",
		"ÄPROJ-1", "\xffPROJ-1\x00", "PROJ-1234567890123456789", "A1_B-3 X-1 XX-1", "PROJ-PROJ-1-OPS-2",
	} {
		f.Add(s)
	}
	m := NewMatcher(projects)
	f.Fuzz(func(t *testing.T, text string) {
		got := m.Message(text)
		if want := reference(projects, text, false); !reflect.DeepEqual(got, want) {
			t.Errorf("Message(%q) = %q, reference %q", text, got, want)
		}
		branch := m.Branch(text)
		if want := reference(projects, text, true); !reflect.DeepEqual(branch, want) {
			t.Errorf("Branch(%q) = %q, reference %q", text, branch, want)
		}
		// Every key a message mentions is also one its text mentions as a
		// branch name, and every key is in the text as it is returned.
		for _, k := range got {
			if !contains(branch, k) || !strings.Contains(text, k) || !utf8.ValidString(k) {
				t.Errorf("Message(%q) key %q: not in Branch %q or not in the text", text, k, branch)
			}
		}
	})
}

func BenchmarkMessage(b *testing.B) {
	m := NewMatcher([]string{"PROJ", "OPS", "CORE", "WEB", "API"})
	msgs := []string{
		"PROJ-1234 Fix the flaky login test\n\nThe session cookie expired between steps.\n",
		"Merge branch 'feature/ops-77-dashboards' into main",
		"Use UTF-8 and SHA-256 (see CVE-2021-21300)\n\nRefs: PROJ-12, OPS-3\n",
		"Bump golang.org/x/net from 0.17.0 to 0.23.0\n\nSigned-off-by: dependabot[bot] <support@github.com>\n",
		"Refactor the cache layer without changing behaviour; see the design note for why.\n",
	}
	var size int64
	for _, s := range msgs {
		size += int64(len(s))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range msgs {
			m.Message(s)
		}
	}
}

func BenchmarkBranch(b *testing.B) {
	m := NewMatcher([]string{"PROJ", "OPS", "CORE", "WEB", "API"})
	b.ReportAllocs()
	for b.Loop() {
		m.Branch("feature/proj-1234-fix-login")
		m.Branch("dependabot/go_modules/golang.org/x/net-0.23.0")
	}
}
