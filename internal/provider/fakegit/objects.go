package fakegit

import (
	"bytes"
	"fmt"
	"strings"
	"time"
)

// CommitObject is a commit as a host's git data API shows it.
type CommitObject struct {
	SHA     string
	Tree    string
	Parents []string
	Author  Author
	Message string
}

// ReadCommit reads the commit sha (a full id); false when there is none.
func (r *Repo) ReadCommit(sha string) (CommitObject, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if kind, err := r.git(nil, "cat-file", "-t", sha); err != nil || strings.TrimSpace(kind) != "commit" {
		return CommitObject{}, false
	}
	raw, err := r.git(nil, "cat-file", "commit", sha)
	if err != nil {
		return CommitObject{}, false
	}
	head, msg, _ := strings.Cut(raw, "\n\n")
	c := CommitObject{SHA: sha, Message: msg}
	for _, line := range strings.Split(head, "\n") {
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "tree":
			c.Tree = v
		case "parent":
			c.Parents = append(c.Parents, v)
		case "author":
			c.Author = parseSignature(v)
		}
	}
	return c, true
}

// parseSignature reads "Name <email> seconds zone".
func parseSignature(v string) Author {
	name, rest, _ := strings.Cut(v, " <")
	email, rest, _ := strings.Cut(rest, "> ")
	var secs int64
	fmt.Sscanf(rest, "%d", &secs)
	return Author{Name: name, Email: email, When: time.Unix(secs, 0).UTC()}
}

// IsTree reports whether sha names a tree of the repository.
func (r *Repo) IsTree(sha string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	kind, err := r.git(nil, "cat-file", "-t", sha)
	return err == nil && strings.TrimSpace(kind) == "tree"
}

// WriteCommit writes a commit of tree with parents, moving no ref, and
// returns it; the caller checks that tree and parents exist.
func (r *Repo) WriteCommit(tree string, parents []string, message []byte, a Author) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a.Name == "" {
		a.Name, a.Email = "Fake Author", "author@example.com"
	}
	when := a.When
	if when.IsZero() {
		r.tick++
		when = time.Unix(1700000000+r.tick, 0)
	}
	var obj bytes.Buffer
	fmt.Fprintf(&obj, "tree %s\n", tree)
	for _, p := range parents {
		fmt.Fprintf(&obj, "parent %s\n", p)
	}
	sig := fmt.Sprintf("%s <%s> %d +0000", a.Name, a.Email, when.Unix())
	fmt.Fprintf(&obj, "author %s\ncommitter %s\n\n", sig, sig)
	obj.Write(message)
	out, err := r.git(obj.Bytes(), "hash-object", "-t", "commit", "-w", "--stdin")
	return strings.TrimSpace(out), err
}
