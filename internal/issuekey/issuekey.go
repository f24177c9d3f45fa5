// Package issuekey finds the tracker's issue keys (PROJ-123) in commit
// messages, pull request titles and branch names, as API.md "Issue keys"
// defines them. It runs on every commit of long histories, so it scans bytes
// without regular expressions and allocates only for the keys it returns.
package issuekey

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxDigits bounds an issue number: Jira's are int64, and every number of 18
// digits fits one.
const maxDigits = 18

// Matcher recognises the keys of a fixed set of projects. It is immutable and
// safe for concurrent use.
type Matcher struct {
	projects map[string]struct{}
	sorted   []string
	maxLen   int // the longest project key, to bound the upper-casing buffer
}

// NewMatcher returns a Matcher for projects. Keys are compared upper case;
// surrounding spaces are trimmed; entries that are not project keys (upper-case letters, digits and '_',
// starting with a letter, as Jira requires) are ignored, and so are
// duplicates.
func NewMatcher(projects []string) *Matcher {
	m := &Matcher{projects: make(map[string]struct{}, len(projects))}
	for _, p := range projects {
		p = upperASCII(strings.TrimSpace(p))
		if !validProject(p) {
			continue
		}
		if _, ok := m.projects[p]; ok {
			continue
		}
		m.projects[p] = struct{}{}
		m.sorted = append(m.sorted, p)
		m.maxLen = max(m.maxLen, len(p))
	}
	slices.Sort(m.sorted)
	return m
}

// Projects returns the project keys the Matcher knows, sorted.
func (m *Matcher) Projects() []string { return slices.Clone(m.sorted) }

// Message returns the keys mentioned in a commit message, a pull request
// title or description: upper case only, deduplicated, in order of first
// appearance.
func (m *Matcher) Message(text string) []string { return m.scan(text, false) }

// Branch returns the keys mentioned in a branch name, in any case
// (proj-1-fix mentions PROJ-1), upper case, deduplicated, in order.
func (m *Matcher) Branch(name string) []string { return m.scan(name, true) }

func (m *Matcher) scan(text string, anyCase bool) []string {
	var keys []string
	var seen map[string]struct{}
	var buf [64]byte
	upper := buf[:0]
	if m.maxLen > len(buf) {
		upper = make([]byte, 0, m.maxLen)
	}
	for from := 0; ; {
		h := strings.IndexByte(text[from:], '-')
		if h < 0 {
			return keys
		}
		h += from
		from = h + 1

		// The number: 1 to maxDigits digits, no leading zero, then no word
		// character.
		end := h + 1
		for end < len(text) && isDigit(text[end]) {
			end++
		}
		if n := end - h - 1; n == 0 || n > maxDigits || text[h+1] == '0' {
			continue
		}
		if end < len(text) && wordAt(text, end) {
			continue
		}

		// The project: the longest run of key characters before the hyphen,
		// itself not preceded by a word character.
		start := h
		for start > 0 && keyChar(text[start-1], anyCase) {
			start--
		}
		if start == h || h-start > m.maxLen || start > 0 && wordBefore(text, start) {
			continue
		}
		var key string
		if anyCase {
			upper = upper[:0]
			for i := start; i < h; i++ {
				upper = append(upper, upperByte(text[i]))
			}
			// string(upper) in a map index does not allocate.
			if _, ok := m.projects[string(upper)]; !ok {
				continue
			}
			key = string(append(upper, text[h:end]...))
		} else {
			if _, ok := m.projects[text[start:h]]; !ok {
				continue
			}
			// A copy: a substring would keep a whole 1 MB message alive.
			key = strings.Clone(text[start:end])
		}
		switch {
		case seen != nil:
			if _, dup := seen[key]; !dup {
				seen[key] = struct{}{}
				keys = append(keys, key)
			}
		case !slices.Contains(keys, key):
			keys = append(keys, key)
			// A message listing many keys must not cost a quadratic time.
			if len(keys) == 16 {
				seen = make(map[string]struct{}, 32)
				for _, k := range keys {
					seen[k] = struct{}{}
				}
			}
		}
		from = end
	}
}

func validProject(p string) bool {
	if p == "" || !isUpper(p[0]) {
		return false
	}
	for i := 1; i < len(p); i++ {
		if !keyChar(p[i], false) {
			return false
		}
	}
	return true
}

// keyChar reports whether c can be part of a project key as it is written:
// upper case in messages, any case in branch names.
func keyChar(c byte, anyCase bool) bool {
	return isUpper(c) || isDigit(c) || c == '_' || anyCase && 'a' <= c && c <= 'z'
}

// wordAt reports whether the character starting at text[i] is a letter, a
// digit or '_', in any script. Bytes that are not UTF-8 are not letters.
func wordAt(text string, i int) bool {
	if c := text[i]; c < utf8.RuneSelf {
		return isWordASCII(c)
	}
	r, _ := utf8.DecodeRuneInString(text[i:])
	return isWordRune(r)
}

// wordBefore reports whether the character ending just before text[i] is a
// letter, a digit or '_'.
func wordBefore(text string, i int) bool {
	if c := text[i-1]; c < utf8.RuneSelf {
		return isWordASCII(c)
	}
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return isWordRune(r)
}

func isWordRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r))
}

func isWordASCII(c byte) bool {
	return isUpper(c) || 'a' <= c && c <= 'z' || isDigit(c) || c == '_'
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func upperByte(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'a' <= s[i] && s[i] <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				b[j] = upperByte(b[j])
			}
			return string(b)
		}
	}
	return s
}
