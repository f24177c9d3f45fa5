package gitmirror

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	fb "github.com/forgebridge/forgebridge"
)

// FileChange is one file a commit changed, as Diff reads it.
type FileChange struct {
	Path    string // the path after the commit (before it, for a deleted file)
	OldPath string // the path before the commit; empty for an added file
	// Status is "added", "modified", "deleted" or "renamed".
	Status               string
	Additions, Deletions int
	Binary               bool   // named, never dumped: Patch stays empty
	Patch                string // the hunks ("@@ …" onwards), as valid UTF-8
	// Truncated says the patch was cut at a bound (or not read at all).
	Truncated bool
}

// CommitDiff is a commit with the files it changed against its first parent
// (everything, for a root commit).
type CommitDiff struct {
	Commit
	Files []FileChange
	// Truncated says something was left out: files past MaxFiles, or patch
	// text past a bound.
	Truncated bool
}

// DiffLimits bound what Diff reads; git is stopped at the bound, so memory
// stays flat however large the commit.
type DiffLimits struct {
	MaxFiles      int // files listed
	MaxFileBytes  int // patch bytes kept per file
	MaxTotalBytes int // patch bytes kept in all
}

// DefaultDiffLimits are generous for reading and small for memory.
var DefaultDiffLimits = DiffLimits{MaxFiles: 1000, MaxFileBytes: 64 << 10, MaxTotalBytes: 1 << 20}

// Diff reads a commit and the files it changed, with rename detection. sha
// must be a full object name; a commit the mirror does not hold is
// fb.ENotFound.
func (m *Mirror) Diff(ctx context.Context, sha string, lim DiffLimits) (CommitDiff, error) {
	if !isSHA(sha) {
		return CommitDiff{}, fb.Errorf(fb.EInvalid, "%q is not a full commit id (40 or 64 lower-case hexadecimal digits).", sha)
	}
	shas, err := m.resolveCommits(ctx, []string{sha})
	if err != nil {
		return CommitDiff{}, err
	}
	// sha^{commit} also peels a tag: only a commit's own name is one.
	if shas[0] != sha {
		return CommitDiff{}, fb.Errorf(fb.ENotFound, "The commit %s is not in the repository's mirror.", sha)
	}
	var d CommitDiff
	if err := m.stream(ctx, strings.NewReader(sha+"\n"), []string{"cat-file", "--batch"}, func(r io.Reader) error {
		fnErr, err := readCommits(r, func(c Commit) error { d.Commit = c; return nil })
		return errors.Join(fnErr, err)
	}); err != nil {
		return CommitDiff{}, err
	}
	// Both listings compare the same trees with the same options, so git
	// lists the same file pairs in the same order in each.
	trees := []string{"--root", sha}
	if len(d.Parents) > 0 {
		trees = []string{d.Parents[0], sha}
	}
	opts := []string{"diff-tree", "-r", "-M", "--no-commit-id", "--no-ext-diff", "--no-textconv", "--no-color"}
	if err := m.stream(ctx, nil, append(append(opts, "--raw", "--numstat", "-z"), trees...), func(r io.Reader) error {
		var err error
		d.Files, d.Truncated, err = readChanges(r, lim.MaxFiles)
		return err
	}); err != nil {
		return CommitDiff{}, err
	}
	if err := m.stream(ctx, nil, append(append(opts, "-p"), trees...), func(r io.Reader) error {
		cut, err := readPatches(r, d.Files, lim)
		d.Truncated = d.Truncated || cut
		return err
	}); err != nil {
		return CommitDiff{}, err
	}
	return d, nil
}

// errEnough stops a stream whose reader has read all it wants.
var errEnough = errors.New("enough")

// stream runs a local git command and hands its standard output to read.
// When read returns errEnough, git is stopped and the run is a success.
func (m *Mirror) stream(ctx context.Context, stdin io.Reader, args []string, read func(io.Reader) error) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := command(runCtx, m.git, localEnv(), append([]string{"--git-dir=" + m.Dir}, args...)...)
	cmd.Stdin = stdin
	stderr := &tail{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return localError(ctx, args[0], err, "")
	}
	readErr := read(out)
	if readErr != nil {
		cancel()
	}
	io.Copy(io.Discard, out)
	waitErr := cmd.Wait()
	switch {
	case readErr == errEnough:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("gitmirror: git %s: %w", args[0], ctx.Err())
	case readErr != nil:
		return fmt.Errorf("%w (git %s: %s)", readErr, args[0], lastLines(stderr.String(), 2))
	case waitErr != nil:
		return localError(ctx, args[0], waitErr, stderr.String())
	}
	return nil
}

// readChanges reads `diff-tree --raw --numstat -z`: every raw entry
// (":modes ids STATUS\0path\0", or "…R097\0old\0new\0"), then a numstat
// entry for each in the same order ("adds\tdels\tpath\0", or
// "adds\tdels\t\0old\0new\0"; "-\t-" for a binary file). It keeps the
// first max files; cut says there were more.
func readChanges(r io.Reader, max int) (files []FileChange, cut bool, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	field := func() (string, error) {
		b, err := br.ReadBytes(0)
		if err != nil {
			if err == io.EOF && len(b) == 0 {
				return "", io.EOF
			}
			return "", fmt.Errorf("gitmirror: reading diff-tree output: %w", io.ErrUnexpectedEOF)
		}
		return string(b[:len(b)-1]), nil
	}
	var nums int // numstat entries read
	for {
		f, err := field()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, false, err
		}
		if rest, ok := strings.CutPrefix(f, ":"); ok {
			parts := strings.Fields(rest)
			if len(parts) != 5 || parts[4] == "" {
				return nil, false, fmt.Errorf("gitmirror: diff-tree answered %q", f)
			}
			c := FileChange{}
			p, err := field()
			if err != nil {
				return nil, false, err
			}
			switch parts[4][0] {
			case 'A':
				c.Status, c.Path = "added", p
			case 'D':
				c.Status, c.Path, c.OldPath = "deleted", p, p
			case 'R', 'C':
				c.Status, c.OldPath = "renamed", p
				if c.Path, err = field(); err != nil {
					return nil, false, err
				}
				if parts[4][0] == 'C' {
					c.Status, c.OldPath = "added", ""
				}
			default: // M, T (type change), U, X
				c.Status, c.Path, c.OldPath = "modified", p, p
			}
			c.Path, c.OldPath = text([]byte(c.Path), nil), text([]byte(c.OldPath), nil)
			if len(files) >= max {
				cut = true
				continue
			}
			files = append(files, c)
			continue
		}
		// A numstat entry: "adds\tdels\tpath" or "adds\tdels\t" + two fields.
		adds, rest, ok1 := strings.Cut(f, "\t")
		dels, path, ok2 := strings.Cut(rest, "\t")
		if !ok1 || !ok2 {
			return nil, false, fmt.Errorf("gitmirror: diff-tree answered %q", f)
		}
		if path == "" {
			if _, err := field(); err != nil {
				return nil, false, err
			}
			if _, err := field(); err != nil {
				return nil, false, err
			}
		}
		if nums < len(files) {
			c := &files[nums]
			if adds == "-" && dels == "-" {
				c.Binary = true
			} else {
				c.Additions, _ = strconv.Atoi(adds)
				c.Deletions, _ = strconv.Atoi(dels)
			}
		}
		nums++
	}
	return files, cut, nil
}

// readPatches reads `diff-tree -p` and gives each file its hunks, in order:
// each file's part starts with a "diff --git " line (a line of a hunk
// always starts with ' ', '+', '-', '\' or "@@", and git quotes a path
// holding a newline), and its hunks with the first "@@". It keeps at most
// lim.MaxFileBytes of each file and lim.MaxTotalBytes in all, then stops
// git; cut says something was left out.
func readPatches(r io.Reader, files []FileChange, lim DiffLimits) (cut bool, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	i := -1
	inHunks := false
	total := 0
	var patch []byte
	flush := func() {
		if i >= 0 && i < len(files) {
			files[i].Patch = string(patch)
		}
		patch = patch[:0]
	}
	// Files the cut left unread lose their text, not their place.
	defer func() {
		if !cut {
			return
		}
		for j := max(i+1, 0); j < len(files); j++ {
			if !files[j].Binary && files[j].Additions+files[j].Deletions > 0 {
				files[j].Truncated = true
			}
		}
	}()
	for {
		line, long, err := readLine(br, lim.MaxFileBytes+1)
		if err == io.EOF {
			flush()
			return cut, nil
		}
		if err != nil {
			return cut, fmt.Errorf("gitmirror: reading diff-tree output: %w", err)
		}
		if bytes.HasPrefix(line, []byte("diff --git ")) {
			flush()
			i++
			inHunks = false
			if i >= len(files) { // past MaxFiles
				return true, errEnough
			}
			continue
		}
		if !inHunks {
			if !bytes.HasPrefix(line, []byte("@@")) {
				continue // the file's header lines
			}
			inHunks = true
		}
		if i < 0 || files[i].Truncated {
			continue
		}
		// Valid UTF-8 before counting: a replaced byte takes three.
		line = []byte(text(line, nil))
		if total+len(line) > lim.MaxTotalBytes {
			flush()
			files[i].Truncated, cut = true, true
			return true, errEnough
		}
		if long || len(patch)+len(line) > lim.MaxFileBytes {
			files[i].Truncated, cut = true, true
			continue
		}
		patch = append(patch, line...)
		total += len(line)
	}
}

// readLine reads one line with its newline, keeping at most keep bytes of
// it (long says it was longer) and discarding the rest.
func readLine(br *bufio.Reader, keep int) (line []byte, long bool, err error) {
	for {
		b, err := br.ReadSlice('\n')
		if len(line)+len(b) <= keep {
			line = append(line, b...)
		} else {
			long = true
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && (len(line) > 0 || long):
			return line, long, nil
		case err != nil:
			return line, long, err
		}
		return line, long, nil
	}
}
