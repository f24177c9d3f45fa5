package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/secret"
	"github.com/forgebridge/forgebridge/internal/store"
)

const keysetJSONEnv = "FORGEBRIDGE_KEYSET_JSON"

// keysetSource names where the keyset comes from, for messages.
func (c config) keysetSource() string {
	if c.keysetJSON != "" {
		return keysetJSONEnv
	}
	return c.keysetPath()
}

// openKeyed opens the keyset and the store on dsn, and checks that the
// keyset is the database's: it opens the database's check value (sealing
// one, for a database made before it existed, once every stored secret
// opens). A keyset is generated only when the file is missing and the
// database is unused; for a database in use a missing keyset file is an
// error, never a new keyset.
func (c config) openKeyed(ctx context.Context, dsn string) (*store.Store, *secret.Keyset, error) {
	if c.keysetJSON != "" && c.keyset != "" {
		return nil, nil, fmt.Errorf("the keyset is given twice, as the file %s (--keyset or FORGEBRIDGE_KEYSET) and in %s; give one", c.keyset, keysetJSONEnv)
	}
	var ks *secret.Keyset
	var err error
	missing := false
	if c.keysetJSON != "" {
		ks, err = secret.Parse([]byte(c.keysetJSON), keysetJSONEnv)
	} else if ks, err = secret.Open(c.keysetPath(), false); errors.Is(err, fs.ErrNotExist) {
		missing = true
		ks, err = secret.Generate() // kept in memory until the database is known to be unused
	}
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, dsn, ks)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the database: %w", err)
	}
	wrote := false
	fail := func(err error) (*store.Store, *secret.Keyset, error) {
		st.Close()
		if wrote && fb.ErrorCode(err) == fb.EInvalid {
			// Another process sealed the check value first with its own
			// keyset: the file made here is no keyset of this database.
			os.Remove(c.keysetPath())
		}
		return nil, nil, err
	}
	if missing {
		unused, err := st.Unused(ctx)
		if err != nil {
			return fail(err)
		}
		if !unused {
			return fail(fmt.Errorf("the keyset file %s does not exist, but the database %s is in use already: a new keyset could not open what it holds. "+
				"Restore the keyset file from a backup, give its path with --keyset (FORGEBRIDGE_KEYSET) or its JSON in %s",
				c.keysetPath(), displayDatabase(dsn), keysetJSONEnv))
		}
		if wrote, err = ks.Create(c.keysetPath()); err != nil {
			return fail(err)
		}
	}
	if err := st.EnsureKeysetCheck(ctx); err != nil {
		if fb.ErrorCode(err) == fb.EInvalid {
			return fail(fb.Errorf(fb.EInvalid, "The keyset %s cannot open the check value of the database %s: it is not the keyset this database was created with "+
				"(instances of one database share one keyset: the same file, or its JSON in %s).", c.keysetSource(), displayDatabase(dsn), keysetJSONEnv))
		}
		return fail(fmt.Errorf("the keyset %s cannot decrypt the stored credentials (is it the keyset this database was used with?): %w", c.keysetSource(), err))
	}
	return st, ks, nil
}

// displayDatabase names a database for a message: a PostgreSQL URL without
// its password, or the SQLite path.
func displayDatabase(dsn string) string {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "(the configured PostgreSQL database)"
	}
	return u.Redacted()
}

// errKeysetReadOnly refuses to change a keyset given as JSON in the
// environment: the change must go to a file that every instance reads.
func errKeysetReadOnly(what string) error {
	return fmt.Errorf("%s writes the keyset file, and the keyset here comes from %s, which it cannot change: "+
		"run it with --keyset FILE (a file holding that keyset) and without %s, then give every instance the new file's JSON",
		what, keysetJSONEnv, keysetJSONEnv)
}

// keysetPoll is how often a server reads its keyset file for a rotation:
// API.md promises a changed file is in use within 10 seconds. A variable
// for the test of SIGHUP.
var keysetPoll = 2 * time.Second

// resealEvery is how often a server looks for stored values sealed by a key
// other than the primary, besides at start and after each reload.
const resealEvery = 10 * time.Minute

// keepKeyset runs, until ctx ends, what keeps a server's keyset in step
// without a restart: it reloads the keyset file (every keysetPoll, at once
// on SIGHUP, and whenever a value of a key it lacks turns up) and re-seals
// stored values under the primary key in the background.
func keepKeyset(ctx context.Context, c config, st *store.Store, ks *secret.Keyset, log *slog.Logger) {
	kick := make(chan struct{}, 1)
	poke := func() {
		select {
		case kick <- struct{}{}:
		default: // a run is due already
		}
	}
	go reseal(ctx, st, kick, log)
	poke()
	if c.keysetJSON != "" {
		return // nothing to reload: a new keyset comes with a restart
	}
	r := &secret.Reloader{Keyset: ks, Path: c.keysetPath(), Logger: log, Changed: poke,
		Verify: func(ctx context.Context, cand *secret.Keyset) error { return st.CheckKeyset(ctx, cand) }}
	r.Install()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	every := keysetPoll
	go func() {
		defer signal.Stop(hup)
		r.Run(ctx, every, hup)
	}()
}

// reseal re-seals stored values sealed by an older key, when kicked and
// every resealEvery. Each instance may do it: the updates are
// compare-and-set, so instances running together only repeat a little work.
func reseal(ctx context.Context, st *store.Store, kick <-chan struct{}, log *slog.Logger) {
	t := time.NewTicker(resealEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-kick:
		case <-t.C:
		}
		n, err := st.ResealSecrets(ctx)
		if n > 0 {
			log.Info("stored values re-sealed under the primary key", "values", n)
		}
		if err != nil && ctx.Err() == nil {
			log.Error("re-sealing stored values failed; tried again later", "err", fb.ErrorMessage(err))
		}
	}
}

// keyUse is one line of `keys list`.
type keyUse struct {
	ID      string `json:"id"`
	Primary bool   `json:"primary"`
	Values  int    `json:"values"`
}

func cmdKeysList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := newFlags("keys list", getenv, stderr, &c)
	asJSON := fs.Bool("json", false, "print JSON: [{id, primary, values}]")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("keys list takes no arguments, got %q", pos)
	}
	st, ks, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	use, err := st.KeyUsage(ctx)
	if err != nil {
		return err
	}
	list := []keyUse{}
	for _, id := range ks.KeyIDs() {
		list = append(list, keyUse{ID: strconv.FormatUint(uint64(id), 10), Primary: id == ks.PrimaryKeyID(), Values: use[id]})
		delete(use, id)
	}
	for id, n := range use { // sealed by a key the keyset lacks: they cannot be opened
		fmt.Fprintf(stderr, "warning: %d stored values are sealed by key %d, which the keyset %s does not hold\n", n, id, c.keysetSource())
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(list)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tPRIMARY\tVALUES")
	for _, k := range list {
		primary := ""
		if k.Primary {
			primary = "primary"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\n", k.ID, primary, k.Values)
	}
	return tw.Flush()
}

func cmdKeysRetire(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := newFlags("keys retire", getenv, stderr, &c)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("keys retire needs exactly one KEYID argument (as keys list shows it)")
	}
	id, err := strconv.ParseUint(pos[0], 10, 32)
	if err != nil {
		return fmt.Errorf("%q is not a key id; keys list shows them", pos[0])
	}
	if c.keysetJSON != "" || c.keysetJSONErr != nil {
		return errKeysetReadOnly("keys retire")
	}
	st, ks, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	use, err := st.KeyUsage(ctx)
	if err != nil {
		return err
	}
	if n := use[uint32(id)]; n > 0 {
		return fb.Errorf(fb.EInvalid, "Key %d still seals %d stored values, which could no longer be opened without it. "+
			"Running servers re-seal them under the primary key in the background; retire the key once `forgebridge keys list` shows 0.", id, n)
	}
	err = ks.Retire(c.keysetPath(), uint32(id))
	if aerr := auditKeys(ctx, st, fb.AuditKeysRetire, keyTarget(uint32(id)), err); aerr != nil && err == nil {
		err = fmt.Errorf("key %d retired, but the audit entry was not written: %w", id, aerr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "key %d retired; running servers drop it within 10 seconds (at once on SIGHUP)\n", id)
	return nil
}
