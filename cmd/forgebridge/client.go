package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// client is the API client behind the CLI's client commands. The API token
// comes from FORGEBRIDGE_API_TOKEN or the file FORGEBRIDGE_API_TOKEN_FILE
// names, never from a flag, so it stays out of process listings.
type client struct {
	server string
	token  string
	http   *http.Client
}

func newClient(fs *flag.FlagSet, getenv func(string) string) func() (*client, error) {
	server := fs.String("server", envOr(getenv, "FORGEBRIDGE_SERVER", "http://127.0.0.1:8080"), "forgebridge's address")
	return func() (*client, error) {
		token := strings.TrimSpace(getenv("FORGEBRIDGE_API_TOKEN"))
		if f := getenv("FORGEBRIDGE_API_TOKEN_FILE"); token == "" && f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("cannot read FORGEBRIDGE_API_TOKEN_FILE: %w", err)
			}
			token = strings.TrimSpace(string(b))
		}
		if token == "" {
			return nil, errors.New("set FORGEBRIDGE_API_TOKEN (or FORGEBRIDGE_API_TOKEN_FILE) to your forgebridge API token")
		}
		if _, err := url.Parse(*server); err != nil {
			return nil, fmt.Errorf("--server: %w", err)
		}
		return &client{server: strings.TrimRight(*server, "/"), token: token, http: &http.Client{Timeout: 60 * time.Second}}, nil
	}
}

// do sends one request and writes the answer's JSON, indented, to out. An
// error answer becomes an error carrying the API's message and code.
func (c *client) do(ctx context.Context, method, path string, body any, out io.Writer) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.server+path, rd)
	if err != nil {
		return err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach forgebridge at %s: %w", c.server, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 400 {
		var e struct {
			Error struct{ Code, Message string }
		}
		if json.Unmarshal(raw, &e) == nil && e.Error.Code != "" {
			return fmt.Errorf("%s (%s, HTTP %d)", e.Error.Message, e.Error.Code, resp.StatusCode)
		}
		return fmt.Errorf("HTTP %d from %s %s", resp.StatusCode, method, path)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, raw, "", "  ") != nil {
		_, err = out.Write(raw)
		return err
	}
	pretty.WriteByte('\n')
	_, err = out.Write(pretty.Bytes())
	return err
}

// cmdAPI sends any request: forgebridge api METHOD PATH [JSON-BODY].
func cmdAPI(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connect := newClient(fs, getenv)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 || len(pos) > 3 || !strings.HasPrefix(pos[1], "/") {
		return errors.New("api takes METHOD PATH [JSON-BODY], e.g. api GET /api/v1/me")
	}
	var body any
	if len(pos) == 3 {
		if err := json.Unmarshal([]byte(pos[2]), &body); err != nil {
			return fmt.Errorf("the body is not JSON: %w", err)
		}
	}
	c, err := connect()
	if err != nil {
		return err
	}
	return c.do(ctx, strings.ToUpper(pos[0]), pos[1], body, stdout)
}

// cmdBranchCreate: forgebridge branch create ISSUE --repository ID [--name N] [--base B].
func cmdBranchCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("branch create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connect := newClient(fs, getenv)
	repo := fs.String("repository", "", "the repository id (see `forgebridge repos`)")
	name := fs.String("name", "", "branch name (default: from the template)")
	base := fs.String("base", "", "base branch (default: the repository's default branch)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	issue, err := oneName(pos, "branch create")
	if err != nil {
		return err
	}
	c, err := connect()
	if err != nil {
		return err
	}
	return c.do(ctx, "POST", "/api/v1/issues/"+url.PathEscape(issue)+"/branches",
		map[string]any{"repositoryId": *repo, "name": *name, "baseBranch": *base}, stdout)
}

// cmdPullRequestCreate: forgebridge pr create ISSUE --repository ID [--source S] [--target T] [--title T] [--description D] [--draft].
func cmdPullRequestCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("pr create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connect := newClient(fs, getenv)
	repo := fs.String("repository", "", "the repository id (see `forgebridge repos`)")
	source := fs.String("source", "", "source branch (default: the first branch naming the issue)")
	target := fs.String("target", "", "target branch (default: the repository's default branch)")
	title := fs.String("title", "", "title (default: KEY summary)")
	description := fs.String("description", "", "description (a link to the issue is appended)")
	draft := fs.Bool("draft", false, "open it as a draft where the provider has drafts")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	issue, err := oneName(pos, "pr create")
	if err != nil {
		return err
	}
	c, err := connect()
	if err != nil {
		return err
	}
	return c.do(ctx, "POST", "/api/v1/issues/"+url.PathEscape(issue)+"/pull-requests",
		map[string]any{"repositoryId": *repo, "sourceBranch": *source, "targetBranch": *target, "title": *title,
			"description": *description, "draft": *draft}, stdout)
}

// cmdRepos lists the repositories the caller may see, every page.
func cmdRepos(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("repos", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connect := newClient(fs, getenv)
	project := fs.String("project", "", "only those of this project")
	text := fs.String("q", "", "only those whose full name contains this")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	c, err := connect()
	if err != nil {
		return err
	}
	q := url.Values{"limit": {"1000"}}
	if *project != "" {
		q.Set("project", *project)
	}
	if *text != "" {
		q.Set("q", *text)
	}
	return c.do(ctx, "GET", "/api/v1/repositories?"+q.Encode(), nil, stdout)
}

// cmdTokenSet saves the caller's token for an integration, read from the
// first line of standard input (two lines, access key id then secret, for
// CodeCommit with --access-key); an empty line removes it.
func cmdTokenSet(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("token set", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connect := newClient(fs, getenv)
	accessKey := fs.Bool("access-key", false, "read an access key id and a secret access key (CodeCommit), one per line")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	integration, err := oneName(pos, "token set")
	if err != nil {
		return err
	}
	in := bufio.NewReader(stdin)
	line := func() (string, error) {
		s, err := in.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("cannot read standard input: %w", err)
		}
		return strings.TrimSpace(s), nil
	}
	body := map[string]any{}
	if *accessKey {
		id, err := line()
		if err != nil {
			return err
		}
		secret, err := line()
		if err != nil {
			return err
		}
		body["accessKeyId"], body["secretAccessKey"] = id, secret
	} else {
		token, err := line()
		if err != nil {
			return err
		}
		body["token"] = token
	}
	c, err := connect()
	if err != nil {
		return err
	}
	return c.do(ctx, "PUT", "/api/v1/me/tokens/"+url.PathEscape(integration), body, stdout)
}

// cmdLoginJira exchanges the person's Jira personal access token, read from
// the first line of standard input, for a forgebridge API token, printed on
// standard output (POST /api/v1/session/jira needs no API token).
func cmdLoginJira(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("login jira", flag.ContinueOnError)
	fs.SetOutput(stderr)
	server := fs.String("server", envOr(getenv, "FORGEBRIDGE_SERVER", "http://127.0.0.1:8080"), "forgebridge's address")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("login jira takes no arguments; the Jira token is read from standard input")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("cannot read standard input: %w", err)
	}
	token := strings.TrimSpace(line)
	if token == "" {
		return errors.New("give your Jira personal access token on standard input")
	}
	c := &client{server: strings.TrimRight(*server, "/"), http: &http.Client{Timeout: 60 * time.Second}}
	var out bytes.Buffer
	if err := c.do(ctx, "POST", "/api/v1/session/jira", map[string]string{"token": token}, &out); err != nil {
		return err
	}
	var session struct{ APIToken string }
	if err := json.Unmarshal(out.Bytes(), &session); err != nil || session.APIToken == "" {
		return errors.New("forgebridge's answer holds no API token")
	}
	fmt.Fprintln(stdout, session.APIToken)
	return nil
}

// cmdReindex asks the server for an index run of one repository or of every
// repository of an integration (admins); --reset drops what was indexed first.
func cmdReindex(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reindex", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connect := newClient(fs, getenv)
	repo := fs.String("repository", "", "the repository id")
	integ := fs.String("integration", "", "the integration id: every repository of it")
	reset := fs.Bool("reset", false, "drop what was indexed and read everything again")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || (*repo == "") == (*integ == "") {
		return errors.New("reindex takes either --repository ID or --integration ID, and optionally --reset")
	}
	c, err := connect()
	if err != nil {
		return err
	}
	path := "/api/v1/repositories/" + url.PathEscape(*repo) + "/reindex"
	if *integ != "" {
		path = "/api/v1/integrations/" + url.PathEscape(*integ) + "/reindex"
	}
	if *reset {
		path += "?reset=true"
	}
	return c.do(ctx, "POST", path, nil, stdout)
}
