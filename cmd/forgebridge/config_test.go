package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forgebridge/forgebridge/internal/secret"
)

// TestSecretEnv checks that every secret read from the environment can come
// from a file instead, and that setting both is refused.
func TestSecretEnv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte("  s3cret-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	for _, key := range []string{"FORGEBRIDGE_JIRA_TOKEN", "FORGEBRIDGE_JIRA_OAUTH_CLIENT_SECRET"} {
		tests := []struct {
			name    string
			env     map[string]string
			want    string
			wantErr string
		}{
			{name: "variable", env: map[string]string{key: " s3cret-from-env "}, want: "s3cret-from-env"},
			{name: "file", env: map[string]string{key + "_FILE": file}, want: "s3cret-from-file"},
			{name: "neither", env: map[string]string{}, want: ""},
			{name: "both", env: map[string]string{key: "a", key + "_FILE": file}, wantErr: "not both"},
			{name: "unreadable file", env: map[string]string{key + "_FILE": missing}, wantErr: "cannot read " + key + "_FILE"},
		}
		for _, tt := range tests {
			t.Run(key+"/"+tt.name, func(t *testing.T) {
				got, err := secretEnv(func(k string) string { return tt.env[k] }, key)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
					}
					return
				}
				if err != nil || got != tt.want {
					t.Fatalf("secretEnv = %q, %v; want %q", got, err, tt.want)
				}
			})
		}
	}
	// The Jira token is required; its file is one way to give it.
	if tok, err := jiraToken(func(k string) string {
		return map[string]string{"FORGEBRIDGE_JIRA_TOKEN_FILE": file}[k]
	}); err != nil || tok != "s3cret-from-file" {
		t.Errorf("jiraToken from its file = %q, %v", tok, err)
	}
	if _, err := jiraToken(func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "FORGEBRIDGE_JIRA_TOKEN_FILE") {
		t.Errorf("jiraToken without a token: %v", err)
	}
}

// TestDatabaseFile checks that the database DSN, which may hold a password,
// can be given in a file: the commands then use the database it names.
func TestDatabaseFile(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "elsewhere.db")
	dsnFile := filepath.Join(dir, "dsn")
	if err := os.WriteFile(dsnFile, []byte(db+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := newProgram(t, map[string]string{"FORGEBRIDGE_DATABASE_FILE": dsnFile})
	if _, err := p.cli("", "users", "add", "admin", "--admin", "--create"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("the database the file names was not used: %v", err)
	}
	if _, err := os.Stat(filepath.Join(p.env["FORGEBRIDGE_DATA"], "forgebridge.db")); err == nil {
		t.Errorf("the default database was made although the file named another")
	}
	// The flag does the same.
	if _, err := newProgram(t, nil).cli("", "tokens", "issue", "admin", "--database-file", dsnFile,
		"--keyset", filepath.Join(p.env["FORGEBRIDGE_DATA"], "keyset.json")); err != nil {
		t.Errorf("tokens issue with --database-file: %v", err)
	}

	tests := []struct {
		name    string
		c       config
		wantErr string
	}{
		{"both", config{database: db, databaseFile: dsnFile}, "not both"},
		{"unreadable", config{databaseFile: filepath.Join(dir, "missing")}, "cannot read --database-file"},
		{"empty", config{databaseFile: emptyFile(t)}, "is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.c.dsn(); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("dsn() error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func emptyFile(t *testing.T) string {
	f := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(f, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestKeysetJSON checks that the keyset can be given as its JSON in
// FORGEBRIDGE_KEYSET_JSON or the file FORGEBRIDGE_KEYSET_JSON_FILE names,
// for instances that get it from a secret store.
func TestKeysetJSON(t *testing.T) {
	dir := t.TempDir()
	keysetFile := filepath.Join(dir, "keyset.json")
	if _, err := secret.Open(keysetFile, true); err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(keysetFile)
	if err != nil {
		t.Fatal(err)
	}
	p := newProgram(t, map[string]string{"FORGEBRIDGE_KEYSET_JSON": string(js)})
	if _, err := p.cli("", "users", "add", "admin", "--admin", "--create"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(p.env["FORGEBRIDGE_DATA"], "keyset.json")); err == nil {
		t.Errorf("a keyset file was made although the keyset came from the environment")
	}
	// The same database opens with the keyset's file, given as a _FILE.
	delete(p.env, "FORGEBRIDGE_KEYSET_JSON")
	p.env["FORGEBRIDGE_KEYSET_JSON_FILE"] = keysetFile
	if _, err := p.cli("", "tokens", "issue", "admin"); err != nil {
		t.Errorf("tokens issue with FORGEBRIDGE_KEYSET_JSON_FILE: %v", err)
	}
	for _, tt := range []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"rotation needs the file", map[string]string{"FORGEBRIDGE_KEYSET_JSON": string(js)}, []string{"keys", "rotate"}, "without FORGEBRIDGE_KEYSET_JSON"},
		{"not with --keyset", map[string]string{"FORGEBRIDGE_KEYSET_JSON": string(js)}, []string{"tokens", "issue", "admin", "--keyset", keysetFile}, "give one"},
		{"not valid", map[string]string{"FORGEBRIDGE_KEYSET_JSON": `{"primaryKeyId": 1, "key": "s3cret-ish"}`}, []string{"tokens", "issue", "admin"}, "not a valid Tink JSON keyset"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := newProgram(t, tt.env)
			q.env["FORGEBRIDGE_DATA"] = p.env["FORGEBRIDGE_DATA"]
			_, err := q.cli("", tt.args...)
			if err == nil || !strings.Contains(message(err)+err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret-ish") || strings.Contains(err.Error(), string(js)) {
				t.Errorf("the error quotes the keyset: %v", err)
			}
		})
	}
}
