package provider

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
)

// minEncodedSecret is the shortest secret whose encoded forms are looked
// for: a shorter one's base64 fragment would match ordinary text.
const minEncodedSecret = 8

// SecretForms lists the ways a secret can show up in a service's answer or
// an error's text: as it is, escaped inside a JSON string, URL-encoded, and
// base64-encoded (standard or URL alphabet) at any offset of a longer
// encoded value, such as the Basic "user:secret" of an Authorization
// header. A base64 form is the part of the encoding that depends on the
// secret's bytes alone, so it is found whatever precedes the secret.
func SecretForms(secret string) []string {
	if secret == "" {
		return nil
	}
	forms := []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}
	if j, err := json.Marshal(secret); err == nil {
		forms = append(forms, strings.Trim(string(j), `"`))
	}
	if len(secret) >= minEncodedSecret {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			for offset := range 3 {
				forms = append(forms, base64Core(enc, secret, offset))
			}
		}
	}
	out := forms[:0]
	for _, f := range forms {
		if f != "" && !containsString(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// base64Core is the encoding of secret placed offset bytes into a value,
// without the first group (mixed with what precedes, when offset > 0) and
// the last incomplete group (mixed with what follows).
func base64Core(enc *base64.Encoding, secret string, offset int) string {
	full := enc.EncodeToString(append(make([]byte, offset), secret...))
	start, end := 0, 4*((offset+len(secret))/3)
	if offset > 0 {
		start = 4
	}
	if end <= start {
		return ""
	}
	return full[start:end]
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Redact replaces every form of each secret (SecretForms) in s with
// "[redacted]".
func Redact(s string, secrets ...string) string {
	for _, secret := range secrets {
		for _, f := range SecretForms(secret) {
			s = strings.ReplaceAll(s, f, "[redacted]")
		}
	}
	return s
}

// Leaks reports whether s holds any form of any of the secrets.
func Leaks(s string, secrets ...string) bool {
	for _, secret := range secrets {
		for _, f := range SecretForms(secret) {
			if strings.Contains(s, f) {
				return true
			}
		}
	}
	return false
}
