package app

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

// ParseIssueSearch reads the issue search's filters from named parameters
// (API.md: repositoryId, branch, author, since, until, range,
// pullRequestState). Times are RFC 3339 or a date (midnight UTC).
func ParseIssueSearch(get func(name string) string) (IssueSearch, error) {
	q := IssueSearch{
		RepositoryID:     strings.TrimSpace(get("repositoryId")),
		Branch:           strings.TrimSpace(get("branch")),
		Author:           strings.TrimSpace(get("author")),
		Range:            strings.TrimSpace(get("range")),
		PullRequestState: fb.PullState(strings.TrimSpace(get("pullRequestState"))),
	}
	for _, t := range []struct {
		name string
		to   **time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		v := strings.TrimSpace(get(t.name))
		if v == "" {
			continue
		}
		at, err := time.Parse(time.RFC3339, v)
		if err != nil {
			at, err = time.Parse(time.DateOnly, v)
		}
		if err != nil {
			return IssueSearch{}, fb.Errorf(fb.EInvalid, "%s must be a date (2006-01-02) or an RFC 3339 time (2006-01-02T15:04:05Z).", t.name)
		}
		*t.to = &at
	}
	return q, nil
}

// Export formats of the issue search.
const (
	ExportCSV      = "csv"
	ExportMarkdown = "markdown"
)

// WriteIssuesCSV writes issues as CSV with a header row.
func WriteIssuesCSV(w io.Writer, issues []IssueResult) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"key", "commits", "branches", "pullRequests", "lastActivity"})
	for _, r := range issues {
		_ = cw.Write([]string{csvCell(r.Key), strconv.Itoa(r.Commits), strconv.Itoa(r.Branches),
			strconv.Itoa(r.PullRequests), r.LastActivity.UTC().Format(time.RFC3339)})
	}
	cw.Flush()
	return cw.Error()
}

// csvCell keeps a spreadsheet from reading a cell as a formula.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteIssuesMarkdown writes issues as release notes: a heading naming the
// search and a list of the issues, each linked to the tracker when issueURL
// is set, with its counts.
func WriteIssuesMarkdown(w io.Writer, title string, issues []IssueResult, issueURL func(key string) string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", markdownText(title))
	if len(issues) == 0 {
		b.WriteString("No issues.\n")
	}
	for _, r := range issues {
		key := markdownText(r.Key)
		if issueURL != nil {
			key = "[" + key + "](" + strings.ReplaceAll(issueURL(r.Key), ")", "%29") + ")"
		}
		fmt.Fprintf(&b, "- %s: %s, %s, %s (last activity %s)\n", key, plural(r.Commits, "commit"),
			plural(r.Branches, "branch"), plural(r.PullRequests, "pull request"), r.LastActivity.UTC().Format(time.DateOnly))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// IssueSearchTitle names a search for the heading of its release notes.
func IssueSearchTitle(q IssueSearch, repository string) string {
	title := "Issues"
	if q.Range != "" {
		title += " " + q.Range
	}
	if repository != "" {
		title += " in " + repository
	}
	var parts []string
	if q.Branch != "" {
		parts = append(parts, "branch "+q.Branch)
	}
	if q.Author != "" {
		parts = append(parts, "by "+q.Author)
	}
	if q.Since != nil {
		parts = append(parts, "since "+q.Since.UTC().Format(time.DateOnly))
	}
	if q.Until != nil {
		parts = append(parts, "until "+q.Until.UTC().Format(time.DateOnly))
	}
	if q.PullRequestState != "" {
		parts = append(parts, "pull requests "+string(q.PullRequestState))
	}
	if len(parts) == 0 {
		return title
	}
	return title + ", " + strings.Join(parts, ", ")
}

// markdownText escapes what Markdown would read as markup, on one line.
func markdownText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune("\\`*_{}[]()#!|<>~", c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	if strings.HasSuffix(word, "ch") {
		return strconv.Itoa(n) + " " + word + "es"
	}
	return strconv.Itoa(n) + " " + word + "s"
}
