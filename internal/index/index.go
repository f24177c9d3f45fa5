// Package index reads a repository's git data into the store: commits,
// branches and tags from a bare mirror kept with git, pull requests from the
// host's API, each linked to the issue keys it mentions. One Run is one
// incremental pass over one repository; the job queue decides when.
package index

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/gitmirror"
	"github.com/forgebridge/forgebridge/internal/issuekey"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/smartcommit"
)

// Store is what indexing reads and writes.
type Store interface {
	fb.IndexStore
	Repository(ctx context.Context, id string) (fb.Repository, error)
	Integration(ctx context.Context, id string) (fb.Integration, error)
}

// Tuning of a run.
const (
	// batchSize is how many linked commits are written at once: large
	// enough to amortise a transaction, small enough that memory stays flat.
	batchSize = 5000
	// progressEvery is how often a running first index reports its count.
	progressEvery = 2 * time.Second
	// leaseFor is how long a run's claim on its repository lasts without
	// being renewed; a crashed instance's claim expires after it.
	leaseFor = 2 * time.Minute
	// pullsOverlap re-reads pull requests updated shortly before the last
	// run began, so clocks that differ a little lose nothing.
	pullsOverlap = 5 * time.Minute
)

// ErrBusy is Run's answer when another run holds the repository: the job
// queue tries again shortly.
var ErrBusy = errors.New("index: another run is indexing this repository")

// Indexer runs index passes. Its fields are its dependencies.
type Indexer struct {
	Store     Store
	Tracker   fb.Tracker
	Providers provider.Factory
	Options   provider.Options
	Git       *gitmirror.Git
	// Dir holds the mirrors, one bare repository per repository id.
	Dir    string
	Logger *slog.Logger
	Now    func() time.Time
	// Linked, when set, is told after a run which issue keys gained or
	// changed git data, so that the tracker's links can be brought up to date.
	Linked func(ctx context.Context, repositoryID string, keys []string)
	// SmartCommits, when set, is given the smart-commit commands of the
	// commits a run reads, a batch at a time, when the integration has
	// smart commits on; an error fails the run, whose next try reads the
	// commits again (the receiver acts once per command).
	SmartCommits func(ctx context.Context, b SmartCommitBatch) error

	projects projectCache
	ranges   rangeCache
}

// projectCache remembers the tracker's project keys briefly: every run
// needs them, and Jira need not be asked each time.
type projectCache struct {
	mu   sync.Mutex
	keys []string
	at   time.Time
}

// projectsFor is how long the project keys are remembered.
const projectsFor = time.Minute

// projectKeys returns the tracker's project keys, remembered for
// projectsFor unless fresh ones are asked for (a reset, which exists to find
// the keys of a project added since).
func (x *Indexer) projectKeys(ctx context.Context, fresh bool) ([]string, error) {
	c := &x.projects
	c.mu.Lock()
	defer c.mu.Unlock()
	if !fresh && c.keys != nil && time.Since(c.at) < projectsFor {
		return c.keys, nil
	}
	keys, err := x.Tracker.ProjectKeys(ctx)
	if err != nil {
		return nil, err
	}
	c.keys, c.at = keys, time.Now()
	return keys, nil
}

func (x *Indexer) now() time.Time {
	if x.Now != nil {
		return x.Now().UTC()
	}
	return time.Now().UTC()
}

func (x *Indexer) log() *slog.Logger {
	if x.Logger != nil {
		return x.Logger
	}
	return slog.Default()
}

// leaseOwner names one run on the lease: two runs of one repository never
// hold it together, in one process or in two.
func leaseOwner() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	host, _ := os.Hostname()
	return host + "/" + hex.EncodeToString(b)
}

// MirrorDir is where the mirror of a repository lives.
func (x *Indexer) MirrorDir(repositoryID string) string {
	return filepath.Join(x.Dir, "mirrors", safeName(repositoryID)+".git")
}

// Mirror returns a repository's mirror, to read from; without git it is
// fb.ENotSupported.
func (x *Indexer) Mirror(repositoryID string) (*gitmirror.Mirror, error) {
	if x.Git == nil {
		return nil, fb.Errorf(fb.ENotSupported, "git is not installed on this instance; git %s or later is needed to read the repository's mirror.", gitmirror.MinVersion)
	}
	return x.Git.Mirror(x.MirrorDir(repositoryID)), nil
}

// RemoveMirror deletes a repository's mirror, for a repository that left
// its integration.
func (x *Indexer) RemoveMirror(repositoryID string) error {
	if x.Git == nil {
		return os.RemoveAll(x.MirrorDir(repositoryID))
	}
	return x.Git.Mirror(x.MirrorDir(repositoryID)).Remove()
}

// SweepMirrors deletes the mirrors (and unfinished clones) of repositories
// that no longer exist: those removed while this instance was down, or
// through another instance, which cannot reach this one's data directory.
// It answers how many it deleted. Entries that are not mirrors are left alone.
func (x *Indexer) SweepMirrors(ctx context.Context) (int, error) {
	entries, err := os.ReadDir(filepath.Join(x.Dir, "mirrors"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("index: listing the mirrors: %w", err)
	}
	n := 0
	for _, e := range entries {
		id, ok := mirrorOf(e.Name())
		if !ok {
			continue
		}
		_, err := x.Store.Repository(ctx, id)
		if fb.ErrorCode(err) != fb.ENotFound {
			if err != nil {
				return n, err
			}
			continue
		}
		if err := os.RemoveAll(filepath.Join(x.Dir, "mirrors", e.Name())); err != nil {
			return n, fmt.Errorf("index: deleting the mirror of removed repository %s: %w", id, err)
		}
		n++
	}
	return n, nil
}

// mirrorOf names the repository whose mirror, or clone of one under way
// (gitmirror's ID.git.clone-*), a mirrors entry is.
func mirrorOf(name string) (string, bool) {
	id, _, ok := strings.Cut(name, ".git")
	if !ok || id == "" || id != safeName(id) {
		return "", false
	}
	rest := strings.TrimPrefix(name, id+".git")
	return id, rest == "" || strings.HasPrefix(rest, ".clone-")
}

func safeName(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, id)
}

// Result is what a run did.
type Result struct {
	Commits int64 // commits read in this run
	Linked  int   // of which mention a key
	Keys    []string
	// Took is how long each part of the run took: fetch, commits, tags,
	// pulls, writes (left when the rest was done), finish, graph (the
	// mirror's commit-graph, after the results were visible).
	Took map[string]time.Duration
}

// Run indexes one repository: fetch, read the commits not seen before,
// relink branches, tags and pull requests, and record the new tips. With
// reset it first drops what was indexed and reads everything again.
//
// Errors are *fb.Error; the state records them too. A rate limit is
// ERateLimited with RetryAfter, and the state says when the run resumes.
// A repository that no longer exists is no error: there is nothing to do.
func (x *Indexer) Run(ctx context.Context, repositoryID string, reset bool) (res Result, err error) {
	repo, err := x.Store.Repository(ctx, repositoryID)
	if fb.ErrorCode(err) == fb.ENotFound {
		_ = x.RemoveMirror(repositoryID)
		return res, nil
	} else if err != nil {
		return res, err
	}
	in, err := x.Store.Integration(ctx, repo.IntegrationID)
	if fb.ErrorCode(err) == fb.ENotFound {
		return res, nil
	} else if err != nil {
		return res, err
	}
	if x.Git == nil {
		return res, fb.Errorf(fb.ENotSupported, "git is not available on this instance, so repositories cannot be indexed; install git 2.31 or later.")
	}

	owner := leaseOwner()
	ok, err := x.Store.ClaimIndex(ctx, repositoryID, owner, x.now().Add(leaseFor))
	if err != nil {
		return res, err
	}
	if !ok {
		return res, ErrBusy
	}
	ctx, cancel := context.WithCancel(ctx)
	renewed := make(chan struct{})
	var lost atomic.Bool
	go func() {
		defer close(renewed)
		if !x.keepLease(ctx, cancel, repositoryID, owner) {
			lost.Store(true)
		}
	}()
	defer func() {
		// No renewal may land after the release.
		cancel()
		<-renewed
		x.Store.ReleaseIndex(context.WithoutCancel(ctx), repositoryID, owner)
	}()

	states, err := x.Store.IndexStates(ctx, []string{repositoryID})
	if err != nil {
		return res, err
	}
	st := states[repositoryID]
	st.RepositoryID = repositoryID
	if reset {
		if err := x.Store.ResetIndex(ctx, repositoryID); err != nil {
			return res, err
		}
		if err := x.RemoveMirror(repositoryID); err != nil {
			return res, fmt.Errorf("removing the mirror of %s: %w", repo.FullName, err)
		}
		st = fb.IndexState{RepositoryID: repositoryID}
	}
	started := x.now()
	st.State, st.UpdatedAt = fb.IndexIndexing, started
	if err := x.Store.PutIndexState(ctx, st); err != nil {
		return res, err
	}

	r := &run{x: x, in: in, repo: repo, state: st, started: started, reset: reset, owner: owner}
	res, err = r.do(ctx)
	if _, gone := x.Store.Repository(context.WithoutCancel(ctx), repositoryID); fb.ErrorCode(gone) == fb.ENotFound {
		// Removed while the run went on (its job cancelled, or it found the
		// repository gone): what it fetched goes too.
		_ = x.RemoveMirror(repositoryID)
		return res, nil
	}
	if errors.Is(err, fb.ErrLeaseLost) || err != nil && lost.Load() {
		return res, ErrBusy // the run that took over records the state
	}
	if err != nil {
		// The commits this run read are read again by the next: the count
		// stays that of the last run that completed.
		x.fail(context.WithoutCancel(ctx), st, err)
		return res, err
	}
	if x.Linked != nil && len(res.Keys) > 0 {
		x.Linked(context.WithoutCancel(ctx), repositoryID, res.Keys)
	}
	return res, nil
}

// keepLease renews the run's claim until ctx ends; if the claim is lost
// (the repository was removed, or another instance took over after this
// one stalled) the run is cancelled and keepLease answers false.
func (x *Indexer) keepLease(ctx context.Context, cancel func(), repositoryID, owner string) bool {
	t := time.NewTicker(leaseFor / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return true
		case <-t.C:
			ok, err := x.Store.ClaimIndex(ctx, repositoryID, owner, x.now().Add(leaseFor))
			if ctx.Err() != nil {
				return true
			}
			if err == nil && !ok || fb.ErrorCode(err) == fb.ENotFound {
				x.log().Warn("index run lost its repository; stopping it", "repository", repositoryID)
				cancel()
				return false
			}
		}
	}
}

// fail records a failed run. A rate-limited one says when it resumes.
func (x *Indexer) fail(ctx context.Context, st fb.IndexState, err error) {
	st.State = fb.IndexFailed
	st.ErrorCode, st.ErrorMessage = fb.ErrorCode(err), fb.ErrorMessage(err)
	st.RetryAt = nil
	if e := fb.AsError(err); e != nil && e.Code == fb.ERateLimited {
		st.State = fb.IndexQueued
		at := x.now().Add(time.Duration(max(e.RetryAfter, 1)) * time.Second)
		st.RetryAt = &at
	}
	if errors.Is(err, context.Canceled) {
		st.ErrorCode, st.ErrorMessage = fb.EInternal, "The run was stopped before it finished; the next run completes it."
	}
	st.UpdatedAt = x.now()
	if werr := x.Store.PutIndexState(ctx, st); werr != nil && fb.ErrorCode(werr) != fb.ENotFound {
		x.log().Error("index state not recorded", "repository", st.RepositoryID, "err", werr)
	}
}

// run is one pass over one repository.
type run struct {
	x       *Indexer
	in      fb.Integration
	repo    fb.Repository
	state   fb.IndexState
	started time.Time
	reset   bool
	owner   string // the run's name on the lease

	// walk, on a first index, finds the tags' commits during the commit
	// pass; later runs walk from the new tags alone (tags).
	walk *tagWalk

	matcher *issuekey.Matcher
	smart   bool               // the integration has smart commits on, and someone listens
	links   provider.WebLinker // nil when the driver cannot tell
	keys    map[string]bool    // every key this run linked something to
}

func (r *run) do(ctx context.Context) (Result, error) {
	var res Result
	p, err := r.x.Providers(r.in, r.x.Options)
	if err != nil {
		return res, err
	}
	r.links, _ = provider.Capability[provider.WebLinker](p)
	projects, err := r.x.projectKeys(ctx, r.reset)
	if err != nil {
		return res, err
	}
	r.matcher = issuekey.NewMatcher(projects)
	r.keys = map[string]bool{}
	// A reset reads the whole history again: its commands, never handed on
	// while smart commits were off, must not all act now.
	r.smart = r.in.Settings.SmartCommits && r.x.SmartCommits != nil && !r.reset

	mirror, ok := provider.Capability[provider.Mirrorer](p)
	if !ok {
		return res, fb.Errorf(fb.ENotSupported, "Integrations of kind %s cannot be indexed yet.", r.in.Kind)
	}
	remote, err := mirror.GitRemote(ctx, r.in.Credential, r.repo)
	if err != nil {
		return res, err
	}
	gr := gitmirror.Remote{URL: remote.URL, Header: remote.Header, ProxyURL: r.in.ProxyURL,
		InsecureSkipTLSVerify: r.in.InsecureSkipTLSVerify}
	if r.in.CABundle != "" {
		if gr.CAFile, err = r.x.caFile(r.in); err != nil {
			return res, err
		}
	}
	res.Took = map[string]time.Duration{}
	lap := time.Now()
	phase := func(name string) {
		now := time.Now()
		res.Took[name], lap = now.Sub(lap), now
	}
	m := r.x.Git.Mirror(r.x.MirrorDir(r.repo.ID))
	if err := m.Fetch(ctx, gr); err != nil {
		return res, describe(err, r.repo)
	}
	refs, err := m.Refs(ctx)
	if err != nil {
		return res, err
	}
	refs = r.usableRefs(refs)
	oldTips, pullsSince, err := r.x.Store.IndexTips(ctx, r.repo.ID)
	if err != nil {
		return res, err
	}

	phase("fetch")
	// Linked commits are written while git goes on: the database's time
	// overlaps git's and the tags' instead of adding to them.
	w := startWriter(ctx, r.x.Store, r.repo.ID, r.smartCommits)
	defer w.close()
	if err := r.commits(ctx, m, refs, oldTips, &res, w); err != nil {
		return res, err
	}
	phase("commits")
	tags, err := r.tags(ctx, m, refs, oldTips)
	if err != nil {
		return res, err
	}
	phase("tags")
	var newSince *time.Time
	if lister, ok := provider.Capability[provider.PullRequestLister](p); ok {
		skipper, _ := provider.Capability[provider.ClosedPullRequestSkipper](p)
		newSince, err = r.pulls(ctx, lister, skipper, pullsSince)
		if fb.ErrorCode(err) == fb.EProviderDenied {
			// Pull requests switched off for the repository (GitLab answers
			// 403): its git data is still worth having.
			r.x.log().Info("pull requests not readable; indexing git data only", "repository", r.repo.FullName, "err", err)
			newSince, err = pullsSince, nil
		}
		if err != nil {
			return res, err
		}
	}
	phase("pulls")
	if err := w.close(); err != nil {
		return res, err
	}
	phase("writes")
	st := r.state
	st.State, st.ErrorCode, st.ErrorMessage, st.RetryAt = fb.IndexIndexed, "", "", nil
	now := r.x.now()
	st.IndexedAt, st.UpdatedAt = &now, now
	if err := r.x.Store.FinishIndex(ctx, fb.IndexRun{RepositoryID: r.repo.ID, Owner: r.owner, StartedAt: r.started,
		Branches: r.branches(refs, oldTips), Tags: tags, Tips: refs, PullsSince: newSince, State: st}); err != nil {
		return res, err
	}
	phase("finish")
	// After the results are visible: on a first index this reads the whole
	// history once more. Later walks (and release ranges) need it; a run
	// that fails to write it has still indexed everything.
	if err := m.WriteCommitGraph(ctx); err != nil {
		r.x.log().Warn("the mirror's commit-graph was not written", "repository", r.repo.FullName, "err", err)
	}
	phase("graph")
	r.state = st
	for k := range r.keys {
		res.Keys = append(res.Keys, k)
	}
	sort.Strings(res.Keys)
	return res, nil
}

// commits reads every commit reachable from the refs and not from the tips
// of the last run, and records those that mention a key, in batches.
func (r *run) commits(ctx context.Context, m *gitmirror.Mirror, refs, oldTips map[string]string, res *Result, w *writer) error {
	include := distinct(refs)
	exclude := distinct(oldTips)
	batch := make([]fb.Commit, 0, batchSize)
	var smart []SmartCommit
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := w.send(ctx, writeBatch{batch, smart})
		batch, smart = make([]fb.Commit, 0, batchSize), nil // the writer owns the last ones
		return err
	}
	lastReport := time.Now()
	r.walk = nil
	log := m.Log
	if len(oldTips) == 0 {
		// A first index reads every commit of every tag: the tags' graph
		// and keys come from this one walk (children before parents), not
		// from a walk per tag, and nothing is kept per commit for them.
		r.walk = newTagWalk(refs)
		log = m.LogChildrenFirst
	}
	err := log(ctx, include, exclude, func(c gitmirror.Commit) error {
		res.Commits++
		r.state.Commits++
		keys := capKeys(r.matcher.Message(c.Message))
		if r.walk != nil {
			r.walk.visit(c.SHA, c.Parents, keys)
		}
		if len(keys) > 0 {
			res.Linked++
			for _, k := range keys {
				r.keys[k] = true
			}
			batch = append(batch, fb.Commit{RepositoryID: r.repo.ID, SHA: c.SHA, Message: storedMessage(c.Message),
				AuthorName: c.AuthorName, AuthorEmail: c.AuthorEmail, AuthoredAt: c.AuthoredAt.UTC(), Keys: keys})
			if r.smart {
				if cmds := smartCommands(func(msg string) []smartcommit.Command { return smartcommit.Parse(r.matcher, msg) }, c.Message, keys); len(cmds) > 0 {
					smart = append(smart, SmartCommit{Commit: batch[len(batch)-1], Commands: cmds})
				}
			}
			if len(batch) == batchSize {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if time.Since(lastReport) >= progressEvery {
			lastReport = time.Now()
			if err := flush(); err != nil {
				return err
			}
			r.state.UpdatedAt = r.x.now()
			return r.x.Store.PutIndexState(ctx, r.state)
		}
		return nil
	})
	if err != nil {
		return describe(err, r.repo)
	}
	return flush()
}

// writer writes batches of linked commits to the store in the background,
// one after another, at most writerQueue of them waiting: memory stays
// bounded, and a store slower than git holds git back. It hands each
// batch's smart commits on after the batch is written.
type writer struct {
	ch     chan writeBatch
	done   chan struct{}
	failed atomic.Bool
	err    error // the first failure; read after done
	closed bool
}

const writerQueue = 2

// writeBatch is linked commits and the smart commits among them.
type writeBatch struct {
	commits []fb.Commit
	smart   []SmartCommit
}

func startWriter(ctx context.Context, st Store, repositoryID string, smart func(context.Context, []SmartCommit) error) *writer {
	w := &writer{ch: make(chan writeBatch, writerQueue), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		for b := range w.ch {
			if w.err != nil {
				continue // drained: the run fails anyway
			}
			w.err = st.AddCommits(ctx, repositoryID, b.commits)
			if w.err == nil && len(b.smart) > 0 {
				w.err = smart(ctx, b.smart)
			}
			if w.err != nil {
				w.failed.Store(true)
			}
		}
	}()
	return w
}

// send hands a batch over; after a failed write it answers that failure,
// so the run stops reading.
func (w *writer) send(ctx context.Context, b writeBatch) error {
	if w.failed.Load() {
		return w.err // written once, before failed was set
	}
	select {
	case w.ch <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close waits for every batch sent to be written and answers the first
// failure. It may be called again.
func (w *writer) close() error {
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
	<-w.done
	return w.err
}

// maxRefName bounds the ref names kept: the store indexes them, and no
// host makes longer ones in practice.
const maxRefName = 1000

// usableRefs drops refs whose names cannot be stored or shown: not UTF-8,
// control characters, or longer than maxRefName. Their commits are still
// read (under a stand-in name), so that every run does not read them again.
func (r *run) usableRefs(refs map[string]string) map[string]string {
	out := make(map[string]string, len(refs))
	for ref, sha := range refs {
		if len(ref) <= maxRefName && utf8.ValidString(ref) && !strings.ContainsFunc(ref, unicode.IsControl) {
			out[ref] = sha
			continue
		}
		sum := sha256.Sum256([]byte(ref))
		r.x.log().Warn("a ref name that cannot be stored is left out", "repository", r.repo.FullName, "length", len(ref))
		out["refs/forgebridge/unusable/"+hex.EncodeToString(sum[:8])] = sha
	}
	return out
}

// maxKeys bounds the keys one commit, branch or pull request is linked to:
// a message naming thousands of keys is an attack, not work on them.
const maxKeys = 50

func capKeys(keys []string) []string { return keys[:min(len(keys), maxKeys)] }

// maxMessage bounds a stored commit message. git compresses a huge message
// to almost nothing, so without a bound a small push could fill the
// database and every issue page that lists the commit.
const maxMessage = 64 << 10

// storedMessage is a message as kept: without git's final newline, cut at
// maxMessage (on a character boundary) with a note saying so.
func storedMessage(msg string) string {
	msg = strings.TrimRight(msg, "\n")
	if len(msg) <= maxMessage {
		return msg
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "\n\n[… cut by forgebridge: the message is longer than 64 KiB]"
}

// branches are the refs/heads whose names mention a key.
func (r *run) branches(refs, oldTips map[string]string) []fb.LinkedRef {
	var out []fb.LinkedRef
	for ref, sha := range refs {
		name, ok := strings.CutPrefix(ref, "refs/heads/")
		if !ok {
			continue
		}
		keys := capKeys(r.matcher.Branch(name))
		if len(keys) == 0 {
			continue
		}
		if oldTips[ref] != sha { // new or moved: the tracker's links change
			for _, k := range keys {
				r.keys[k] = true
			}
		}
		l := fb.LinkedRef{GitRef: fb.GitRef{Name: name, SHA: sha}, Keys: keys}
		if r.links != nil {
			l.WebURL = provider.SafeWebURL(r.links.BranchURL(r.repo, name))
		}
		out = append(out, l)
	}
	for ref := range oldTips {
		if name, ok := strings.CutPrefix(ref, "refs/heads/"); ok && refs[ref] == "" {
			for _, k := range capKeys(r.matcher.Branch(name)) { // deleted: its links go
				r.keys[k] = true
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// tags adds the tags new or moved since the last run to the tags' graph:
// each tagged commit with the keys of its own commits (those no tag below it
// contains) and its nearest tagged ancestors. A first index builds it in the
// commit pass. A later run walks once from the new tags, children first,
// with every tag marked, and stops when nothing left to read can add to a
// new tag: below the tags of earlier runs, all of it belongs to them. A
// release contains every key of its history: the tracker's links do not
// change with it, so Linked is not told.
func (r *run) tags(ctx context.Context, m *gitmirror.Mirror, refs, oldTips map[string]string) ([]fb.TaggedCommit, error) {
	var fresh []string // commits of tags new or moved
	for ref, sha := range refs {
		if strings.HasPrefix(ref, "refs/tags/") && oldTips[ref] != sha && !slices.Contains(fresh, sha) {
			fresh = append(fresh, sha)
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	if r.walk != nil {
		return r.walk.result()
	}
	sort.Strings(fresh)
	w := newTagWalk(refs)
	w.only(fresh)
	err := m.LogChildrenFirst(ctx, fresh, nil, func(c gitmirror.Commit) error {
		w.visit(c.SHA, c.Parents, capKeys(r.matcher.Message(c.Message)))
		if w.done() {
			return errWalked
		}
		return nil
	})
	if err != nil && !errors.Is(err, errWalked) {
		return nil, describe(err, r.repo)
	}
	return w.result()
}

// errWalked stops a walk that has read all it needs.
var errWalked = errors.New("walk complete")

// pulls reads the pull requests updated since the last run (all of them
// the first time) and links each to the keys of its title, description and
// source branch. It returns where the next run may start.
func (r *run) pulls(ctx context.Context, lister provider.PullRequestLister, skipper provider.ClosedPullRequestSkipper, since *time.Time) (*time.Time, error) {
	from := time.Time{}
	if since != nil {
		from = since.Add(-pullsOverlap)
	}
	started := r.started
	var batch []fb.IndexedPullRequest
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := r.x.Store.PutPullRequests(ctx, r.repo.ID, batch)
		batch = batch[:0]
		return err
	}
	list := func(fn func(fb.PullRequest) error) error {
		return lister.PullRequests(ctx, r.in.Credential, r.repo, from, fn)
	}
	if skipper != nil {
		// Closed ones the store knows are not read again (CodeCommit).
		closed, err := r.x.Store.ClosedPullRequests(ctx, r.repo.ID)
		if err != nil {
			return nil, err
		}
		list = func(fn func(fb.PullRequest) error) error {
			return skipper.PullRequestsSkipping(ctx, r.in.Credential, r.repo, closed, fn)
		}
	}
	err := list(func(pr fb.PullRequest) error {
		keys := r.matcher.Message(pr.Title)
		keys = appendNew(keys, r.matcher.Message(pr.Description)...)
		keys = capKeys(appendNew(keys, r.matcher.Branch(pr.SourceBranch)...))
		for _, k := range keys {
			r.keys[k] = true
		}
		pr.WebURL = provider.SafeWebURL(pr.WebURL)
		batch = append(batch, fb.IndexedPullRequest{PullRequest: pr, Keys: keys})
		if len(batch) == batchSize {
			return flush()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &started, flush()
}

// caFile writes the integration's CA bundle where git can read it. It is
// no secret; the file is named by its content so a change makes a new one.
func (x *Indexer) caFile(in fb.Integration) (string, error) {
	sum := sha256.Sum256([]byte(in.CABundle))
	dir := filepath.Join(x.Dir, "mirrors", "ca")
	path := filepath.Join(dir, safeName(in.ID)+"-"+hex.EncodeToString(sum[:8])+".pem")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "ca-*.tmp")
	if err != nil {
		return "", err
	}
	_, err = f.WriteString(in.CABundle)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return path, nil
}

// describe names the repository in a git error that does not already say
// what went wrong in a person's words.
func describe(err error, repo fb.Repository) error {
	e := fb.AsError(err)
	if e == nil || errors.Is(err, context.Canceled) {
		return err
	}
	if !strings.Contains(e.Message, repo.FullName) {
		e2 := *e
		e2.Message = fmt.Sprintf("Fetching %s: %s", repo.FullName, e.Message)
		return &e2
	}
	return err
}

func distinct(refs map[string]string) []string {
	seen := make(map[string]bool, len(refs))
	out := make([]string, 0, len(refs))
	for _, sha := range refs {
		if !seen[sha] {
			seen[sha] = true
			out = append(out, sha)
		}
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func appendNew(keys []string, more ...string) []string {
	for _, k := range more {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// tagWalk builds the tags' graph during a walk that lists every commit
// before its parents. A tagged commit's own commits are those it is a
// minimal containing tag of (no tag below it contains them too), and its
// parents in the graph are the tagged commits among its own: so each
// commit carries down to its parents the minimal tags containing it, and
// only the commits whose children have been read but they not yet (the
// walk's frontier) hold anything.
type tagWalk struct {
	tag     map[string]int32 // tagged commit → its number
	shas    []string         // tagged commits by number
	keys    [][]int32        // each tag's own keys by number, with repeats until result
	parents [][]int32
	keyNum  map[string]int32 // each key once: a tag's keys are 4 bytes each
	keyName []string
	pending map[string][]int32 // commit not yet read → minimal tags containing it so far (never changed in place: shared)
	below   map[[2]int32]bool  // remembered answers of contains

	// With only: the tags wanted (the others' keys are not complete), how
	// many of them are still to be read, and how many pending commits a
	// wanted tag contains. When both are 0 nothing left to read is any
	// wanted tag's own.
	wanted       []bool
	unread, live int
}

func newTagWalk(refs map[string]string) *tagWalk {
	w := &tagWalk{tag: map[string]int32{}, pending: map[string][]int32{}, below: map[[2]int32]bool{}, keyNum: map[string]int32{}}
	for ref, sha := range refs {
		if _, dup := w.tag[sha]; strings.HasPrefix(ref, "refs/tags/") && !dup {
			w.tag[sha] = int32(len(w.shas))
			w.shas = append(w.shas, sha)
			w.keys = append(w.keys, nil)
			w.parents = append(w.parents, nil)
		}
	}
	return w
}

// only restricts result to the tags on shas, and lets done tell when the
// walk has read all of their own commits.
func (w *tagWalk) only(shas []string) {
	w.wanted = make([]bool, len(w.shas))
	for _, sha := range shas {
		if t, ok := w.tag[sha]; ok && !w.wanted[t] {
			w.wanted[t] = true
			w.unread++
		}
	}
}

// done reports whether the tags given to only have all their own commits read.
func (w *tagWalk) done() bool { return w.wanted != nil && w.unread == 0 && w.live == 0 }

// hasWanted reports whether tags holds a tag given to only.
func (w *tagWalk) hasWanted(tags []int32) bool {
	return w.wanted != nil && slices.ContainsFunc(tags, func(t int32) bool { return w.wanted[t] })
}

// visit reads one commit, after all of its children.
func (w *tagWalk) visit(sha string, parents, keys []string) {
	in := w.pending[sha]
	delete(w.pending, sha)
	if w.hasWanted(in) {
		w.live--
	}
	if t, ok := w.tag[sha]; ok {
		if w.wanted != nil && w.wanted[t] {
			w.unread--
		}
		for _, d := range in {
			w.parents[d] = append(w.parents[d], t)
		}
		in = []int32{t}
	}
	if len(in) == 0 {
		return // no tag contains it
	}
	for _, k := range keys {
		n, ok := w.keyNum[k]
		if !ok {
			n = int32(len(w.keyName))
			w.keyNum[k] = n
			w.keyName = append(w.keyName, k)
		}
		for _, t := range in {
			w.keys[t] = append(w.keys[t], n)
		}
	}
	for _, p := range parents {
		old := w.pending[p]
		now := w.union(old, in)
		w.pending[p] = now
		if w.hasWanted(old) {
			w.live--
		}
		if w.hasWanted(now) {
			w.live++
		}
	}
}

// union is the minimal tags of a ∪ b: a tag containing another of them
// goes. Every tag involved has been read, and with it every edge of the
// graph between them.
func (w *tagWalk) union(a, b []int32) []int32 {
	if len(a) == 0 || slices.Equal(a, b) {
		return b
	}
	all := slices.Concat(a, b)
	slices.Sort(all)
	all = slices.Compact(all)
	out := all[:0:0]
	for _, t := range all {
		if !slices.ContainsFunc(all, func(u int32) bool { return u != t && w.contains(t, u) }) {
			out = append(out, t)
		}
	}
	return out
}

// contains answers whether tag u is below tag t in the graph.
func (w *tagWalk) contains(t, u int32) bool {
	if v, ok := w.below[[2]int32{t, u}]; ok {
		return v
	}
	found := false
	for _, p := range w.parents[t] {
		if p == u || w.contains(p, u) {
			found = true
			break
		}
	}
	w.below[[2]int32{t, u}] = found
	return found
}

// result is the graph: every tagged commit with its own commits' keys and
// its parents.
func (w *tagWalk) result() ([]fb.TaggedCommit, error) {
	out := make([]fb.TaggedCommit, 0, len(w.shas))
	for i, sha := range w.shas {
		if w.wanted != nil && !w.wanted[i] {
			continue
		}
		var parents []string
		for _, p := range w.parents[i] {
			parents = append(parents, w.shas[p])
		}
		sort.Strings(parents)
		keys := make([]string, 0, len(w.keys[i]))
		for _, n := range w.keys[i] {
			keys = append(keys, w.keyName[n])
		}
		slices.Sort(keys)
		out = append(out, fb.TaggedCommit{SHA: sha, Keys: slices.Compact(keys), Parents: slices.Compact(parents)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SHA < out[j].SHA })
	return out, nil
}
