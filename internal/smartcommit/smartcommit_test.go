package smartcommit

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/forgebridge/forgebridge/internal/issuekey"
)

var matcher = issuekey.NewMatcher([]string{"PROJ", "OPS", "JRA"})

// cmd is a Command without its ID, which TestParse checks apart.
type cmd struct {
	Keys    []string
	Kind    Kind
	Name    string
	Text    string
	Seconds int64
}

func strip(cs []Command) []cmd {
	var out []cmd
	for _, c := range cs {
		out = append(out, cmd{c.Keys, c.Kind, c.Name, c.Text, c.Seconds})
	}
	return out
}

func TestParse(t *testing.T) {
	p78 := []string{"PROJ-7", "PROJ-8"}
	tests := []struct {
		name, msg string
		want      []cmd
	}{
		{"empty", "", nil},
		{"no command", "PROJ-1 fix the parser", nil},
		{"issue's example", "PROJ-7 PROJ-8 #time 2h Fixed the parser #comment Ready for review #start-progress", []cmd{
			{p78, KindTime, "time", "Fixed the parser", 2 * 3600},
			{p78, KindComment, "comment", "Ready for review", 0},
			{p78, KindTransition, "start-progress", "", 0},
		}},
		{"API.md's example", "PROJ-1 PROJ-2 #time 1w 2d 4h 30m Fixed the parser #comment Ready for review #resolve", []cmd{
			{[]string{"PROJ-1", "PROJ-2"}, KindTime, "time", "Fixed the parser", 5*8*3600 + 2*8*3600 + 4*3600 + 30*60},
			{[]string{"PROJ-1", "PROJ-2"}, KindComment, "comment", "Ready for review", 0},
			{[]string{"PROJ-1", "PROJ-2"}, KindTransition, "resolve", "", 0},
		}},
		{"keys separated by commas", "PROJ-7,PROJ-8 #resolve", []cmd{{p78, KindTransition, "resolve", "", 0}}},
		{"keys separated by comma and space", "PROJ-7, PROJ-8, OPS-1 #resolve", []cmd{{[]string{"PROJ-7", "PROJ-8", "OPS-1"}, KindTransition, "resolve", "", 0}}},
		{"ignored text around the key", "Fixing PROJ-7 in the parser #comment done", []cmd{{[]string{"PROJ-7"}, KindComment, "comment", "done", 0}}},
		{"duplicate key once", "PROJ-7 PROJ-7 #comment x", []cmd{{[]string{"PROJ-7"}, KindComment, "comment", "x", 0}}},
		{"key after the first command is text", "PROJ-7 #comment see PROJ-8", []cmd{{[]string{"PROJ-7"}, KindComment, "comment", "see PROJ-8", 0}}},
		{"transition with a comment", "JRA-90 #close Fixed this today", []cmd{{[]string{"JRA-90"}, KindTransition, "close", "Fixed this today", 0}}},
		{"transition case-insensitive", "PROJ-1 #Start-Progress", []cmd{{[]string{"PROJ-1"}, KindTransition, "start-progress", "", 0}}},
		{"command words case-insensitive", "PROJ-1 #COMMENT hi #Time 1H", []cmd{
			{[]string{"PROJ-1"}, KindComment, "comment", "hi", 0},
			{[]string{"PROJ-1"}, KindTime, "time", "", 3600},
		}},
		{"unicode transition name", "PROJ-1 #Prüfen ok", []cmd{{[]string{"PROJ-1"}, KindTransition, "prüfen", "ok", 0}}},
		{"time units", "PROJ-1 #time 1w", []cmd{{[]string{"PROJ-1"}, KindTime, "time", "", 5 * 8 * 3600}}},
		{"time days", "PROJ-1 #time 2d 5h", []cmd{{[]string{"PROJ-1"}, KindTime, "time", "", 2*8*3600 + 5*3600}}},
		{"time decimal", "PROJ-1 #time 1.5h", []cmd{{[]string{"PROJ-1"}, KindTime, "time", "", 5400}}},
		{"time joined units", "PROJ-1 #time 1h30m lunch", []cmd{{[]string{"PROJ-1"}, KindTime, "time", "lunch", 5400}}},
		{"time any order", "PROJ-1 #time 30m 1h", []cmd{{[]string{"PROJ-1"}, KindTime, "time", "", 5400}}},
		{"time stops at the first word not a duration", "PROJ-1 #time 1h 2 days 3h", []cmd{{[]string{"PROJ-1"}, KindTime, "time", "2 days 3h", 3600}}},
		{"time without a duration", "PROJ-1 #time later", []cmd{{[]string{"PROJ-1"}, KindTime, "time", "later", 0}}},
		{"time with an unknown unit", "PROJ-1 #time 3s", []cmd{{[]string{"PROJ-1"}, KindTime, "time", "3s", 0}}},
		{"time with too many digits", "PROJ-1 #time 9999999h", []cmd{{[]string{"PROJ-1"}, KindTime, "time", "9999999h", 0}}},
		{"time with a bare point", "PROJ-1 #time 1.h", []cmd{{[]string{"PROJ-1"}, KindTime, "time", "1.h", 0}}},
		{"time with tabs", "PROJ-1 #time\t1h\t30m\tx", []cmd{{[]string{"PROJ-1"}, KindTime, "time", "x", 5400}}},
		{"empty comment", "PROJ-1 #comment", []cmd{{[]string{"PROJ-1"}, KindComment, "comment", "", 0}}},
		{"no key on the line", "Fix the parser #comment done", nil},
		{"key on another line does not reach", "PROJ-1 fix\n#comment done", nil},
		{"a carriage return alone ends a line", "PROJ-1 #comment a\rb #resolve", []cmd{{[]string{"PROJ-1"}, KindComment, "comment", "a", 0}}},
		{"commands never span lines", "PROJ-1 #comment first part\nsecond part", []cmd{{[]string{"PROJ-1"}, KindComment, "comment", "first part", 0}}},
		{"each line its own keys", "PROJ-1 #comment a\r\nOPS-2 #resolve b\n", []cmd{
			{[]string{"PROJ-1"}, KindComment, "comment", "a", 0},
			{[]string{"OPS-2"}, KindTransition, "resolve", "b", 0},
		}},
		{"hash not after a space", "PROJ-1 C# and a#b #comment x", []cmd{{[]string{"PROJ-1"}, KindComment, "comment", "x", 0}}},
		{"hash then a digit is not a command", "PROJ-1 fixes #12 #comment see #34", []cmd{{[]string{"PROJ-1"}, KindComment, "comment", "see #34", 0}}},
		{"name followed by punctuation is not a command", "PROJ-1 #done. #comment x", []cmd{{[]string{"PROJ-1"}, KindComment, "comment", "x", 0}}},
		{"a command at the start of a line has no key", "#comment x", nil},
		{"lower-case key is not a key", "proj-1 #comment x", nil},
		{"unknown project", "ABC-1 #comment x", nil},
		{"underscore in a name", "PROJ-1 #to_qa", []cmd{{[]string{"PROJ-1"}, KindTransition, "to_qa", "", 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strip(Parse(matcher, tt.msg))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse(%q)\n got  %+v\n want %+v", tt.msg, got, tt.want)
			}
		})
	}
}

func TestParseIDs(t *testing.T) {
	msg := "PROJ-1 #comment same\nPROJ-1 #comment same #comment other\nOPS-1 #comment same"
	got := Parse(matcher, msg)
	if len(got) != 4 {
		t.Fatalf("got %d commands, want 4", len(got))
	}
	ids := map[string]bool{}
	for _, c := range got {
		if ids[c.ID] {
			t.Errorf("ID %q twice", c.ID)
		}
		ids[c.ID] = true
	}
	// Identical commands differ only by their occurrence.
	a, b := got[0].ID, got[1].ID
	if a[:strings.IndexByte(a, '.')] != b[:strings.IndexByte(b, '.')] || !strings.HasSuffix(a, ".1") || !strings.HasSuffix(b, ".2") {
		t.Errorf("identical commands: IDs %q and %q", a, b)
	}
	// The same message read again gives the same IDs.
	if again := Parse(matcher, msg); !reflect.DeepEqual(again, got) {
		t.Errorf("second Parse differs: %+v", again)
	}
	// A command's ID does not depend on commands before it that differ.
	first := Parse(matcher, "PROJ-1 #resolve")[0].ID
	later := Parse(matcher, "PROJ-1 #comment x #resolve")[1].ID
	if first != later {
		t.Errorf("#resolve's ID %q after another command, %q alone", later, first)
	}
}

func BenchmarkParseNoCommand(b *testing.B) {
	msg := "PROJ-123 Fix the parser when the input is empty\n\nLonger explanation of the change."
	for b.Loop() {
		Parse(matcher, msg)
	}
}

func BenchmarkParseCommands(b *testing.B) {
	msg := "PROJ-7 PROJ-8 #time 2h Fixed the parser #comment Ready for review #start-progress"
	for b.Loop() {
		Parse(matcher, msg)
	}
}

// FuzzParse: whatever the message, Parse returns commands that act on keys
// written before them on their line, names that are lower case, texts on
// one line, non-negative durations and IDs unique within the message, the
// same each time.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"PROJ-7 PROJ-8 #time 2h Fixed the parser #comment Ready for review #start-progress",
		"PROJ-1, OPS-2 #time 1w 2d 4h 30m x\nPROJ-3 #resolve",
		"PROJ-1 #time 1.5h30m #Prüfen",
		"#comment x", "PROJ-1 C# #12", "PROJ-1 #time 999999.999999w",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		got := Parse(matcher, msg)
		ids := map[string]bool{}
		for _, c := range got {
			if len(c.Keys) == 0 {
				t.Fatalf("command without keys: %+v", c)
			}
			for _, k := range c.Keys {
				if !strings.Contains(msg, k) {
					t.Fatalf("key %q not in the message", k)
				}
			}
			if c.Name == "" || c.Name != strings.ToLower(c.Name) || !utf8.ValidString(c.Name) {
				t.Fatalf("name %q", c.Name)
			}
			if strings.ContainsAny(c.Text, "\r\n") || c.Text != strings.TrimSpace(c.Text) {
				t.Fatalf("text %q", c.Text)
			}
			if c.Seconds < 0 || c.Kind != KindTime && c.Seconds != 0 {
				t.Fatalf("seconds %d of %s", c.Seconds, c.Kind)
			}
			switch c.Kind {
			case KindComment, KindTime:
				if c.Name != string(c.Kind) {
					t.Fatalf("%s named %q", c.Kind, c.Name)
				}
			case KindTransition:
			default:
				t.Fatalf("kind %q", c.Kind)
			}
			if ids[c.ID] {
				t.Fatalf("ID %q twice", c.ID)
			}
			ids[c.ID] = true
		}
		if again := Parse(matcher, msg); !reflect.DeepEqual(again, got) {
			t.Fatalf("second Parse differs")
		}
	})
}
