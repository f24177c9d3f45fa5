package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/forgebridge/forgebridge/internal/secret"
	"github.com/forgebridge/forgebridge/internal/store"
)

// config is what every command needs to reach the database and the keyset.
type config struct {
	data, database, keyset string
	// databaseFile names a file holding the database DSN, which may carry
	// a password that belongs in no flag nor environment variable.
	databaseFile string
	// keysetJSON is the keyset itself, from FORGEBRIDGE_KEYSET_JSON or the
	// file FORGEBRIDGE_KEYSET_JSON_FILE names (read-only: rotating needs the
	// file); keysetJSONErr is why it could not be read.
	keysetJSON    string
	keysetJSONErr error

	// create lets the command make a new database; only serve (and demo)
	// do so without being asked.
	create bool
}

// newFlags makes a flag set with the shared --data, --database and --keyset,
// each defaulting to its environment variable.
func newFlags(name string, getenv func(string) string, stderr io.Writer, c *config) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.data, "data", envOr(getenv, "FORGEBRIDGE_DATA", "./forgebridge-data"), "data directory")
	fs.StringVar(&c.database, "database", getenv("FORGEBRIDGE_DATABASE"), "database: an SQLite file (default DATA/forgebridge.db) or a postgres:// DSN (one with a password: use --database-file)")
	fs.StringVar(&c.databaseFile, "database-file", getenv("FORGEBRIDGE_DATABASE_FILE"), "a file holding the --database value, e.g. a postgres:// DSN with its password")
	fs.StringVar(&c.keyset, "keyset", getenv("FORGEBRIDGE_KEYSET"), "keyset file (default DATA/keyset.json, unless FORGEBRIDGE_KEYSET_JSON holds the keyset)")
	c.keysetJSON, c.keysetJSONErr = secretEnv(getenv, keysetJSONEnv)

	if name != "serve" {
		fs.BoolVar(&c.create, "create", false, "create and migrate the database if there is none yet")
	}
	return fs
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// envDuration reads a duration from the environment, else def.
func envDuration(getenv func(string) string, key string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(getenv(key)); err == nil {
		return d
	}
	return def
}

// parse parses flags that may come before or after positional arguments,
// and returns the positional ones.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// open opens the keyset and the database, creating and migrating it, and
// checks that the keyset is the database's (openKeyed).
func (c config) open(ctx context.Context) (*store.Store, *secret.Keyset, error) {
	dsn, err := c.dsn()
	if err != nil {
		return nil, nil, err
	}
	if c.keysetJSONErr != nil {
		return nil, nil, c.keysetJSONErr
	}
	if !c.create {
		exists, err := store.Exists(ctx, dsn)
		if err != nil {
			return nil, nil, err
		}
		if !exists {
			return nil, nil, fmt.Errorf("there is no forgebridge database at %s (check --data or --database); "+
				"`forgebridge serve` creates one, or give --create to create it here", store.DisplayDSN(dsn))
		}
	}
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return nil, nil, fmt.Errorf("cannot create the data directory: %w", err)
	}
	return c.openKeyed(ctx, dsn)
}

// dsn is the database to open: --database, the content of --database-file,
// or the SQLite file in the data directory.
func (c config) dsn() (string, error) {
	switch {
	case c.database != "" && c.databaseFile != "":
		return "", fmt.Errorf("give the database with --database (FORGEBRIDGE_DATABASE) or --database-file (FORGEBRIDGE_DATABASE_FILE), not both")
	case c.databaseFile != "":
		dsn, err := readSecretFile("--database-file", c.databaseFile)
		if err == nil && dsn == "" {
			err = fmt.Errorf("the --database-file %s is empty", c.databaseFile)
		}
		return dsn, err
	case c.database != "":
		return c.database, nil
	}
	return filepath.Join(c.data, "forgebridge.db"), nil
}

// secretEnv reads a secret from the environment variable key, or from the
// file that key_FILE names (a container secret, a systemd credential), which
// keeps it out of the process environment. Setting both is refused rather
// than one silently winning. Surrounding white space, such as a file's final
// newline, is dropped.
func secretEnv(getenv func(string) string, key string) (string, error) {
	v, file := strings.TrimSpace(getenv(key)), getenv(key+"_FILE")
	switch {
	case v != "" && file != "":
		return "", fmt.Errorf("set %s or %s_FILE, not both", key, key)
	case file != "":
		return readSecretFile(key+"_FILE", file)
	}
	return v, nil
}

// readSecretFile reads a file holding one secret. Its errors name the file,
// never its content.
func readSecretFile(what, path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %w", what, err)
	}
	return strings.TrimSpace(string(b)), nil
}

func (c config) keysetPath() string {
	if c.keyset != "" {
		return c.keyset
	}
	return filepath.Join(c.data, "keyset.json")
}

// oneName returns the single positional argument NAME.
func oneName(pos []string, what string) (string, error) {
	if len(pos) != 1 || strings.TrimSpace(pos[0]) == "" {
		return "", fmt.Errorf("%s needs exactly one NAME argument", what)
	}
	return pos[0], nil
}
