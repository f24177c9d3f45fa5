package gitmirror

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/forgebridge/forgebridge/internal/gitmirror/gittest"
	"github.com/forgebridge/forgebridge/internal/issuekey"
)

func TestReadCommits(t *testing.T) {
	const sha1, sha2 = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	small := "tree x\nauthor A <a@x> 1 +0000\ncommitter A <a@x> 1 +0000\n\nPROJ-1 small\n"
	header := "tree x\nauthor B <b@x> 2 +0000\ncommitter B <b@x> 2 +0000\n\n"
	huge := header + "PROJ-2 " + strings.Repeat("y", maxObject) // past the bound
	var stream bytes.Buffer
	for _, o := range []struct{ sha, raw string }{{sha1, small}, {sha2, huge}, {sha1, small}} {
		fmt.Fprintf(&stream, "%s commit %d\n%s\n", o.sha, len(o.raw), o.raw)
	}
	var got []Commit
	fnErr, err := readCommits(&stream, func(c Commit) error { got = append(got, c); return nil })
	if fnErr != nil || err != nil {
		t.Fatalf("readCommits: %v, %v", fnErr, err)
	}
	if len(got) != 3 || got[0].Message != "PROJ-1 small\n" || got[2].SHA != sha1 {
		t.Fatalf("commits around the huge one: %d, %+v", len(got), got[0])
	}
	if m := got[1].Message; got[1].SHA != sha2 || len(m) != maxObject-len(header) || !strings.HasPrefix(m, "PROJ-2 yyy") || got[1].AuthorName != "B" {
		t.Errorf("huge commit: sha %s, author %q, message of %d bytes", got[1].SHA, got[1].AuthorName, len(m))
	}

	for _, bad := range []string{sha1 + " missing\n", sha1 + " commit 10\nshort", sha1 + " blob x\n"} {
		if _, err := readCommits(strings.NewReader(bad), func(Commit) error { return nil }); err == nil {
			t.Errorf("readCommits(%q) did not fail", bad)
		}
	}
}

func TestParseCommit(t *testing.T) {
	tests := []struct {
		name, raw string
		want      Commit
	}{
		{"plain", "tree t\nparent p\nauthor Ada Lovelace <ada@example.com> 1700000000 +0100\ncommitter C <c@x> 1 +0000\n\nPROJ-1 subject\n\nbody\n",
			Commit{AuthorName: "Ada Lovelace", AuthorEmail: "ada@example.com", AuthoredAt: time.Unix(1700000000, 0).In(time.FixedZone("+0100", 3600)), Message: "PROJ-1 subject\n\nbody\n", Parents: []string{"p"}}},
		{"merge", "tree t\nparent p1\nparent p2\nauthor A <a@x> 5 +0000\ncommitter C <c@x> 1 +0000\n\nMerge\n",
			Commit{AuthorName: "A", AuthorEmail: "a@x", AuthoredAt: time.Unix(5, 0).In(time.FixedZone("+0000", 0)), Message: "Merge\n", Parents: []string{"p1", "p2"}}},
		{"signed", "tree t\nauthor A <a@x> 5 -0500\ncommitter C <c@x> 1 +0000\ngpgsig -----BEGIN PGP SIGNATURE-----\n \n iQEz\n -----END PGP SIGNATURE-----\n\nmsg\n",
			Commit{AuthorName: "A", AuthorEmail: "a@x", AuthoredAt: time.Unix(5, 0).In(time.FixedZone("-0500", -5*3600)), Message: "msg\n"}},
		{"no message", "tree t\nauthor A <a@x> 5 +0000\ncommitter C <c@x> 1 +0000\n",
			Commit{AuthorName: "A", AuthorEmail: "a@x", AuthoredAt: time.Unix(5, 0).In(time.FixedZone("+0000", 0))}},
		{"broken ident", "tree t\nauthor nobody\n\nmsg", Commit{AuthorName: "nobody", Message: "msg"}},
		{"odd ident", "tree t\nauthor A <a@x> <b@y> notanumber\n\nm", Commit{AuthorName: "A", AuthorEmail: "a@x", Message: "m"}},
		{"bad zone", "tree t\nauthor A <a@x> 7 +01\n\nm", Commit{AuthorName: "A", AuthorEmail: "a@x", AuthoredAt: time.Unix(7, 0).UTC(), Message: "m"}},
		{"shift_jis", "tree t\nauthor \x93\xfa\x96\x7b <j@x> 1 +0900\nencoding Shift_JIS\n\n\x93\xfa\x96\x7b PROJ-5\n",
			Commit{AuthorName: "日本", AuthorEmail: "j@x", AuthoredAt: time.Unix(1, 0).In(time.FixedZone("+0900", 9*3600)), Message: "日本 PROJ-5\n"}},
		{"unknown encoding", "tree t\nauthor A <a@x> 1 +0000\nencoding x-nothing\n\nok \xff\n",
			Commit{AuthorName: "A", AuthorEmail: "a@x", AuthoredAt: time.Unix(1, 0).In(time.FixedZone("+0000", 0)), Message: "ok \uFFFD\n"}},
		{"NUL in the author", "tree t\nauthor A\x00B <a@x> 1 +0000\n\nm\x00",
			Commit{AuthorName: "AB", AuthorEmail: "a@x", AuthoredAt: time.Unix(1, 0).In(time.FixedZone("+0000", 0)), Message: "m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseCommit("s", []byte(tt.raw))
			tt.want.SHA = "s"
			if !got.AuthoredAt.Equal(tt.want.AuthoredAt) || got.AuthoredAt.Location().String() != tt.want.AuthoredAt.Location().String() {
				t.Errorf("AuthoredAt = %v, want %v", got.AuthoredAt, tt.want.AuthoredAt)
			}
			got.AuthoredAt, tt.want.AuthoredAt = time.Time{}, time.Time{}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseCommit = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestSynthHistory fetches a synthetic history and finds its keys as the
// indexer will: every commit once, every key of gittest.Keys, no look-alike.
func TestSynthHistory(t *testing.T) {
	t.Parallel()
	h := newHost(t)
	const n = 2600
	gittest.Synth(t, filepath.Join(h.root, "synth.git"), n)
	m := findGit(t).Mirror(filepath.Join(t.TempDir(), "m"))
	if err := m.Fetch(context.Background(), h.remote("synth")); err != nil {
		t.Fatal(err)
	}
	refs := refs(t, m)
	wantRefs := 1 + gittest.Branches(n) + n/gittest.TagEvery
	if len(refs) != wantRefs || refs["refs/tags/"+gittest.TagName(2000)] == "" || refs["refs/heads/"+gittest.BranchName(2250)] == "" {
		t.Fatalf("Refs = %d refs, want %d: %v", len(refs), wantRefs, refs)
	}
	var include []string
	for _, sha := range refs {
		include = append(include, sha)
	}
	match := issuekey.NewMatcher([]string{"PROJ", "OPS"})
	got := map[string]bool{}
	count := 0
	err := m.Log(context.Background(), include, nil, func(c Commit) error {
		count++
		for _, k := range match.Message(c.Message) {
			got[k] = true
		}
		if c.AuthorName == "Zoë Ångström" && c.AuthoredAt.IsZero() {
			t.Errorf("commit %s: no date", c.SHA)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for i := 1; i <= n; i++ {
		for _, k := range gittest.Keys(i) {
			want[k] = true
		}
	}
	if count != n || !reflect.DeepEqual(got, want) {
		t.Errorf("Log listed %d commits (want %d) and %d keys (want %d)", count, n, len(got), len(want))
	}
}

func FuzzParseCommit(f *testing.F) {
	for _, s := range []string{
		"tree t\nauthor Ada <ada@example.com> 1700000000 +0100\ncommitter C <c@x> 1 +0000\n\nPROJ-1 subject\n",
		"tree t\nauthor A <a@x> 5 -0500\ngpgsig -----BEGIN-----\n \n x\n\nmsg\x00 \xff\n",
		"tree t\nauthor \x93\xfa <j@x> 1 +0900\nencoding Shift_JIS\n\n\x93\xfa\n",
		"author <<>> > 99999999999999999999 +9999\n\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		c := parseCommit("s", raw)
		for _, s := range []string{c.Message, c.AuthorName, c.AuthorEmail} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
				t.Fatalf("parseCommit(%q) gave %q: not UTF-8 or with NUL", raw, s)
			}
		}
		// A message that needs no repair comes back as stored.
		header, msg, found := bytes.Cut(raw, []byte("\n\n"))
		if found && !bytes.Contains(header, []byte("\nencoding ")) && !bytes.HasPrefix(header, []byte("encoding ")) &&
			utf8.Valid(msg) && bytes.IndexByte(msg, 0) < 0 && c.Message != string(msg) {
			t.Fatalf("parseCommit(%q).Message = %q, want %q", raw, c.Message, msg)
		}
	})
}
