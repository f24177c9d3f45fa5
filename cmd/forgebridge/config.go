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
	// keysetJSON is the keyset itself, from FORGEBRIDGE_KEYSET_JSON
	// (read-only: rotating needs the file).
	keysetJSON string
}

// newFlags makes a flag set with the shared --data, --database and --keyset,
// each defaulting to its environment variable.
func newFlags(name string, getenv func(string) string, stderr io.Writer, c *config) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.data, "data", envOr(getenv, "FORGEBRIDGE_DATA", "./forgebridge-data"), "data directory")
	fs.StringVar(&c.database, "database", getenv("FORGEBRIDGE_DATABASE"), "database: an SQLite file (default DATA/forgebridge.db) or a postgres:// DSN")
	fs.StringVar(&c.keyset, "keyset", getenv("FORGEBRIDGE_KEYSET"), "keyset file (default DATA/keyset.json, unless FORGEBRIDGE_KEYSET_JSON holds the keyset)")
	c.keysetJSON = getenv("FORGEBRIDGE_KEYSET_JSON")
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
	if err := os.MkdirAll(c.data, 0o700); err != nil {
		return nil, nil, fmt.Errorf("cannot create the data directory: %w", err)
	}
	dsn := c.database
	if dsn == "" {
		dsn = filepath.Join(c.data, "forgebridge.db")
	}
	return c.openKeyed(ctx, dsn)
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
