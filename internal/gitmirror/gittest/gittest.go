// Package gittest builds git histories for tests and benchmarks quickly, with
// git fast-import, and serves bare repositories over smart HTTP behind Basic
// authentication, as a git host does.
package gittest

import (
	"bufio"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forgebridge/forgebridge/internal/provider/fakegit"
)

// Synth layout: commit i (1-based) of a synthetic history.
const (
	// BranchEvery: commit i with i%BranchEvery == BranchEvery/2 is the one
	// commit of branch BranchName(i), forked from main.
	BranchEvery = 500
	// TagEvery: main's commit i with i%TagEvery == 0 is tagged TagName(i),
	// annotated for odd tag numbers, lightweight for even ones.
	TagEvery = 2000
)

// Synth writes a bare repository at dir with commits commits: main holds
// every commit but the branch ones (see BranchEvery and TagEvery), each
// changing one of a hundred files in ten directories, with the messages of
// Message and a few authors, one with a name that is not ASCII. It returns
// dir.
func Synth(tb testing.TB, dir string, commits int) string {
	tb.Helper()
	Git(tb, "", "init", "--quiet", "--bare", "--initial-branch=main", dir)
	cmd := exec.Command("git", "--git-dir="+dir, "fast-import", "--quiet", "--done")
	// fast-import grows its heap in small steps; where brk is slow (some
	// sandboxes) that alone takes minutes. A large top pad avoids it.
	cmd.Env = append(Env(), "GLIBC_TUNABLES=glibc.malloc.top_pad=67108864:glibc.malloc.trim_threshold=268435456")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(stdin, 1<<16)
	mainTip := 0 // mark of main's last commit
	for i := 1; i <= commits; i++ {
		ref := "refs/heads/main"
		if i%BranchEvery == BranchEvery/2 {
			ref = "refs/heads/" + BranchName(i)
		}
		a := authors[i%len(authors)]
		msg := Message(i)
		when := 1600000000 + int64(i)*60
		fmt.Fprintf(w, "commit %s\nmark :%d\nauthor %s %d +0100\ncommitter %s %d +0000\ndata %d\n%s",
			ref, i, a, when, a, when, len(msg), msg)
		if mainTip != 0 {
			fmt.Fprintf(w, "from :%d\n", mainTip)
		}
		content := fmt.Sprintf("change %d\n", i)
		fmt.Fprintf(w, "M 644 inline dir%d/file%d.txt\ndata %d\n%s\n", i%10, i%100, len(content), content)
		if ref == "refs/heads/main" {
			mainTip = i
			if i%TagEvery == 0 {
				n := i / TagEvery
				if n%2 == 1 {
					note := fmt.Sprintf("Release %d\n", n)
					fmt.Fprintf(w, "tag %s\nfrom :%d\ntagger %s %d +0000\ndata %d\n%s\n", TagName(i), i, a, when, len(note), note)
				} else {
					fmt.Fprintf(w, "reset refs/tags/%s\nfrom :%d\n\n", TagName(i), i)
				}
			}
		}
	}
	fmt.Fprintf(w, "done\n")
	if err := w.Flush(); err != nil {
		tb.Fatalf("fast-import: %v: %s", err, stderr.String())
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		tb.Fatalf("fast-import: %v: %s", err, stderr.String())
	}
	return dir
}

var authors = []string{
	"Ada Lovelace <ada@example.com>",
	"Zoë Ångström <zoe@example.com>",
	"Grace Hopper <grace@example.com>",
}

// Message is the message of Synth's commit i: every 7th mentions PROJ-<i> in
// its subject, every 11th names PROJ-<i> and OPS-<i/11> in a Refs: line of
// its body, every 13th and 17th holds look-alikes that are not keys.
func Message(i int) string {
	var b strings.Builder
	if i%7 == 0 {
		fmt.Fprintf(&b, "PROJ-%d Change file %d\n", i, i%100)
	} else {
		fmt.Fprintf(&b, "Change file %d\n", i%100)
	}
	b.WriteString("\n")
	if i%11 == 0 {
		fmt.Fprintf(&b, "Refs: PROJ-%d, OPS-%d\n", i, i/11)
	}
	if i%13 == 0 {
		b.WriteString("Use UTF-8 and SHA-256 (see CVE-2021-21300)\n")
	}
	if i%17 == 0 {
		b.WriteString("xproj-1 PROJ-01 PROJ-1x lower proj-2\n")
	}
	fmt.Fprintf(&b, "Commit %d of a synthetic history.\n", i)
	return b.String()
}

// Keys returns the issue keys Message(i) mentions (projects PROJ and OPS).
func Keys(i int) []string {
	var keys []string
	if i%7 == 0 || i%11 == 0 {
		keys = append(keys, fmt.Sprintf("PROJ-%d", i))
	}
	if i%11 == 0 {
		keys = append(keys, fmt.Sprintf("OPS-%d", i/11))
	}
	return keys
}

// BranchName is the branch that Synth's branch commit i is on.
func BranchName(i int) string { return fmt.Sprintf("feature/proj-%d-work", i) }

// Branches is how many branches Synth makes besides main for commits commits.
func Branches(commits int) int { return (commits + BranchEvery/2) / BranchEvery }

// TagName is the tag of Synth's commit i (a multiple of TagEvery).
func TagName(i int) string { return fmt.Sprintf("v1.%d", i/TagEvery) }

// Env is an environment for git in tests, isolated from the machine's user
// and system configuration.
func Env() []string {
	return append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull, "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
}

// Git runs git in dir ("" for the current directory) and returns its output,
// failing tb when git fails.
func Git(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = Env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// BasicHeader is the header line that authenticates git as user:password.
func BasicHeader(user, password string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// Handler serves the bare repositories under root for fetching: a request for
// /<name>.git/info/refs or /<name>.git/git-upload-pack reaches the repository
// root/<name>.git. Like a host, it answers 401 with a Basic challenge unless
// the request carries password (any user name), then 404 for a repository
// that does not exist.
func Handler(root, password string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_, pw, ok := req.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(pw), []byte(password)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="gittest"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		name, rest, ok := strings.Cut(strings.TrimPrefix(req.URL.Path, "/"), ".git/")
		if !ok || name == "" || strings.Contains(name, "..") {
			http.NotFound(w, req)
			return
		}
		dir := filepath.Join(root, filepath.FromSlash(name)+".git")
		if _, err := os.Stat(filepath.Join(dir, "HEAD")); err != nil {
			http.NotFound(w, req)
			return
		}
		(&fakegit.Repo{Dir: dir}).Serve(w, req, "/"+rest)
	})
}

// CloneAndLog is what git alone needs to bring a history over and read it,
// the yardstick of the indexing benchmarks: git clone --mirror of url with
// the header, then git log --all read line by line as a program would. It
// returns how many lines the log had.
func CloneAndLog(tb testing.TB, url, header string) int {
	tb.Helper()
	env := append(Env(), "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=http.extraHeader", "GIT_CONFIG_VALUE_0="+header)
	dir := filepath.Join(tb.TempDir(), "m")
	clone := exec.Command("git", "clone", "--quiet", "--mirror", url, dir)
	clone.Env = env
	if out, err := clone.CombinedOutput(); err != nil {
		tb.Fatalf("clone: %v: %s", err, out)
	}
	log := exec.Command("git", "--git-dir="+dir, "log", "--all", "--format=%H%x00%B")
	log.Env = env
	out, err := log.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := log.Start(); err != nil {
		tb.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 32<<20)
	lines := 0
	for sc.Scan() {
		lines++
	}
	io.Copy(io.Discard, out)
	if err := log.Wait(); err != nil {
		tb.Fatalf("git log: %v", err)
	}
	return lines
}
