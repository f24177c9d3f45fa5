// Package smartcommit reads the smart-commit commands in a commit message
// (API.md "Acting on git data", after Atlassian's grammar): on one line, the
// issue keys before the first command, then the commands #comment TEXT,
// #time DURATION [TEXT] and #NAME [TEXT] (a transition). It is pure: what the
// commands do is the caller's business.
package smartcommit

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/forgebridge/forgebridge/internal/issuekey"
)

// Kind is what a command does.
type Kind string

const (
	KindComment    Kind = "comment"
	KindTime       Kind = "time"
	KindTransition Kind = "transition"
)

// Time tracking as in Jira's default: a day is 8 hours, a week 5 days.
const (
	secondsPerMinute = 60
	secondsPerHour   = 60 * secondsPerMinute
	secondsPerDay    = 8 * secondsPerHour
	secondsPerWeek   = 5 * secondsPerDay
)

// Command is one command of a message and the issues it acts on.
type Command struct {
	// Keys are the issue keys before the line's first command, in order.
	Keys []string
	Kind Kind
	// Name is the transition's name, lower case with hyphens for spaces
	// ("start-progress"); "comment" or "time" for the other kinds.
	Name string
	// Text is the comment, the work log's comment or the transition's
	// comment; empty when none was written.
	Text string
	// Seconds is the work a #time logs; 0 when no duration could be read,
	// which the tracker must refuse.
	Seconds int64
	// ID names the command within its message, the same each time the
	// message is read: a digest of what it does and, for identical commands,
	// which occurrence it is. With the commit and the issue it makes the
	// command's once-only key.
	ID string
}

// Parse returns the commands of message for the issue keys m recognises, in
// the order written. A line without a key before its first command has no
// commands; a command never continues on the next line.
func Parse(m *issuekey.Matcher, message string) []Command {
	// Most commits carry no command: they cost one byte scan.
	if strings.IndexByte(message, '#') < 0 {
		return nil
	}
	var cmds []Command
	seen := map[string]int{}
	// A carriage return alone ends a line too.
	for line := range strings.FieldsFuncSeq(message, func(r rune) bool { return r == '\n' || r == '\r' }) {
		first := nextCommand(line, 0)
		if first < 0 {
			continue
		}
		keys := m.Message(line[:first])
		if len(keys) == 0 {
			continue
		}
		for at := first; at >= 0; {
			nameEnd := at + 1
			for nameEnd < len(line) {
				r, size := utf8.DecodeRuneInString(line[nameEnd:])
				if !nameRune(r) {
					break
				}
				nameEnd += size
			}
			next := nextCommand(line, nameEnd)
			argsEnd := next
			if next < 0 {
				argsEnd = len(line)
			}
			c := command(line[at+1:nameEnd], strings.TrimSpace(line[nameEnd:argsEnd]))
			c.Keys = keys
			digest := c.digest()
			seen[digest]++
			c.ID = digest + "." + strconv.Itoa(seen[digest])
			cmds = append(cmds, c)
			at = next
		}
	}
	return cmds
}

func command(word, args string) Command {
	name := strings.ToLower(word)
	switch name {
	case "comment":
		return Command{Kind: KindComment, Name: name, Text: args}
	case "time":
		seconds, rest := duration(args)
		return Command{Kind: KindTime, Name: name, Seconds: seconds, Text: rest}
	}
	return Command{Kind: KindTransition, Name: name, Text: args}
}

// digest is a short hex SHA-256 of what the command does.
func (c Command) digest() string {
	h := sha256.New()
	for _, s := range []string{string(c.Kind), c.Name, strconv.FormatInt(c.Seconds, 10), c.Text} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// nextCommand returns where the next command of line at or after from
// starts (its '#'), or -1: a '#' at the start of the line or after a space,
// followed by a letter, and its name then ends the line or is followed by a
// space. "C#", "#12" and "a#b" are not commands.
func nextCommand(line string, from int) int {
	for from < len(line) {
		i := strings.IndexByte(line[from:], '#')
		if i < 0 {
			return -1
		}
		i += from
		from = i + 1
		if i > 0 {
			r, _ := utf8.DecodeLastRuneInString(line[:i])
			if !unicode.IsSpace(r) {
				continue
			}
		}
		r, size := utf8.DecodeRuneInString(line[i+1:])
		if !unicode.IsLetter(r) {
			continue
		}
		end := i + 1 + size
		for end < len(line) {
			r, size := utf8.DecodeRuneInString(line[end:])
			if !nameRune(r) {
				break
			}
			end += size
		}
		if end < len(line) {
			if r, _ := utf8.DecodeRuneInString(line[end:]); !unicode.IsSpace(r) {
				continue
			}
		}
		return i
	}
	return -1
}

// nameRune reports whether r may be part of a command name: letters, digits,
// hyphens (for a transition name's spaces) and underscores.
func nameRune(r rune) bool {
	return r != utf8.RuneError && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_')
}

// duration reads the leading duration of a #time's arguments, words such as
// "1w", "2d", "4h", "30m", "1.5h" or "1h30m", and returns its seconds and the
// rest, the work log's comment. Seconds is 0 when there is no duration.
func duration(args string) (int64, string) {
	var total float64
	rest := args
	for {
		word, after, _ := strings.Cut(strings.TrimLeftFunc(rest, unicode.IsSpace), " ")
		if word == "" {
			break
		}
		if i := strings.IndexFunc(word, unicode.IsSpace); i >= 0 {
			// A tab: cut there too.
			after = word[i:] + " " + after
			word = word[:i]
		}
		s, ok := durationWord(word)
		if !ok {
			break
		}
		total += s
		rest = after
	}
	return int64(total + 0.5), strings.TrimSpace(rest)
}

// durationWord reads one word of a duration: one or more numbers, each with
// at most 6 digits before and after a point, followed by a unit.
func durationWord(word string) (float64, bool) {
	var total float64
	for word != "" {
		i, dot, frac := 0, false, 0
		for i < len(word) && (isDigit(word[i]) || word[i] == '.' && !dot) {
			if word[i] == '.' {
				dot = true
			} else if dot {
				frac++
			}
			i++
		}
		whole := i
		if dot {
			whole = strings.IndexByte(word, '.')
		}
		if i == 0 || whole == 0 || whole > 6 || frac > 6 || dot && frac == 0 || i == len(word) {
			return 0, false
		}
		v, err := strconv.ParseFloat(word[:i], 64)
		if err != nil {
			return 0, false
		}
		var unit float64
		switch word[i] {
		case 'w', 'W':
			unit = secondsPerWeek
		case 'd', 'D':
			unit = secondsPerDay
		case 'h', 'H':
			unit = secondsPerHour
		case 'm', 'M':
			unit = secondsPerMinute
		default:
			return 0, false
		}
		total += v * unit
		word = word[i+1:]
	}
	return total, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
