// Package branchname makes the branch name suggested for an issue from the
// admin's template, and checks branch names against git's rules for a branch
// before any provider sees them.
package branchname

import (
	"strings"
	"unicode/utf8"

	fb "github.com/forgebridge/forgebridge"
)

// variable is a ${…} placeholder of a template; varNone marks literal text.
type variable int

const (
	varNone variable = iota
	varIssueKey
	varSummary
	varIssueType
	varTypeMap // ${issuetype:Type=value,…}
)

var variableNames = map[string]variable{
	"issuekey":  varIssueKey,
	"summary":   varSummary,
	"issuetype": varIssueType,
}

const (
	knownVariables = "${issuekey}, ${summary}, ${issuetype} and ${issuetype:Type=value,…,*=value}"
	mappingExample = "${issuetype:Bug=bugfix,Story=feature,*=task}"
	// mappingPrefix starts the name of a ${issuetype:…} variable.
	mappingPrefix = "issuetype:"
	// reservedHint explains why a name or value cannot hold these characters:
	// they delimit the mapping.
	reservedHint = `issue type names and values cannot contain ",", "=" or "}"`
)

// part is one piece of a parsed template: literal text or a variable.
type part struct {
	v       variable
	lit     string
	mapping *typeMap // for varTypeMap
}

// typeMap is a parsed ${issuetype:…} mapping.
type typeMap struct {
	pairs    []typePair
	fallback string // value of "*=", "" when there is none
}

// typePair maps the issue type named typ to value, a slug.
type typePair struct {
	typ, value string
}

// lookup returns the value the mapping gives an issue of type typ: the value
// of the pair naming typ ignoring case, else the fallback (also for an issue
// whose type is unknown), else "".
func (m *typeMap) lookup(typ string) string {
	typ = strings.TrimSpace(typ)
	for _, p := range m.pairs {
		if strings.EqualFold(p.typ, typ) {
			return p.value
		}
	}
	return m.fallback
}

// Suggest expands template for issue and cuts the result to maxLen bytes
// (forgebridge.DefaultBranchNameMaxLength when maxLen <= 0).
//
// ${issuekey} is the key upper case; ${summary} and ${issuetype} are slugs:
// lower case, every run of characters other than a-z and 0-9 made one "-",
// no "-" at either end. ${issuetype:Bug=bugfix,Story=feature,*=task} is the
// value of the pair whose type matches the issue's type name ignoring case,
// else the value of "*", else empty. The cut falls at the last "-" or "/"
// within the limit that comes after the issue key, mid-word only when there
// is none, and separators left dangling at the end, or next to a variable
// that came out empty, are dropped. The key always stays whole: when it
// cannot fit, or the result is not a valid branch name, Suggest returns an
// EInvalid error. A bad template gives the same error as ValidateTemplate.
func Suggest(template string, maxLen int, issue fb.Issue) (string, error) {
	if maxLen <= 0 {
		maxLen = fb.DefaultBranchNameMaxLength
	}
	parts, err := parseTemplate(template)
	if err != nil {
		return "", err
	}
	key := strings.ToUpper(issue.Key)
	if key == "" {
		return "", fb.Errorf(fb.EInvalid, "cannot suggest a branch name: the issue has no key")
	}
	name, keyEnd := render(parts, key, slug(issue.Summary), issue.Type)
	if len(name) > maxLen {
		if keyEnd > maxLen {
			return "", fb.Errorf(fb.EInvalid,
				"cannot suggest a branch name for %s: the issue key ends at byte %d of the name but the maximum length is %d; raise the maximum length or put ${issuekey} earlier in the template",
				quote(key), keyEnd, maxLen)
		}
		name = trimGlue(name[:cutPoint(name, keyEnd, maxLen)], keyEnd)
	}
	if p := problem(name); p != "" {
		return "", fb.Errorf(fb.EInvalid, "cannot suggest a branch name for %s: branch name %s %s", quote(key), quote(name), p)
	}
	return name, nil
}

// ValidateTemplate checks a branch name template as an admin saves it: it
// must contain ${issuekey}, use only known variables, write every
// ${issuetype:…} mapping as comma-separated Type=value pairs (at most one
// "*=value" fallback, no type twice, each value lower-case a-z and 0-9 words
// joined by single "-"), and make valid branch names whether the optional
// variables come out filled or empty.
func ValidateTemplate(template string) error {
	parts, err := parseTemplate(template)
	if err != nil {
		return err
	}
	// Plain variables only ever expand to [A-Z0-9-]-like text, so sample
	// values expose the problems the literal text can cause. A mapping's
	// values are known: trying every type it names, and a type no pair
	// names (""), checks each value it can give in its real place.
	var types []string
	plainType, mapsType := false, false
	for _, p := range parts {
		switch p.v {
		case varIssueType:
			plainType = true
		case varTypeMap:
			mapsType = true
			for _, tp := range p.mapping.pairs {
				types = append(types, tp.typ)
			}
		}
	}
	if plainType {
		types = append(types, "bug")
	}
	types = append(types, "")
	for _, summary := range []string{"summary", ""} {
		for _, typ := range types {
			name, _ := render(parts, "ABC-1", summary, typ)
			if p := problem(name); p != "" {
				issue := "issue ABC-1"
				switch {
				case typ != "":
					issue += " of type " + quote(typ)
				case mapsType:
					issue += " of a type no pair names"
				case plainType:
					issue += " without a type"
				}
				return fb.Errorf(fb.EInvalid, "branch name template %s makes invalid branch names: for %s it gives %s, which %s",
					quote(template), issue, quote(name), p)
			}
		}
	}
	return nil
}

func parseTemplate(template string) ([]part, error) {
	var parts []part
	hasKey := false
	rest := template
	for rest != "" {
		start := strings.Index(rest, "${")
		if start < 0 {
			parts = append(parts, part{lit: rest})
			break
		}
		if start > 0 {
			parts = append(parts, part{lit: rest[:start]})
		}
		end := strings.IndexByte(rest[start:], '}')
		if end < 0 {
			return nil, fb.Errorf(fb.EInvalid, "branch name template %s has a \"${\" without its closing \"}\"", quote(template))
		}
		name := rest[start+2 : start+end]
		rest = rest[start+end+1:]
		if spec, ok := strings.CutPrefix(name, mappingPrefix); ok {
			m, err := parseMapping(template, spec)
			if err != nil {
				return nil, err
			}
			parts = append(parts, part{v: varTypeMap, mapping: m})
			continue
		}
		v, ok := variableNames[name]
		if !ok {
			return nil, fb.Errorf(fb.EInvalid, "branch name template %s uses the unknown variable %s; the known variables are %s",
				quote(template), quote("${"+name+"}"), knownVariables)
		}
		hasKey = hasKey || v == varIssueKey
		parts = append(parts, part{v: v})
	}
	if !hasKey {
		return nil, fb.Errorf(fb.EInvalid, "branch name template %s must contain ${issuekey}", quote(template))
	}
	return parts, nil
}

// parseMapping parses spec, the text after "${issuetype:", of template.
// Spaces around type names and values are ignored; inside a type name they
// are kept ("New Feature").
func parseMapping(template, spec string) (*typeMap, error) {
	variable := quote("${" + mappingPrefix + spec + "}")
	bad := func(format string, args ...any) error {
		return fb.Errorf(fb.EInvalid, "branch name template %s: the mapping %s "+format,
			append([]any{quote(template), variable}, args...)...)
	}
	if strings.TrimSpace(spec) == "" {
		return nil, bad("maps no issue types; write it as %s", mappingExample)
	}
	m := &typeMap{}
	for pair := range strings.SplitSeq(spec, ",") {
		if strings.TrimSpace(pair) == "" {
			return nil, bad(`has an empty pair (a "," at an end or two in a row); write it as %s`, mappingExample)
		}
		typ, value, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, bad(`has the pair %s without "="; each pair is Type=value, and %s`, quote(pair), reservedHint)
		}
		if strings.Contains(value, "=") {
			return nil, bad(`has the pair %s with more than one "="; %s`, quote(pair), reservedHint)
		}
		typ, value = strings.TrimSpace(typ), strings.TrimSpace(value)
		what := "the issue type " + quote(typ)
		switch {
		case typ == "":
			return nil, bad(`has the pair %s with no issue type before "="`, quote(pair))
		case typ == "*":
			what = `the fallback "*"`
			if m.fallback != "" {
				return nil, bad(`has more than one fallback "*="`)
			}
		default:
			for _, p := range m.pairs {
				if strings.EqualFold(p.typ, typ) {
					return nil, bad("maps %s twice (type names match ignoring case)", what)
				}
			}
		}
		if value == "" {
			return nil, bad(`gives %s an empty value; write a value after "=" or leave the pair out`, what)
		}
		if slug(value) != value {
			return nil, bad(`gives %s the value %s; a value may only hold lower-case letters a-z and digits, in words joined by single "-" (like "bug-fix"); put "/" and other separators in the template around the variable`,
				what, quote(value))
		}
		if typ == "*" {
			m.fallback = value
		} else {
			m.pairs = append(m.pairs, typePair{typ: typ, value: value})
		}
	}
	return m, nil
}

// render expands parts for an issue with key (upper case), summary (a slug)
// and typ (the type name as the tracker gives it). It returns the name with
// the byte offset where the first issue key ends: nothing before that offset
// may be cut or trimmed.
func render(parts []part, key, summary, typ string) (name string, keyEnd int) {
	typeSlug := slug(typ)
	var b strings.Builder
	keyEnd = -1
	// afterEmpty: the last variable expanded to nothing, so the separators
	// the template put around it would dangle.
	afterEmpty := false
	for _, p := range parts {
		var s string
		switch p.v {
		case varNone:
			s = p.lit
			if afterEmpty && (b.Len() == 0 || isGlue(b.String()[b.Len()-1])) {
				s = strings.TrimLeft(s, glue)
			}
		case varIssueKey:
			s = key
		case varSummary:
			s = summary
		case varIssueType:
			s = typeSlug
		case varTypeMap:
			s = p.mapping.lookup(typ)
		}
		if s == "" {
			afterEmpty = afterEmpty || p.v != varNone
			continue
		}
		afterEmpty = false
		b.WriteString(s)
		if p.v == varIssueKey && keyEnd < 0 {
			keyEnd = b.Len()
		}
	}
	name = b.String()
	return trimGlue(name, keyEnd), keyEnd
}

// cutPoint returns where to cut name to at most maxLen bytes: the last "-"
// or "/" at or after keyEnd, else maxLen itself moved back to a rune start.
func cutPoint(name string, keyEnd, maxLen int) int {
	for i := maxLen; i >= keyEnd; i-- {
		if name[i] == '-' || name[i] == '/' {
			return i
		}
	}
	cut := maxLen
	for cut > keyEnd && !utf8.RuneStart(name[cut]) {
		cut--
	}
	return cut
}

// glue is the punctuation that joins the parts of a name; it must not dangle
// at the end of a name or next to a variable that expanded to nothing.
const glue = "-/._"

func isGlue(c byte) bool { return strings.IndexByte(glue, c) >= 0 }

// trimGlue drops trailing glue, never into the issue key.
func trimGlue(name string, keyEnd int) string {
	end := len(name)
	for end > keyEnd && isGlue(name[end-1]) {
		end--
	}
	return name[:end]
}

// slug lower-cases s and turns every run of bytes other than a-z and 0-9
// into one "-", without "-" at either end. Non-ASCII text is dropped rather
// than transliterated: branch names stay plain ASCII.
func slug(s string) string {
	b := make([]byte, 0, len(s))
	pending := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') {
			if pending && len(b) > 0 {
				b = append(b, '-')
			}
			pending = false
			b = append(b, c)
			continue
		}
		pending = true
	}
	return string(b)
}
