package branchname

import (
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unicode/utf8"

	fb "github.com/forgebridge/forgebridge"
)

// validTests pairs names with the problem Valid must name ("" when valid).
var validTests = []struct {
	name    string
	problem string
}{
	{"main", ""},
	{"PROJ-12-fix-the-login-page", ""},
	{"feature/PROJ-12", ""},
	{"a/b/c", ""},
	{"a.b", ""},
	{"a/b.c", ""},
	{"v1.2.3", ""},
	{"a.lock.b", ""},
	{"lock", ""},
	{"a-", ""},
	{"a@b", ""},
	{"@@", ""},
	{"a@", ""},
	{"a{b}", ""},
	{"x!#$%&'()+,;<=>`|\"", ""},
	{"größe/日本語", ""},
	{"HEADS", ""},
	{"a_b", ""},

	{"", "is empty"},
	{"@", "is reserved by git"},
	{"HEAD", "is reserved by git"},
	{"a..b", `contains ".."`},
	{"..", `ends with "."`},
	{"a/.b/c", `has a part ".b" that starts with "."`},
	{"a/..", `ends with "."`},
	{"a b", "contains a space"},
	{"a\x00b", `contains the control character '\x00'`},
	{"a\tb", `contains the control character '\t'`},
	{"a\x1fb", `contains the control character '\x1f'`},
	{"a\x7fb", `contains the control character '\x7f'`},
	{"a~1", `contains "~"`},
	{"a^1", `contains "^"`},
	{"a:b", `contains ":"`},
	{"a?", `contains "?"`},
	{"a*", `contains "*"`},
	{"a[b", `contains "["`},
	{`a\b`, `contains "\\"`},
	{"a@{1}", `contains "@{"`},
	{"@{", `contains "@{"`},
	{".hidden", `starts with "."`},
	{"a/.hidden", `has a part ".hidden" that starts with "."`},
	{"a/./b", `has a part "." that starts with "."`},
	{"a.lock", `ends with ".lock"`},
	{"a.lock/b", `has a part "a.lock" that ends with ".lock"`},
	{"b/a.lock", `has a part "a.lock" that ends with ".lock"`},
	{"a.", `ends with "."`},
	{"a/", `ends with "/"`},
	{"a//b", `contains "//"`},
	{"/a", `starts with "/"`},
	{"-a", `starts with "-"`},
	{"a\xffb", "is not valid UTF-8"},
}

func TestValid(t *testing.T) {
	for _, tt := range validTests {
		err := Valid(tt.name)
		if tt.problem == "" {
			if err != nil {
				t.Errorf("Valid(%q): %v", tt.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("Valid(%q) accepted it, want %q", tt.name, tt.problem)
			continue
		}
		checkError(t, err, fb.EInvalid, tt.problem)
	}
}

func TestValidMessage(t *testing.T) {
	err := Valid("a..b")
	if got, want := fb.ErrorMessage(err), `branch name "a..b" contains ".."`; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
	// A huge name is shortened in the message.
	err = Valid(strings.Repeat("x", 5000) + " ")
	if got, want := fb.ErrorMessage(err), `branch name "`+strings.Repeat("x", 100)+`"… contains a space`; got != want {
		t.Errorf("message = %q, want %q", got, want)
	}
}

// TestValidAgreesWithGit runs `git check-ref-format --branch` on the table
// when git is installed (in CI, where CI=true, git is required). Skipped:
// names git accepts but Valid refuses on purpose (invalid UTF-8; "@", which
// git reads as HEAD) and names with NUL, which a command line cannot carry.
func TestValidAgreesWithGit(t *testing.T) {
	git, err := exec.LookPath("git")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("git not installed, and CI=true: install the git package")
		}
		t.Skip("git not installed: the comparison with git check-ref-format is skipped")
	}
	dir := t.TempDir() // outside any repository
	for _, tt := range validTests {
		if strings.IndexByte(tt.name, 0) >= 0 || !utf8.ValidString(tt.name) || tt.name == "@" {
			continue
		}
		cmd := exec.Command(git, "check-ref-format", "--branch", tt.name)
		cmd.Dir = dir
		err := cmd.Run()
		var exit *exec.ExitError
		if err != nil && !errors.As(err, &exit) {
			t.Fatalf("running git: %v", err)
		}
		if gitOK, ours := err == nil, tt.problem == ""; gitOK != ours {
			t.Errorf("%q: git accepts=%v, Valid accepts=%v", tt.name, gitOK, ours)
		}
	}
}

// oracleValid restates git's branch name rules one by one, independently of
// the single-pass scan in Valid.
func oracleValid(name string) bool {
	if name == "" || name == "@" || name == "HEAD" || !utf8.ValidString(name) {
		return false
	}
	for _, bad := range []string{"..", "@{", "//", " ", "~", "^", ":", "?", "*", "[", `\`} {
		if strings.Contains(name, bad) {
			return false
		}
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return false
	}
	if strings.HasPrefix(name, "-") || strings.HasPrefix(name, "/") || strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".") {
		return false
	}
	for _, c := range strings.Split(name, "/") {
		if strings.HasPrefix(c, ".") || strings.HasSuffix(c, ".lock") {
			return false
		}
	}
	return true
}

func FuzzValid(f *testing.F) {
	for _, tt := range validTests {
		f.Add(tt.name)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := Valid(name)
		if want := oracleValid(name); (err == nil) != want {
			t.Fatalf("Valid(%q) = %v, oracle says valid=%v", name, err, want)
		}
		if err == nil {
			return
		}
		e := fb.AsError(err)
		if e == nil || e.Code != fb.EInvalid || !strings.HasPrefix(e.Message, "branch name ") {
			t.Fatalf("Valid(%q) = %#v, want an EInvalid *forgebridge.Error", name, err)
		}
	})
}
