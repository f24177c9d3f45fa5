package secret

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/forgebridge/forgebridge"
)

// TestParseJSON checks that a keyset given as its JSON opens what the same
// keyset's file sealed, and that a bad one is refused without quoting it.
func TestParse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keyset.json")
	fromFile, err := Open(path, true)
	if err != nil {
		t.Fatal(err)
	}
	js, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := Parse(js, "FORGEBRIDGE_KEYSET_JSON")
	if err != nil {
		t.Fatal(err)
	}
	ad := IntegrationCredentialAD("i1")
	sealed, err := fromFile.Encrypt([]byte("token"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := fromJSON.Decrypt(sealed, ad); err != nil || string(got) != "token" {
		t.Errorf("the JSON keyset opened %q, %v; want the file keyset's value", got, err)
	}

	for _, bad := range []string{"", "not json s3cret", `{"primaryKeyId": 1, "key": [{"keyData": {"value": "s3cret"}}]}`} {
		_, err := Parse([]byte(bad), "FORGEBRIDGE_KEYSET_JSON")
		if forgebridge.ErrorCode(err) != forgebridge.EInvalid || !strings.Contains(forgebridge.ErrorMessage(err), "FORGEBRIDGE_KEYSET_JSON") {
			t.Errorf("Parse(%q) = %v, want invalid_request naming the variable", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the error quotes the keyset: %v", err)
		}
	}
}
