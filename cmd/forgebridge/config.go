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
	fs.StringVar(&c.database, "database", getenv("FORGEBRIDGE_DATABASE"), "database: an SQLite file (default DATA/forgebridge.db) or a postgres:// DSN")
	fs.StringVar(&c.keyset, "keyset", getenv("FORGEBRIDGE_KEYSET"), "keyset file (default DATA/keyset.json)")
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

// open opens the keyset (creating it on first use) and the database,
// creating and migrating it, and checks that the keyset decrypts every
// stored secret.
func (c config) open(ctx context.Context) (*store.Store, *secret.Keyset, error) {
	dsn := c.database
	if dsn == "" {
		dsn = filepath.Join(c.data, "forgebridge.db")
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
	keysetPath := c.keysetPath()
	ks, err := secret.Open(keysetPath, true)
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, dsn, ks)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the database: %w", err)
	}
	if _, err := st.CheckSecrets(ctx); err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("the keyset %s cannot decrypt the stored credentials (is it the keyset this database was used with?): %w", keysetPath, err)
	}
	return st, ks, nil
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
