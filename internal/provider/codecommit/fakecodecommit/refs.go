package fakecodecommit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

// The API reads refs straight from git's ref storage (loose ref files, then
// packed-refs) rather than running git for each lookup: on a loaded machine
// a git process costs tens of milliseconds, and a test listing a hundred
// branches would pay that a hundred times. git stays the one writer.

var hexID = regexp.MustCompile(`^[0-9a-f]{40}$`)

// invalidRef matches branch names git check-ref-format refuses.
var invalidRef = regexp.MustCompile(`(^[./-])|(\.\.)|([\x00-\x20\x7f~^:?*\[\\])|(@\{)|(//)|([./]$)|(\.lock$)|(/\.)|(\.lock/)`)

func validRefName(name string) bool {
	return name != "" && len(name) <= 256 && !invalidRef.MatchString(name)
}

// readRef returns the commit a full ref name points at.
func readRef(dir, ref string) (string, bool) {
	if b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(ref))); err == nil {
		sha := strings.TrimSpace(string(b))
		return sha, hexID.MatchString(sha)
	}
	sha, ok := packedRefs(dir)[ref]
	return sha, ok
}

// readHead returns the short name of the branch HEAD names.
func readHead(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "HEAD"))
	if err != nil {
		return ""
	}
	ref, _ := strings.CutPrefix(strings.TrimSpace(string(b)), "ref: refs/heads/")
	return ref
}

// listRefs returns every ref under prefix ("refs/heads/") with its commit.
func listRefs(dir, prefix string) map[string]string {
	refs := map[string]string{}
	for ref, sha := range packedRefs(dir) {
		if strings.HasPrefix(ref, prefix) {
			refs[ref] = sha
		}
	}
	root := filepath.Join(dir, filepath.FromSlash(prefix))
	filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || strings.HasSuffix(path, ".lock") {
			return nil
		}
		rel, _ := filepath.Rel(dir, path)
		if sha, ok := readRef(dir, filepath.ToSlash(rel)); ok {
			refs[filepath.ToSlash(rel)] = sha
		}
		return nil
	})
	return refs
}

// packedRefs reads packed-refs: "sha refname" lines, "^peeled" lines for
// the annotated tag above them, "#" comments.
func packedRefs(dir string) map[string]string {
	refs := map[string]string{}
	b, err := os.ReadFile(filepath.Join(dir, "packed-refs"))
	if err != nil {
		return refs
	}
	var last string
	for sc := bufio.NewScanner(bytes.NewReader(b)); sc.Scan(); {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "^") && last != "":
			refs[last] = line[1:]
		default:
			if sha, ref, ok := strings.Cut(line, " "); ok && hexID.MatchString(sha) {
				refs[ref], last = sha, ref
			}
		}
	}
	return refs
}

// newCommit is a commit for importCommits: message on a new branch, whose
// parent is parent ("" for a root commit).
type newCommit struct {
	branch, parent, message string
}

// importCommits writes commits, each on its own new branch, with one
// git fast-import rather than three git processes a commit. Their trees
// are empty, as fakegit's are. It returns the commits' ids.
func (s *Server) importCommits(g *fakegit.Repo, commits []newCommit) ([]string, error) {
	var in bytes.Buffer
	for _, c := range commits {
		s.tick++
		fmt.Fprintf(&in, "commit refs/heads/%s\ncommitter Fake Author <author@example.com> %d +0000\ndata %d\n%s\n",
			c.branch, 1700000000+s.tick, len(c.message), c.message)
		if c.parent != "" {
			fmt.Fprintf(&in, "from %s\n", c.parent)
		}
		in.WriteString("\n")
	}
	if _, err := runGit(g, in.Bytes(), "fast-import", "--quiet"); err != nil {
		return nil, err
	}
	shas := make([]string, len(commits))
	for i, c := range commits {
		sha, ok := readRef(g.Dir, "refs/heads/"+c.branch)
		if !ok {
			return nil, fmt.Errorf("git fast-import did not write %s", c.branch)
		}
		shas[i] = sha
	}
	return shas, nil
}

// mergeBaseLocked is the best common ancestor of two commits, "" when there
// is none. Commits never change, so neither does their merge base.
func (s *Server) mergeBaseLocked(g *fakegit.Repo, a, b string) string {
	if a == "" || b == "" {
		return ""
	}
	key := a + " " + b
	if base, ok := s.mergeBases[key]; ok {
		return base
	}
	base, _ := runGit(g, nil, "merge-base", a, b)
	s.mergeBases[key] = base
	return base
}

// mergeCommit writes a commit whose parents are dst and src (src's tree),
// as a three-way merge of a pull request does, without moving any ref.
func mergeCommit(g *fakegit.Repo, dst, src, message string) (string, error) {
	return runGit(g, nil, "commit-tree", src+"^{tree}", "-p", dst, "-p", src, "-m", message)
}

// runGit runs git in g for what fakegit does not offer.
func runGit(g *fakegit.Repo, stdin []byte, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", g.Dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Fake Author", "GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=Fake Author", "GIT_COMMITTER_EMAIL=author@example.com")
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}
