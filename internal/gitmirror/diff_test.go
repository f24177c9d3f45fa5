package gitmirror

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/gitmirror/gittest"
)

// diffRepo is a working repository whose .git directory serves as a mirror.
type diffRepo struct {
	t   *testing.T
	dir string
}

func (r diffRepo) write(name, content string) {
	r.t.Helper()
	p := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r diffRepo) git(args ...string) string {
	r.t.Helper()
	return strings.TrimSpace(gittest.Git(r.t, r.dir, args...))
}

func (r diffRepo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("-c", "user.name=Ada", "-c", "user.email=ada@example.com", "commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func newDiffRepo(t *testing.T) (diffRepo, *Mirror) {
	dir := t.TempDir()
	r := diffRepo{t, dir}
	r.git("init", "-q", "-b", "main", ".")
	return r, findGit(t).Mirror(filepath.Join(dir, ".git"))
}

func lines(from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	return b.String()
}

func TestDiff(t *testing.T) {
	r, m := newDiffRepo(t)
	r.write("moved.txt", lines(1, 40))
	r.write("gone.bin", "a\x00b\x00binary")
	r.write("edit.txt", "one\ntwo\nthree\n")
	r.write("weird\nname.txt", "odd\n")
	root := r.commit("PROJ-1 root")
	r.git("rm", "-q", "moved.txt")
	r.write("dir/renamed.txt", lines(1, 41))
	r.git("rm", "-q", "gone.bin")
	r.write("edit.txt", "one\n2\nthree\n")
	r.write("new.txt", "fresh\n")
	r.write("weird\nname.txt", "odder\n")
	second := r.commit("PROJ-1 second\n\nbody")

	ctx := context.Background()
	d, err := m.Diff(ctx, second, DefaultDiffLimits)
	if err != nil {
		t.Fatal(err)
	}
	if d.SHA != second || d.Message != "PROJ-1 second\n\nbody\n" || d.AuthorEmail != "ada@example.com" || d.Truncated {
		t.Errorf("commit = %s %q %s truncated %v", d.SHA, d.Message, d.AuthorEmail, d.Truncated)
	}
	want := map[string]FileChange{
		"dir/renamed.txt": {Path: "dir/renamed.txt", OldPath: "moved.txt", Status: "renamed", Additions: 1, Patch: "@@ -38,3 +38,4 @@ line 37\n line 38\n line 39\n line 40\n+line 41\n"},
		"gone.bin":        {Path: "gone.bin", OldPath: "gone.bin", Status: "deleted", Binary: true},
		"edit.txt":        {Path: "edit.txt", OldPath: "edit.txt", Status: "modified", Additions: 1, Deletions: 1, Patch: "@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n"},
		"new.txt":         {Path: "new.txt", Status: "added", Additions: 1, Patch: "@@ -0,0 +1 @@\n+fresh\n"},
		"weird\nname.txt": {Path: "weird\nname.txt", OldPath: "weird\nname.txt", Status: "modified", Additions: 1, Deletions: 1, Patch: "@@ -1 +1 @@\n-odd\n+odder\n"},
	}
	if len(d.Files) != len(want) {
		t.Fatalf("files = %+v", d.Files)
	}
	for _, f := range d.Files {
		if w, ok := want[f.Path]; !ok || f != w {
			t.Errorf("file %q = %+v\nwant %+v", f.Path, f, w)
		}
	}

	d, err = m.Diff(ctx, root, DefaultDiffLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Files) != 4 {
		t.Fatalf("root files = %+v", d.Files)
	}
	for _, f := range d.Files {
		if f.Status != "added" || f.OldPath != "" || f.Deletions != 0 {
			t.Errorf("root file = %+v", f)
		}
		if f.Path == "gone.bin" && (!f.Binary || f.Patch != "") {
			t.Errorf("binary file dumped: %+v", f)
		}
		if f.Path == "moved.txt" && (f.Additions != 40 || !strings.HasPrefix(f.Patch, "@@ -0,0 +1,40 @@\n+line 1\n")) {
			t.Errorf("added file = %+v", f)
		}
	}
}

func TestDiffMergeAgainstFirstParent(t *testing.T) {
	r, m := newDiffRepo(t)
	r.write("a.txt", "a\n")
	r.commit("root")
	r.git("checkout", "-q", "-b", "side")
	r.write("side.txt", "side\n")
	r.commit("side")
	r.git("checkout", "-q", "main")
	r.write("main.txt", "main\n")
	r.commit("main")
	r.git("-c", "user.name=Ada", "-c", "user.email=ada@example.com", "merge", "-q", "--no-ff", "-m", "PROJ-2 merge", "side")
	merge := r.git("rev-parse", "HEAD")
	d, err := m.Diff(context.Background(), merge, DefaultDiffLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Files) != 1 || d.Files[0].Path != "side.txt" || d.Files[0].Status != "added" || len(d.Parents) != 2 {
		t.Errorf("merge files = %+v", d.Files)
	}
}

func TestDiffLimits(t *testing.T) {
	r, m := newDiffRepo(t)
	r.commit("empty root")
	r.write("a-big.txt", lines(1, 2000))                     // ~20 kB
	r.write("b-small.txt", "small\n")                        // fits
	r.write("c-long.txt", strings.Repeat("x", 100<<10)+"\n") // one line past the file bound
	r.write("d-big.txt", lines(1, 2000))
	r.write("e-small.txt", "small\n")
	sha := r.commit("PROJ-3 big")

	tests := []struct {
		name      string
		lim       DiffLimits
		files     int
		truncated map[string]bool
	}{
		{"defaults", DefaultDiffLimits, 5, map[string]bool{"c-long.txt": true}},
		{"per file", DiffLimits{MaxFiles: 10, MaxFileBytes: 1000, MaxTotalBytes: 1 << 20}, 5,
			map[string]bool{"a-big.txt": true, "c-long.txt": true, "d-big.txt": true}},
		{"total", DiffLimits{MaxFiles: 10, MaxFileBytes: 64 << 10, MaxTotalBytes: 30000}, 5,
			map[string]bool{"c-long.txt": true, "d-big.txt": true, "e-small.txt": true}},
		{"files", DiffLimits{MaxFiles: 2, MaxFileBytes: 64 << 10, MaxTotalBytes: 1 << 20}, 2, map[string]bool{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := m.Diff(context.Background(), sha, tt.lim)
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Files) != tt.files {
				t.Fatalf("%d files, want %d", len(d.Files), tt.files)
			}
			anyCut := tt.name != "defaults" || len(tt.truncated) > 0
			if d.Truncated != anyCut {
				t.Errorf("Truncated = %v", d.Truncated)
			}
			total := 0
			for _, f := range d.Files {
				total += len(f.Patch)
				if f.Truncated != tt.truncated[f.Path] {
					t.Errorf("%s truncated = %v (patch %d bytes)", f.Path, f.Truncated, len(f.Patch))
				}
				if len(f.Patch) > tt.lim.MaxFileBytes {
					t.Errorf("%s patch of %d bytes", f.Path, len(f.Patch))
				}
				if !f.Truncated && f.Additions > 0 && !strings.HasPrefix(f.Patch, "@@ ") {
					t.Errorf("%s patch %.40q", f.Path, f.Patch)
				}
				if f.Path == "a-big.txt" && f.Additions != 2000 {
					t.Errorf("a-big.txt additions = %d", f.Additions)
				}
			}
			if total > tt.lim.MaxTotalBytes {
				t.Errorf("%d patch bytes in all", total)
			}
		})
	}
}

func TestDiffRefusals(t *testing.T) {
	r, m := newDiffRepo(t)
	r.write("a.txt", "a\n")
	sha := r.commit("root")
	r.git("-c", "user.name=Ada", "-c", "user.email=ada@example.com", "tag", "-a", "-m", "tag", "v1")
	tag := r.git("rev-parse", "v1")
	tree := r.git("rev-parse", "HEAD^{tree}")
	tests := []struct {
		sha  string
		code fb.Code
	}{
		{sha[:12], fb.EInvalid},
		{strings.ToUpper(sha), fb.EInvalid},
		{"HEAD", fb.EInvalid},
		{"--output=/tmp/x" + sha[:25], fb.EInvalid},
		{sha + "\n", fb.EInvalid},
		{strings.Repeat("0", 40), fb.ENotFound},
		{tag, fb.ENotFound},
		{tree, fb.ENotFound},
	}
	for _, tt := range tests {
		if _, err := m.Diff(context.Background(), tt.sha, DefaultDiffLimits); fb.ErrorCode(err) != tt.code {
			t.Errorf("Diff(%q) = %v, want %s", tt.sha, err, tt.code)
		}
	}
}

func FuzzReadChanges(f *testing.F) {
	f.Add([]byte(":100644 100644 a b R097\x00old\x00new\x001\t0\t\x00old\x00new\x00"))
	f.Add([]byte(":000000 100644 a b A\x00x\x00-\t-\tx\x00"))
	f.Add([]byte(":1 2 3 4\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		files, _, err := readChanges(strings.NewReader(string(b)), 10)
		if err == nil && len(files) > 10 {
			t.Fatalf("%d files past the bound", len(files))
		}
	})
}

// BenchmarkDiff reads a typical commit (20 files of 200 lines changed) and a
// huge one (2,000 new files of 500 lines: 17 MB of patch; 1,000 files listed, patches cut at 1 MiB).
func BenchmarkDiff(b *testing.B) {
	for _, bc := range []struct {
		name         string
		files, lines int
	}{{"typical", 20, 200}, {"huge", 2000, 500}} {
		b.Run(bc.name, func(b *testing.B) {
			dir := b.TempDir()
			gittest.Git(b, dir, "init", "-q", "-b", "main", ".")
			for i := range bc.files {
				content := strings.Repeat(fmt.Sprintf("line of file %d\n", i), bc.lines)
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d.txt", i)), []byte(content), 0o644); err != nil {
					b.Fatal(err)
				}
			}
			gittest.Git(b, dir, "add", "-A")
			gittest.Git(b, dir, "-c", "user.name=A", "-c", "user.email=a@x", "commit", "-q", "-m", "PROJ-1 big")
			sha := strings.TrimSpace(gittest.Git(b, dir, "rev-parse", "HEAD"))
			g, err := Find(context.Background())
			if err != nil {
				b.Fatal(err)
			}
			m := g.Mirror(filepath.Join(dir, ".git"))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				d, err := m.Diff(context.Background(), sha, DefaultDiffLimits)
				if err != nil || len(d.Files) != min(bc.files, DefaultDiffLimits.MaxFiles) {
					b.Fatalf("%d files, %v", len(d.Files), err)
				}
			}
		})
	}
}

// FuzzReadPatches: whatever diff-tree -p says, the bounds hold.
func FuzzReadPatches(f *testing.F) {
	f.Add([]byte("diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\ndiff --git a/y b/y\n@@ -0,0 +1 @@\n+c\n"))
	f.Add([]byte("@@ before any file\n+x\n"))
	f.Add([]byte("diff --git a/x b/x\n@@ -1 +1 @@\n+" + strings.Repeat("y", 300) + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := DiffLimits{MaxFiles: 3, MaxFileBytes: 100, MaxTotalBytes: 150}
		files := []FileChange{{Additions: 1}, {Additions: 1}, {Binary: true}}
		_, err := readPatches(strings.NewReader(string(b)), files, lim)
		if err != nil && err != errEnough {
			t.Fatal(err)
		}
		total := 0
		for _, f := range files {
			if len(f.Patch) > lim.MaxFileBytes {
				t.Fatalf("a patch of %d bytes", len(f.Patch))
			}
			total += len(f.Patch)
		}
		if total > lim.MaxTotalBytes {
			t.Fatalf("%d patch bytes in all", total)
		}
	})
}
