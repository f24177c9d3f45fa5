package provider

import "net/url"

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
