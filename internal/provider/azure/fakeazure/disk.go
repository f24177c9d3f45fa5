package fakeazure

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// The fake reads refs and writes commits straight from and to the bare
// repository's files (git's repository layout: loose and packed refs, loose
// objects) instead of starting a git process for each: the fake does it on
// nearly every request, and starting a process costs tens of milliseconds on
// some machines. Ref updates still go through fakegit (git update-ref), which
// keeps git's own locking and compare-and-swap; whatever git or fakegit
// writes, these read.

// readRefs returns every branch and tag of the repository at dir: full ref
// name -> the object it names (a tag object for an annotated tag, as the
// refs API reports it).
func readRefs(dir string) (map[string]string, error) {
	refs := map[string]string{}
	packed, err := os.ReadFile(filepath.Join(dir, "packed-refs"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(packed))
	for sc.Scan() {
		sha, name, ok := strings.Cut(sc.Text(), " ")
		if ok && isSHA(sha) && isBranchOrTag(name) {
			refs[name] = sha
		}
	}
	// Loose refs are newer than packed ones.
	for _, top := range []string{"refs/heads", "refs/tags"} {
		err := filepath.WalkDir(filepath.Join(dir, top), func(path string, d fs.DirEntry, err error) error {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // no such directory yet, or deleted meanwhile
			}
			// No ref name part starts with a dot: those are files being written.
			if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") || strings.HasSuffix(path, ".lock") {
				return err
			}
			b, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, path)
			if sha := strings.TrimSpace(string(b)); err == nil && isSHA(sha) {
				refs[filepath.ToSlash(rel)] = sha
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return refs, nil
}

func isBranchOrTag(name string) bool {
	return strings.HasPrefix(name, "refs/heads/") || strings.HasPrefix(name, "refs/tags/")
}

// headBranch is the branch the repository's HEAD names ("ref: refs/heads/NAME").
func headBranch(dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "HEAD"))
	if err != nil {
		return ""
	}
	name, _ := strings.CutPrefix(strings.TrimSpace(string(b)), "ref: refs/heads/")
	return name
}

// writeCommit stores a commit with the empty tree (fakegit's commits have no
// files either), parent "" making a root commit, and returns its id.
func writeCommit(dir, parent, message string, when time.Time) (string, error) {
	tree, err := writeObject(dir, "tree", nil)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "tree %s\n", tree)
	if parent != "" {
		fmt.Fprintf(&b, "parent %s\n", parent)
	}
	sig := fmt.Sprintf("%s <%s> %d +0000", fakeAuthor.displayName, fakeAuthor.uniqueName, when.Unix())
	fmt.Fprintf(&b, "author %s\ncommitter %s\n\n%s", sig, sig, message)
	return writeObject(dir, "commit", b.Bytes())
}

// writeObject stores a loose object, as git does: zlib of "KIND SIZE\0" and
// the content, named by the SHA-1 of that, written whole then renamed.
func writeObject(dir, kind string, content []byte) (string, error) {
	header := fmt.Sprintf("%s %d\x00", kind, len(content))
	h := sha1.New()
	io.WriteString(h, header)
	h.Write(content)
	sha := hex.EncodeToString(h.Sum(nil))
	path := filepath.Join(dir, "objects", sha[:2], sha[2:])
	if _, err := os.Stat(path); err == nil {
		return sha, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "tmp_obj_")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	zw := zlib.NewWriter(tmp)
	io.WriteString(zw, header)
	zw.Write(content)
	if err := zw.Close(); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp.Name(), 0o444); err != nil {
		return "", err
	}
	return sha, os.Rename(tmp.Name(), path)
}

// writeFile writes a file whole, creating its directory, by renaming a
// complete temporary file into place.
func writeFile(path, content string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.WriteString(tmp, content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// looseKind is the kind of a loose object ("commit", "tree", …), "" when
// the object is not stored loose (absent, or in a pack).
func looseKind(dir, sha string) string {
	f, err := os.Open(filepath.Join(dir, "objects", sha[:2], sha[2:]))
	if err != nil {
		return ""
	}
	defer f.Close()
	zr, err := zlib.NewReader(f)
	if err != nil {
		return ""
	}
	head := make([]byte, 8)
	n, _ := io.ReadFull(zr, head)
	kind, _, ok := strings.Cut(string(head[:n]), " ")
	if !ok {
		return ""
	}
	return kind
}
