package index

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"

	fb "github.com/forgebridge/forgebridge"
)

// errRangeTooLarge stops a range walk at its bound.
var errRangeTooLarge = errors.New("range too large")

// RangeCommits returns the commits of the git range from..to in the
// repository's mirror: those reachable from to and not from from, each a tag
// or branch name (a tag wins over a branch of the same name) or a full
// ref name. The names
// are only looked up among the mirror's refs, never handed to git, so none
// can be read as an option or a revision expression. The walk streams and
// stops past limit commits (EInvalid). git's own errors are logged, not
// answered: they may name paths of the data directory.
func (x *Indexer) RangeCommits(ctx context.Context, repositoryID, from, to string, limit int) ([]string, error) {
	if x.Git == nil {
		return nil, fb.Errorf(fb.ENotSupported, "Git ranges need git on this instance, and it has none.")
	}
	dir := x.MirrorDir(repositoryID)
	if _, err := os.Stat(dir); err != nil {
		return nil, fb.Errorf(fb.EInvalid, "The repository has not been mirrored on this instance yet; try again after its next index run.")
	}
	m := x.Git.Mirror(dir)
	refs, err := m.Refs(ctx)
	if err != nil {
		x.log().Error("range: refs not read", "repository", repositoryID, "err", err)
		return nil, fb.Errorf(fb.EInternal, "The repository's mirror could not be read.")
	}
	fromSHA, err := refCommit(refs, from)
	if err != nil {
		return nil, err
	}
	toSHA, err := refCommit(refs, to)
	if err != nil {
		return nil, err
	}
	key := rangeKey{repositoryID, fromSHA, toSHA}
	if shas, ok := x.ranges.get(key); ok {
		return shas, nil
	}
	var shas []string
	err = m.RevList(ctx, []string{toSHA}, []string{fromSHA}, func(sha string) error {
		if len(shas) == limit {
			return errRangeTooLarge
		}
		shas = append(shas, sha)
		return nil
	})
	switch {
	case errors.Is(err, errRangeTooLarge):
		return nil, fb.Errorf(fb.EInvalid, "The range %s..%s has more than %d commits; choose a shorter one.", from, to, limit)
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case err != nil:
		x.log().Error("range: rev-list failed", "repository", repositoryID, "err", err)
		return nil, fb.Errorf(fb.EInternal, "The range could not be read from the repository's mirror.")
	}
	x.ranges.put(key, shas)
	return shas, nil
}

// rangeKey names a range by its ends' commits: what it holds never changes.
type rangeKey struct{ repositoryID, from, to string }

// rangeCacheCommits bounds the commits the range cache holds (about 45
// bytes each): a release's issues are paged through and downloaded, each a
// walk of the same range, which without a commit-graph costs git most of
// the time of the answer.
const rangeCacheCommits = 200_000

// rangeCache remembers the last ranges walked, least recently used first.
type rangeCache struct {
	mu      sync.Mutex
	keys    []rangeKey
	shas    map[rangeKey][]string
	commits int
}

func (c *rangeCache) get(k rangeKey) ([]string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	shas, ok := c.shas[k]
	if ok {
		i := slices.Index(c.keys, k)
		c.keys = append(slices.Delete(c.keys, i, i+1), k)
	}
	return shas, ok
}

func (c *rangeCache) put(k rangeKey, shas []string) {
	if len(shas) > rangeCacheCommits {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shas == nil {
		c.shas = map[rangeKey][]string{}
	}
	if _, ok := c.shas[k]; ok {
		return
	}
	for c.commits+len(shas) > rangeCacheCommits && len(c.keys) > 0 {
		c.commits -= len(c.shas[c.keys[0]])
		delete(c.shas, c.keys[0])
		c.keys = c.keys[1:]
	}
	c.keys, c.shas[k], c.commits = append(c.keys, k), shas, c.commits+len(shas)
}

// refCommit returns the commit a tag or branch name leads to.
func refCommit(refs map[string]string, name string) (string, error) {
	if name == "" || len(name) > maxRefName {
		return "", fb.Errorf(fb.EInvalid, "%q is not a tag or branch name.", truncate(name, 80))
	}
	for _, ref := range []string{"refs/tags/" + name, "refs/heads/" + name, name} {
		if sha, ok := refs[ref]; ok {
			return sha, nil
		}
	}
	return "", fb.Errorf(fb.EInvalid, "The repository has no tag or branch %q.", name)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
