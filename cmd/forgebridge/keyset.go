package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

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
