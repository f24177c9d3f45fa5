// Command forgebridge is the forgebridge service and its administrative
// commands. main only wires: run does the work, so tests can call it.
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"

	fb "github.com/forgebridge/forgebridge"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "forgebridge:", message(err))
		}
		os.Exit(exitCode(err))
	}
}

var errUsage = errors.New("usage")

func exitCode(err error) int {
	if errors.Is(err, errUsage) {
		return 2
	}
	return 1
}

// message is what a person reads of an error: a product error's message,
// else the error itself (the CLI's own errors carry no secrets).
func message(err error) string {
	if e := fb.AsError(err); e != nil {
		return e.Message
	}
	return err.Error()
}

const usage = `forgebridge: a bridge between issue trackers and git hosting services.

Usage:
  forgebridge demo [--addr A] [--data NEW-DIR]   (the server with a sample git host and sample data)
  forgebridge serve [--addr A] [--data DIR] [--database DSN] [--keyset FILE] [--tracker local] [--reindex 5m] [--trusted-proxies CIDRS] [--memory-limit 64MiB]
  forgebridge migrate [--data DIR] [--database DSN] [--keyset FILE]
  forgebridge users add NAME [--display-name S] [--admin] [--expires-in-days 90] [--create]
  forgebridge users passwd NAME            (the password is read from standard input, unechoed on a terminal)
  forgebridge users enrol NAME [--url URL] (prints a one-time link where NAME sets their own web password)
  forgebridge users deactivate NAME | users activate NAME | users delete NAME
  forgebridge users set-admin NAME --admin=true|false
  forgebridge tokens issue NAME [--name S] [--expires-in-days 90]   (0: never expires)
  forgebridge tokens list NAME | tokens revoke ID
  forgebridge keys rotate                 (a new primary key; servers pick it up and re-seal in the background)
  forgebridge keys list [--json]          (each key with how many stored values it seals)
  forgebridge keys retire KEYID           (removes a key no stored value uses)

Client commands (API token in FORGEBRIDGE_API_TOKEN, server in --server or FORGEBRIDGE_SERVER):
  forgebridge login jira                  (your Jira token from standard input; prints an API token)
  forgebridge api METHOD PATH [JSON-BODY]
  forgebridge repos [--project KEY] [--q TEXT]
  forgebridge issues [--repository ID] [--range FROM..TO] [--branch B] [--author A] [--since T] [--until T] [--pr-state S] [--format json|csv|markdown]
  forgebridge token set INTEGRATION-ID [--access-key]   (the token from standard input; empty removes it)
  forgebridge branch create ISSUE --repository ID [--name N] [--base B]
  forgebridge branch delete ISSUE --repository ID --name N
  forgebridge pr create ISSUE --repository ID [--source S] [--target T] [--title T] [--description D] [--draft]
  forgebridge reindex --repository ID | --integration ID [--reset]   (admins; queues index runs)

The administrative commands take --data, --database and --keyset; each flag
also reads FORGEBRIDGE_<FLAG> from the environment (FORGEBRIDGE_DATABASE, …).
They work on an existing database and refuse when there is none, unless
given --create; serve creates a new one itself.
`

// run runs one command line.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, getenv, stderr)
	case "demo":
		return cmdDemo(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "users":
		if len(rest) > 0 && rest[0] == "add" {
			return cmdUsersAdd(ctx, rest[1:], getenv, stdout, stderr)
		}
		if len(rest) > 0 && rest[0] == "passwd" {
			return cmdUsersPasswd(ctx, rest[1:], getenv, stdin, stdout, stderr)
		}
		if len(rest) > 0 && (rest[0] == "activate" || rest[0] == "deactivate" || rest[0] == "set-admin") {
			return cmdUsersPatch(ctx, rest[0], rest[1:], getenv, stderr)
		}
		if len(rest) > 0 && rest[0] == "delete" {
			return cmdUsersDelete(ctx, rest[1:], getenv, stderr)
		}
		if len(rest) > 0 && rest[0] == "enrol" {
			return cmdUsersEnrol(ctx, rest[1:], getenv, stdout, stderr)
		}
	case "tokens":
		if len(rest) > 0 && rest[0] == "issue" {
			return cmdTokensIssue(ctx, rest[1:], getenv, stdout, stderr)
		}
		if len(rest) > 0 && rest[0] == "list" {
			return cmdTokensList(ctx, rest[1:], getenv, stdout, stderr)
		}
		if len(rest) > 0 && rest[0] == "revoke" {
			return cmdTokensRevoke(ctx, rest[1:], getenv, stderr)
		}
	case "keys":
		if len(rest) > 0 && rest[0] == "rotate" {
			return cmdKeysRotate(ctx, rest[1:], getenv, stdout, stderr)
		}
		if len(rest) > 0 && rest[0] == "list" {
			return cmdKeysList(ctx, rest[1:], getenv, stdout, stderr)
		}
		if len(rest) > 0 && rest[0] == "retire" {
			return cmdKeysRetire(ctx, rest[1:], getenv, stdout, stderr)
		}
	case "login":
		if len(rest) > 0 && rest[0] == "jira" {
			return cmdLoginJira(ctx, rest[1:], getenv, stdin, stdout, stderr)
		}
	case "api":
		return cmdAPI(ctx, rest, getenv, stdout, stderr)
	case "repos":
		return cmdRepos(ctx, rest, getenv, stdout, stderr)
	case "issues":
		return cmdIssues(ctx, rest, getenv, stdout, stderr)
	case "token":
		if len(rest) > 0 && rest[0] == "set" {
			return cmdTokenSet(ctx, rest[1:], getenv, stdin, stdout, stderr)
		}
	case "branch":
		if len(rest) > 0 && rest[0] == "create" {
			return cmdBranchCreate(ctx, rest[1:], getenv, stdout, stderr)
		}
		if len(rest) > 0 && rest[0] == "delete" {
			return cmdBranchDelete(ctx, rest[1:], getenv, stdout, stderr)
		}
	case "pr":
		if len(rest) > 0 && rest[0] == "create" {
			return cmdPullRequestCreate(ctx, rest[1:], getenv, stdout, stderr)
		}
	case "reindex":
		return cmdReindex(ctx, rest, getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		printFlags(ctx, stdout)
		return nil
	}
	fmt.Fprintf(stderr, "forgebridge: unknown command %q\n\n%s", cmd, usage)
	return errUsage
}

// printFlags lists the flags of every command named in the usage text, as
// each command's own -h prints them. Defaults are shown as they are without
// environment variables, so no configured value (a DSN's password) is printed.
func printFlags(ctx context.Context, w io.Writer) {
	noEnv := func(string) string { return "" }
	for _, cmd := range usageCommands() {
		var out bytes.Buffer
		_ = run(ctx, append(cmd, "-h"), noEnv, strings.NewReader(""), &out, &out)
		flags := out.String()
		if i := strings.Index(flags, "\n"); strings.HasPrefix(flags, "Usage of ") && i >= 0 {
			flags = flags[i+1:]
		}
		if strings.TrimSpace(flags) == "" {
			continue
		}
		fmt.Fprintf(w, "\nforgebridge %s flags:\n%s", strings.Join(cmd, " "), flags)
	}
}

// usageCommands are the commands of the usage text: the lower-case words
// after "forgebridge" up to the first argument or flag.
func usageCommands() [][]string {
	var cmds [][]string
	for _, line := range strings.Split(usage, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "forgebridge" || !strings.HasPrefix(line, "  ") {
			continue
		}
		var cmd []string
		for _, w := range f[1:] {
			if w != strings.ToLower(w) || strings.ContainsAny(w, "[-(") {
				break
			}
			cmd = append(cmd, w)
		}
		if len(cmd) > 0 {
			cmds = append(cmds, cmd)
		}
	}
	return cmds
}

// warnLoopback warns when the public URL is a loopback address: pull request
// descriptions and Jira issues would link to an address only this machine reaches.
func warnLoopback(log *slog.Logger, publicURL string) {
	u, err := url.Parse(publicURL)
	if err != nil {
		return
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || ip != nil && ip.IsLoopback() {
		log.Warn("the public URL is a loopback address: links in pull request descriptions and issues will not work "+
			"from other machines; set --public-url (FORGEBRIDGE_PUBLIC_URL) to the address people reach forgebridge at",
			"public_url", publicURL)
	}
}
