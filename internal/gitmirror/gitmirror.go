// Package gitmirror keeps bare mirrors of repositories with the git command
// line, for indexing: it fetches every branch and tag incrementally and reads
// refs and commits back, streaming, however long the history. A credential
// reaches git only through its environment (see env.go), and every git
// process runs in its own process group, killed with it when the context
// ends.
package gitmirror

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// MinVersion is the oldest git that works: 2.31 brought GIT_CONFIG_COUNT,
// the only way to hand git a credential without argv or a file.
const MinVersion = "2.31"

// Git is the git command line found on the machine.
type Git struct{ Path, Version string }

// Find looks git up on PATH and checks its version (MinVersion or later).
// Without it indexing cannot run: its error is fb.ENotSupported.
func Find(ctx context.Context) (*Git, error) {
	path, err := exec.LookPath("git")
	if err != nil {
		return nil, &fb.Error{Code: fb.ENotSupported, Err: err,
			Message: "git is not installed; git " + MinVersion + " or later is required for indexing."}
	}
	var out bytes.Buffer
	cmd := command(ctx, path, localEnv(), "version")
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return nil, &fb.Error{Code: fb.ENotSupported, Err: err,
			Message: fmt.Sprintf("%s did not run; git %s or later is required for indexing.", path, MinVersion)}
	}
	version, ok := parseVersion(out.String())
	if !ok {
		if version == "" {
			version = strings.TrimSpace(out.String())
		}
		return nil, fb.Errorf(fb.ENotSupported, "git %s or later is required for indexing; found %s.", MinVersion, version)
	}
	return &Git{Path: path, Version: version}, nil
}

// parseVersion reads `git version` output ("git version 2.39.5", "git version
// 2.31.0.windows.1", "git version 2.39.3 (Apple Git-146)") and reports
// whether it is MinVersion or later.
func parseVersion(out string) (version string, ok bool) {
	version, found := strings.CutPrefix(strings.TrimSpace(out), "git version ")
	if !found {
		return "", false
	}
	want := strings.SplitN(MinVersion, ".", 2)
	wantMajor, _ := strconv.Atoi(want[0])
	wantMinor, _ := strconv.Atoi(want[1])
	parts := strings.SplitN(strings.Fields(version + " ")[0], ".", 3)
	if len(parts) < 2 {
		return version, false
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return version, false
	}
	return version, major > wantMajor || major == wantMajor && minor >= wantMinor
}

// Remote is where a mirror fetches from and how.
type Remote struct {
	URL                   string // https URL without user info
	Header                string // one HTTP header line holding the secret, e.g. "Authorization: Basic ..."
	ProxyURL              string
	CAFile                string // path to a PEM bundle to trust in addition to the system's roots
	InsecureSkipTLSVerify bool
}

// String names the remote without its secrets.
func (r Remote) String() string {
	s := r.URL
	if r.Header != "" {
		s += " [redacted header]"
	}
	if r.ProxyURL != "" {
		s += " via " + redactURL(r.ProxyURL)
	}
	return s
}

// check refuses what must never reach git: a URL with user info or another
// scheme, values that would break out of one configuration line.
func (r Remote) check() (*url.URL, error) {
	u, err := url.Parse(r.URL)
	if err != nil || u.Host == "" || u.Opaque != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fb.Errorf(fb.EInvalid, "The git URL %q is not an http(s) URL.", redactURL(r.URL))
	}
	if u.User != nil {
		return nil, fb.Errorf(fb.EInvalid, "The git URL %s holds a user name or password; credentials go in the header only.", redactURL(r.URL))
	}
	if strings.ContainsAny(r.Header, "\r\n\x00") || r.Header != "" && !strings.Contains(r.Header, ":") {
		return nil, fb.Errorf(fb.EInvalid, "The git credential for %s is not one HTTP header line.", u.Redacted())
	}
	if r.ProxyURL != "" {
		p, err := url.Parse(r.ProxyURL)
		if err != nil || p.Host == "" || strings.ContainsAny(r.ProxyURL, "\r\n\x00") {
			return nil, fb.Errorf(fb.EInvalid, "The integration's proxy URL is not a valid URL.")
		}
	}
	if strings.ContainsAny(r.CAFile, "\r\n\x00") {
		return nil, fb.Errorf(fb.EInvalid, "The CA bundle path is not a valid path.")
	}
	return u, nil
}

// redactURL hides a URL's password (a proxy's may hold one).
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	return u.Redacted()
}

// Mirror is a bare mirror of one repository, in Dir.
type Mirror struct {
	Dir string
	git string
}

// Mirror returns the mirror kept in dir (made at its first fetch).
func (g *Git) Mirror(dir string) *Mirror { return &Mirror{Dir: dir, git: g.Path} }

// Fetch creates the bare mirror when missing and fetches every branch and
// tag of r into it, pruning those gone from r. Only what is new is
// transferred. A failed fetch leaves the mirror as it was, or leaves none
// when there was none.
func (m *Mirror) Fetch(ctx context.Context, r Remote) error {
	u, err := r.check()
	if err != nil {
		return err
	}
	if r.CAFile != "" {
		bundle, err := caBundle(r.CAFile)
		if err != nil {
			return err
		}
		defer os.Remove(bundle)
		r.CAFile = bundle
	}
	if _, err := os.Stat(filepath.Join(m.Dir, "HEAD")); err != nil {
		return m.clone(ctx, r, u)
	}
	cmd := m.fetchCommand(ctx, r, u)
	stderr := &tail{}
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return fetchError(ctx, r, u, err, stderr.String())
	}
	return nil
}

// WriteCommitGraph brings the mirror's commit-graph file up to date with
// what fetches brought. Walks that read it (rev-list A..B, merge-base, the
// children-first log) find commits' parents and generations there instead
// of parsing each commit. --split adds a layer for the new commits and
// merges layers as they pile up, so after a fetch of one commit it costs
// little; after a first fetch it reads the whole history once more.
func (m *Mirror) WriteCommitGraph(ctx context.Context) error {
	_, err := m.output(ctx, nil, "commit-graph", "write", "--reachable", "--split", "--no-progress")
	return err
}

func (m *Mirror) fetchCommand(ctx context.Context, r Remote, u *url.URL) *exec.Cmd {
	// Both refspecs force: a force push on the host replaces the branch here.
	// No FETCH_HEAD (it would list every ref), no forced-update walk, no
	// tag following (every tag is fetched anyway).
	return command(ctx, m.git, fetchEnv(r, u.Scheme), "--git-dir="+m.Dir, "fetch",
		"--prune", "--no-tags", "--no-write-fetch-head", "--no-show-forced-updates",
		"--no-recurse-submodules", "--quiet", "--", u.String(),
		"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
}

// clone makes the mirror with a bare clone, which fetches every branch and
// tag: unlike a fetch into an empty repository it does not walk the whole
// history again after the transfer to check connectivity (index-pack already
// found the pack self-contained), so a first index costs what git clone
// does. It clones beside Dir and renames the result into place, so a failed
// or killed clone leaves no half-made mirror; what a crash left is removed
// here (one index job runs per repository at a time).
func (m *Mirror) clone(ctx context.Context, r Remote, u *url.URL) error {
	if entries, err := os.ReadDir(m.Dir); err == nil && len(entries) > 0 {
		return fmt.Errorf("gitmirror: %s is not a mirror and not empty", m.Dir)
	}
	parent, base := filepath.Split(filepath.Clean(m.Dir))
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return fmt.Errorf("gitmirror: %w", err)
	}
	prefix := base + ".clone-"
	if entries, err := os.ReadDir(parent); err == nil {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) {
				os.RemoveAll(filepath.Join(parent, e.Name()))
			}
		}
	}
	tmp, err := os.MkdirTemp(parent, prefix+"*")
	if err != nil {
		return fmt.Errorf("gitmirror: %w", err)
	}
	defer os.RemoveAll(tmp)
	cmd := m.cloneCommand(ctx, r, u, tmp)
	stderr := &tail{}
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return fetchError(ctx, r, u, err, stderr.String())
	}
	// Dir may exist empty; os.Remove fails on one that holds something.
	if err := os.Remove(m.Dir); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("gitmirror: %s is not a mirror and not empty: %w", m.Dir, err)
	}
	if err := os.Rename(tmp, m.Dir); err != nil {
		return fmt.Errorf("gitmirror: %w", err)
	}
	return nil
}

func (m *Mirror) cloneCommand(ctx context.Context, r Remote, u *url.URL, dir string) *exec.Cmd {
	// No templates: no sample hooks, no description file.
	return command(ctx, m.git, fetchEnv(r, u.Scheme), "clone", "--bare", "--quiet", "--template=",
		"--no-recurse-submodules", "--", u.String(), dir)
}

// systemBundles are where systems keep their roots as one PEM file (the
// list Go's crypto/x509 reads on Linux and the BSDs).
var systemBundles = []string{
	"/etc/ssl/certs/ca-certificates.crt",
	"/etc/pki/tls/certs/ca-bundle.crt",
	"/etc/ssl/ca-bundle.pem",
	"/etc/pki/tls/cacert.pem",
	"/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
	"/etc/ssl/cert.pem",
	"/usr/local/etc/ssl/cert.pem",
}

// caBundle writes a temporary PEM file holding the system's roots and
// caFile's: git's http.sslCAInfo replaces curl's default bundle instead of
// adding to it. The caller removes the file.
func caBundle(caFile string) (string, error) {
	extra, err := os.ReadFile(caFile)
	if err != nil {
		return "", fmt.Errorf("gitmirror: reading the CA bundle: %w", err)
	}
	var roots []byte
	for _, p := range append([]string{os.Getenv("SSL_CERT_FILE")}, systemBundles...) {
		if p == "" {
			continue
		}
		if roots, err = os.ReadFile(p); err == nil {
			break
		}
	}
	f, err := os.CreateTemp("", "forgebridge-ca-*.pem")
	if err != nil {
		return "", fmt.Errorf("gitmirror: writing the CA bundle: %w", err)
	}
	_, err = f.Write(slices.Concat(roots, []byte("\n"), extra))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("gitmirror: writing the CA bundle: %w", err)
	}
	return f.Name(), nil
}

// Refs returns every branch and tag: full ref name (refs/heads/x,
// refs/tags/y) → commit. Annotated tags are peeled; tags that do not lead
// to a commit are left out.
func (m *Mirror) Refs(ctx context.Context) (map[string]string, error) {
	out, err := m.output(ctx, nil, "for-each-ref", "--format=%(objecttype) %(objectname) %(refname)", "refs/heads", "refs/tags")
	if err != nil {
		return nil, err
	}
	refs := map[string]string{}
	var peel []string // annotated tags, peeled below in one batch
	for line := range strings.Lines(out) {
		typ, rest, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		sha, name, ok := strings.Cut(rest, " ")
		if !ok {
			continue
		}
		switch typ {
		case "commit":
			refs[name] = sha
		case "tag":
			peel = append(peel, name)
		}
	}
	if len(peel) == 0 {
		return refs, nil
	}
	peeled, err := m.resolveCommits(ctx, peel)
	if err != nil {
		return nil, err
	}
	for i, name := range peel {
		if peeled[i] != "" {
			refs[name] = peeled[i]
		}
	}
	return refs, nil
}

// resolveCommits returns the commit each revision leads to (through tags),
// "" for one that names no commit in the mirror.
func (m *Mirror) resolveCommits(ctx context.Context, revs []string) ([]string, error) {
	var in strings.Builder
	for _, r := range revs {
		in.WriteString(r + "^{commit}\n")
	}
	out, err := m.output(ctx, strings.NewReader(in.String()), "cat-file", "--batch-check=%(objectname) %(objecttype)")
	if err != nil {
		return nil, err
	}
	shas := make([]string, 0, len(revs))
	for line := range strings.Lines(out) {
		sha, typ, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
		if typ != "commit" { // "<rev> missing", "<rev> ambiguous"
			sha = ""
		}
		shas = append(shas, sha)
	}
	if len(shas) != len(revs) {
		return nil, fmt.Errorf("gitmirror: cat-file answered %d lines for %d revisions", len(shas), len(revs))
	}
	return shas, nil
}

// Remove deletes the mirror; the next Fetch makes it again.
func (m *Mirror) Remove() error { return os.RemoveAll(m.Dir) }

// checkRev accepts a full object name or a full ref name, nothing git could
// read as an option or a revision expression.
func checkRev(rev string) error {
	if isSHA(rev) {
		return nil
	}
	if strings.HasPrefix(rev, "refs/") && !strings.ContainsAny(rev, " \t\r\n\x00~^:?*[\\") &&
		!strings.Contains(rev, "..") && !strings.Contains(rev, "@{") {
		return nil
	}
	return fmt.Errorf("gitmirror: %q is neither an object name nor a full ref name", rev)
}

func isSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// output runs a local git command in the mirror and returns its standard
// output.
func (m *Mirror) output(ctx context.Context, stdin *strings.Reader, args ...string) (string, error) {
	cmd := command(ctx, m.git, localEnv(), append([]string{"--git-dir=" + m.Dir}, args...)...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var out bytes.Buffer
	stderr := &tail{}
	cmd.Stdout, cmd.Stderr = &out, stderr
	if err := cmd.Run(); err != nil {
		return "", localError(ctx, args[0], err, stderr.String())
	}
	return out.String(), nil
}

// localError describes a failed local git command, for logs.
func localError(ctx context.Context, what string, err error, stderr string) error {
	if ctx.Err() != nil {
		return fmt.Errorf("gitmirror: git %s: %w", what, ctx.Err())
	}
	return fmt.Errorf("gitmirror: git %s: %v: %s", what, err, lastLines(stderr, 3))
}

// command is git with env, in its own process group so that cancelling ctx
// kills git and every helper it started (git-remote-https, index-pack).
func command(ctx context.Context, git string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, git, args...)
	cmd.Env = env
	cmd.Dir = os.TempDir() // never the service's working directory, whatever it holds
	ownProcessGroup(cmd)
	// A helper that outlives a killed git would hold the pipes open.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

// tail keeps the last tailSize bytes written to it: git's standard error,
// bounded however much git says.
type tail struct {
	buf       []byte
	truncated bool
}

const tailSize = 32 << 10

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= tailSize {
		p = p[len(p)-tailSize:]
		t.buf, t.truncated = t.buf[:0], true
	}
	if over := len(t.buf) + len(p) - tailSize; over > 0 {
		t.buf, t.truncated = append(t.buf[:0], t.buf[over:]...), true
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// String returns what was kept, whole lines only: a line cut at the start
// is dropped, so no fragment of anything survives the bound.
func (t *tail) String() string {
	s := string(t.buf)
	if t.truncated {
		if _, rest, ok := strings.Cut(s, "\n"); ok {
			s = rest
		} else {
			s = ""
		}
	}
	return s
}

// lastLines returns the last n non-empty lines of s, joined with "; ".
func lastLines(s string, n int) string {
	var lines []string
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 4096), tailSize+1)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}
