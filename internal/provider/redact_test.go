package provider

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"testing"
)

func TestSecretFormsAndRedact(t *testing.T) {
	secret := "ghp_s3cr3t/with+odd&chars\"and<more>"
	j, _ := json.Marshal(map[string]string{"message": "Bad credentials for " + secret})
	tests := []struct {
		name, text string
	}{
		{"raw", "token " + secret + " refused"},
		{"inside a JSON string", string(j)},
		{"query-encoded", "https://x.example/?t=" + url.QueryEscape(secret)},
		{"path-encoded", "https://x.example/" + url.PathEscape(secret)},
		{"base64", base64.StdEncoding.EncodeToString([]byte(secret))},
		{"Basic header, empty user", "Basic " + base64.StdEncoding.EncodeToString([]byte(":"+secret))},
		{"Basic header, named user", "Basic " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+secret))},
		{"base64url", base64.URLEncoding.EncodeToString([]byte("ab" + secret + "cd"))},
	}
	for _, tt := range tests {
		if !Leaks(tt.text, secret) {
			t.Errorf("%s: Leaks(%q) = false", tt.name, tt.text)
		}
		if r := Redact(tt.text, secret); Leaks(r, secret) {
			t.Errorf("%s: Redact left %q", tt.name, r)
		}
	}
	if Leaks("An ordinary message about tokens.", secret) || Leaks("anything", "") {
		t.Error("Leaks found a secret that is not there")
	}
}
