package provider

import (
	"net/url"
	"strings"
)

// SafeWebURL keeps a web address from a provider only if it is http(s): the
// address is shown as a link in pages, API answers and Jira issues, where a
// javascript: or data: address would run in the reader's browser.
func SafeWebURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return ""
	}
	return raw
}

// EscapeRef escapes a branch or tag name for a URL path, keeping its
// slashes: hosts address feature/x as …/tree/feature/x.
func EscapeRef(name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}
