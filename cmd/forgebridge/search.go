package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/url"
)

// cmdIssues lists the issues by git data (GET /api/v1/search/issues): every
// page as one JSON list, or the CSV or Markdown export.
func cmdIssues(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("issues", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connect := newClient(fs, getenv)
	params := []struct{ flag, param, usage string }{
		{"repository", "repositoryId", "only this repository's git data (its id); needed with --range"},
		{"range", "range", "FROM..TO: the issues of the commits reachable from TO and not from FROM (e.g. v1.0..v1.1)"},
		{"branch", "branch", "only issues linked to a branch of this name"},
		{"author", "author", "only issues with a commit by this email or tracker user name"},
		{"since", "since", "only commits authored at or after this date or RFC 3339 time"},
		{"until", "until", "only commits authored before this date or RFC 3339 time"},
		{"pr-state", "pullRequestState", "only issues with a pull request open, merged or declined"},
		{"format", "format", "json, csv or markdown (release notes)"},
	}
	values := make([]*string, len(params))
	for i, p := range params {
		values[i] = fs.String(p.flag, "", p.usage)
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return errors.New("issues takes only flags, e.g. issues --repository ID --range v1.0..v1.1 --format markdown")
	}
	c, err := connect()
	if err != nil {
		return err
	}
	q := url.Values{}
	for i, p := range params {
		if *values[i] != "" {
			q.Set(p.param, *values[i])
		}
	}
	if f := q.Get("format"); f != "" && f != "json" {
		return c.do(ctx, "GET", "/api/v1/search/issues?"+q.Encode(), nil, stdout)
	}
	q.Set("limit", "1000")
	all := []json.RawMessage{}
	for path := "/api/v1/search/issues?" + q.Encode(); path != ""; {
		var buf bytes.Buffer
		if err := c.do(ctx, "GET", path, nil, &buf); err != nil {
			return err
		}
		var page struct {
			Values []json.RawMessage `json:"values"`
			Next   string            `json:"next"`
		}
		if err := json.Unmarshal(buf.Bytes(), &page); err != nil {
			return err
		}
		all, path = append(all, page.Values...), page.Next
	}
	out, err := json.MarshalIndent(map[string]any{"values": all}, "", "  ")
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(out, '\n'))
	return err
}
