package branchname

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	fb "github.com/forgebridge/forgebridge"
)

// Valid reports whether name (a short name, without refs/heads/) is a branch
// name git accepts, as `git check-ref-format --branch` does. It also refuses
// names that are not valid UTF-8, which providers' JSON APIs cannot carry.
// The error is an EInvalid *forgebridge.Error whose message names the problem.
func Valid(name string) error {
	if p := problem(name); p != "" {
		return fb.Errorf(fb.EInvalid, "branch name %s %s", quote(name), p)
	}
	return nil
}

// problem returns what is wrong with name as a branch name ("contains \"..\""),
// or "" when nothing is.
func problem(name string) string {
	switch {
	case name == "":
		return "is empty"
	case name == "@" || name == "HEAD":
		return "is reserved by git"
	case name[0] == '-':
		return `starts with "-"`
	case name[0] == '/':
		return `starts with "/"`
	case name[len(name)-1] == '/':
		return `ends with "/"`
	case name[len(name)-1] == '.':
		return `ends with "."`
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	}
	component := 0 // start of the current /-separated component
	for i := 0; i < len(name); i++ {
		c := name[i]
		var next byte
		if i+1 < len(name) {
			next = name[i+1]
		}
		switch {
		case c < 0x20 || c == 0x7f:
			return fmt.Sprintf("contains the control character %q", rune(c))
		case c == ' ':
			return "contains a space"
		case strings.IndexByte(`~^:?*[\`, c) >= 0:
			return fmt.Sprintf("contains %q", string(c))
		case c == '.' && next == '.':
			return `contains ".."`
		case c == '@' && next == '{':
			return `contains "@{"`
		case c == '/' && next == '/':
			return `contains "//"`
		case c == '/':
			if p := componentProblem(name, name[component:i]); p != "" {
				return p
			}
			component = i + 1
		}
	}
	return componentProblem(name, name[component:])
}

// componentProblem checks one /-separated component c of name.
func componentProblem(name, c string) string {
	var rule string
	switch {
	case strings.HasPrefix(c, "."):
		rule = `starts with "."`
	case strings.HasSuffix(c, ".lock"):
		rule = `ends with ".lock"`
	default:
		return ""
	}
	if c == name {
		return rule
	}
	return "has a part " + quote(c) + " that " + rule
}

// quote quotes s for a message, shortened so that a pasted novel does not
// become the whole error.
func quote(s string) string {
	const max = 100
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "…"
}
