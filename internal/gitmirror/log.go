package gitmirror

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/htmlindex"
)

// Commit is one commit as Log reads it.
type Commit struct {
	SHA, AuthorName, AuthorEmail string
	AuthoredAt                   time.Time // in the author's time zone
	// Parents are the ids of the commit's parents, in order.
	Parents []string
	// Message is the whole message as stored (subject, body, trailing
	// newline), as valid UTF-8: converted from the commit's encoding header
	// when it names another, invalid bytes replaced with U+FFFD, NUL bytes
	// dropped.
	Message string
}

// maxObject bounds the bytes of one commit that Log holds in memory. Only a
// message can make a commit that large; such a commit is still listed, with
// its message cut at the bound.
const maxObject = 16 << 20

// Log calls fn for each commit reachable from include and not from exclude
// (full object names or full ref names), each once, in git's default order
// (newest commit date first). An exclude
// that no longer names a commit in the mirror (a tip a force push replaced,
// then pruned) is ignored. Log streams: memory stays flat however long the
// history. An error from fn stops Log, which returns it.
func (m *Mirror) Log(ctx context.Context, include, exclude []string, fn func(Commit) error) error {
	return m.log(ctx, include, exclude, nil, fn)
}

// LogChildrenFirst is Log in an order that lists no commit before all of
// its children (git's --date-order), for callers that carry something
// from each commit down to its parents in one pass. git has to walk the
// whole history before it lists the first commit.
func (m *Mirror) LogChildrenFirst(ctx context.Context, include, exclude []string, fn func(Commit) error) error {
	return m.log(ctx, include, exclude, []string{"--date-order"}, fn)
}

func (m *Mirror) log(ctx context.Context, include, exclude, order []string, fn func(Commit) error) error {
	for _, rev := range slices.Concat(include, exclude) {
		if err := checkRev(rev); err != nil {
			return err
		}
	}
	if len(include) == 0 {
		return nil
	}
	var revs strings.Builder
	for _, rev := range include {
		revs.WriteString(rev + "\n")
	}
	if len(exclude) > 0 {
		shas, err := m.resolveCommits(ctx, exclude)
		if err != nil {
			return err
		}
		for _, sha := range shas {
			if sha != "" {
				revs.WriteString("^" + sha + "\n")
			}
		}
	}

	// rev-list lists the commits, cat-file --batch reads each one whole with
	// its size: no output format whose separators a message could contain.
	// The revisions go on standard input, however many there are.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw, err := os.Pipe()
	if err != nil {
		return err
	}
	revList := command(runCtx, m.git, localEnv(), slices.Concat([]string{"--git-dir=" + m.Dir, "rev-list"}, order, []string{"--stdin"})...)
	revList.Stdin = strings.NewReader(revs.String())
	revList.Stdout = pw
	revErr := &tail{}
	revList.Stderr = revErr
	catFile := command(runCtx, m.git, localEnv(), "--git-dir="+m.Dir, "cat-file", "--batch", "--buffer")
	catFile.Stdin = pr
	catErr := &tail{}
	catFile.Stderr = catErr
	stdout, err := catFile.StdoutPipe()
	if err != nil {
		pr.Close()
		pw.Close()
		return err
	}
	if err := revList.Start(); err != nil {
		pr.Close()
		pw.Close()
		return localError(ctx, "rev-list", err, "")
	}
	if err := catFile.Start(); err != nil {
		pr.Close()
		pw.Close()
		cancel()
		revList.Wait()
		return localError(ctx, "cat-file", err, "")
	}
	// The children hold their own ends; cat-file sees the end of its input
	// when rev-list exits.
	pr.Close()
	pw.Close()

	fnErr, readErr := readCommits(stdout, fn)
	if fnErr != nil || readErr != nil {
		cancel()
	}
	catWait := catFile.Wait()
	revWait := revList.Wait()
	switch {
	case fnErr != nil:
		return fnErr
	case ctx.Err() != nil:
		return fmt.Errorf("gitmirror: reading commits: %w", ctx.Err())
	case readErr != nil:
		return fmt.Errorf("%w (rev-list: %s; cat-file: %s)", readErr, lastLines(revErr.String(), 2), lastLines(catErr.String(), 2))
	case revWait != nil:
		return localError(ctx, "rev-list", revWait, revErr.String())
	case catWait != nil:
		return localError(ctx, "cat-file", catWait, catErr.String())
	}
	return nil
}

// readCommits reads cat-file --batch output ("<sha> <type> <size>\n", the
// object, "\n") and calls fn for each commit. fnErr is fn's error.
func readCommits(r io.Reader, fn func(Commit) error) (fnErr, err error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for {
		line, err := br.ReadSlice('\n')
		if err == io.EOF && len(line) == 0 {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("gitmirror: reading cat-file output: %w", err)
		}
		f := bytes.Fields(line)
		if len(f) != 3 || string(f[1]) != "commit" {
			return nil, fmt.Errorf("gitmirror: cat-file answered %q", bytes.TrimSpace(line))
		}
		sha := string(f[0])
		size, err := strconv.Atoi(string(f[2]))
		if err != nil || size < 0 {
			return nil, fmt.Errorf("gitmirror: cat-file answered %q", bytes.TrimSpace(line))
		}
		n := min(size, maxObject)
		buf = slices.Grow(buf[:0], n)[:n]
		if _, err := io.ReadFull(br, buf); err != nil {
			return nil, fmt.Errorf("gitmirror: reading commit %s: %w", sha, err)
		}
		// The rest of an oversized commit, and the newline after each object.
		if _, err := br.Discard(size - n + 1); err != nil {
			return nil, fmt.Errorf("gitmirror: reading commit %s: %w", sha, err)
		}
		if err := fn(parseCommit(sha, buf)); err != nil {
			return err, nil
		}
	}
}

// parseCommit reads a raw commit object: header lines up to the first blank
// line ("author Name <email> 1700000000 +0100", an optional "encoding X"),
// then the message.
func parseCommit(sha string, raw []byte) Commit {
	header, msg, _ := bytes.Cut(raw, []byte("\n\n"))
	var author []byte
	var dec *encoding.Decoder
	var parents []string
	for len(header) > 0 {
		var line []byte
		line, header, _ = bytes.Cut(header, []byte("\n"))
		if rest, ok := bytes.CutPrefix(line, []byte("parent ")); ok {
			parents = append(parents, string(rest))
		} else if rest, ok := bytes.CutPrefix(line, []byte("author ")); ok && author == nil {
			author = rest
		} else if rest, ok := bytes.CutPrefix(line, []byte("encoding ")); ok {
			dec = decoder(string(rest))
		}
	}
	c := Commit{SHA: sha, Message: text(msg, dec), Parents: parents}
	name, email, when := parseIdent(author)
	c.AuthorName, c.AuthorEmail, c.AuthoredAt = text(name, dec), text(email, dec), when
	return c
}

// parseIdent splits "Name <email> 1700000000 +0100" as git does: the email
// between the first '<' and the next '>', the date after the last '>'.
func parseIdent(id []byte) (name, email []byte, when time.Time) {
	lt := bytes.IndexByte(id, '<')
	if lt < 0 {
		return bytes.TrimSpace(id), nil, time.Time{}
	}
	name = bytes.TrimSpace(id[:lt])
	gt := bytes.IndexByte(id[lt:], '>')
	if gt < 0 {
		return name, id[lt+1:], time.Time{}
	}
	email = id[lt+1 : lt+gt]
	date := bytes.Fields(id[bytes.LastIndexByte(id, '>')+1:])
	if len(date) == 0 {
		return name, email, time.Time{}
	}
	secs, err := strconv.ParseInt(string(date[0]), 10, 64)
	if err != nil {
		return name, email, time.Time{}
	}
	when = time.Unix(secs, 0).UTC()
	if len(date) > 1 {
		if tz := date[1]; len(tz) == 5 && (tz[0] == '+' || tz[0] == '-') {
			h, err1 := strconv.Atoi(string(tz[1:3]))
			m, err2 := strconv.Atoi(string(tz[3:5]))
			if err1 == nil && err2 == nil {
				off := h*3600 + m*60
				if tz[0] == '-' {
					off = -off
				}
				when = when.In(time.FixedZone(string(tz), off))
			}
		}
	}
	return name, email, when
}

// decoder returns the decoder of a commit's encoding header, nil for UTF-8
// and for encodings it does not know (their bytes are then read as UTF-8).
func decoder(name string) *encoding.Decoder {
	name = strings.TrimSpace(name)
	if strings.EqualFold(name, "utf-8") || strings.EqualFold(name, "utf8") {
		return nil
	}
	enc, err := htmlindex.Get(name)
	if err != nil {
		return nil
	}
	return enc.NewDecoder()
}

// text returns b as valid UTF-8 without NUL bytes.
func text(b []byte, dec *encoding.Decoder) string {
	if dec != nil && len(b) > 0 {
		if out, err := dec.Bytes(b); err == nil {
			b = out
		}
	}
	if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		return string(b)
	}
	b = bytes.ToValidUTF8(b, []byte("\uFFFD"))
	return string(bytes.ReplaceAll(b, []byte{0}, nil))
}

// RevList calls fn with the id of each commit reachable from include and not
// from exclude, which must all exist in the mirror: Log's walk without
// reading the commits, for callers that know them already.
func (m *Mirror) RevList(ctx context.Context, include, exclude []string, fn func(sha string) error) error {
	var revs strings.Builder
	for _, rev := range include {
		if err := checkRev(rev); err != nil {
			return err
		}
		revs.WriteString(rev + "\n")
	}
	for _, rev := range exclude {
		if err := checkRev(rev); err != nil {
			return err
		}
		revs.WriteString("^" + rev + "\n")
	}
	if len(include) == 0 {
		return nil
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := command(runCtx, m.git, localEnv(), "--git-dir="+m.Dir, "rev-list", "--stdin")
	cmd.Stdin = strings.NewReader(revs.String())
	stderr := &tail{}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return localError(ctx, "rev-list", err, "")
	}
	sc := bufio.NewScanner(out)
	var fnErr error
	for sc.Scan() {
		if fnErr = fn(sc.Text()); fnErr != nil {
			cancel()
			break
		}
	}
	io.Copy(io.Discard, out)
	err = cmd.Wait()
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return localError(ctx, "rev-list", err, stderr.String())
	}
	return sc.Err()
}
