package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
)

// cmdBranchDelete: forgebridge branch delete ISSUE --repository ID --name N.
func cmdBranchDelete(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("branch delete", flag.ContinueOnError)
	fs.SetOutput(stderr)
	connect := newClient(fs, getenv)
	repo := fs.String("repository", "", "the repository id (see `forgebridge repos`)")
	name := fs.String("name", "", "the branch to delete (it must mention the issue key)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	issue, err := oneName(pos, "branch delete")
	if err != nil {
		return err
	}
	if *name == "" {
		return errors.New("branch delete needs --name, the branch to delete")
	}
	c, err := connect()
	if err != nil {
		return err
	}
	if err := c.do(ctx, "DELETE", "/api/v1/issues/"+url.PathEscape(issue)+"/branches",
		map[string]any{"repositoryId": *repo, "name": *name}, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Deleted the branch %s.\n", *name)
	return nil
}
