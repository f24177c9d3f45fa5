package secret

import (
	"bytes"

	"github.com/forgebridge/forgebridge"
	"github.com/tink-crypto/tink-go/v2/insecurecleartextkeyset"
	"github.com/tink-crypto/tink-go/v2/keyset"
)

// OpenJSON loads a keyset from its Tink JSON, as instances given it by a
// secret store rather than as a file are (FORGEBRIDGE_KEYSET_JSON). source
// names where it came from in errors, which never quote it. Such a keyset
// cannot be rotated in place: Rotate needs its file.
func OpenJSON(data []byte, source string) (*Keyset, error) {
	h, err := insecurecleartextkeyset.Read(keyset.NewJSONReader(bytes.NewReader(data)))
	if err != nil {
		return nil, forgebridge.Errorf(forgebridge.EInvalid, "%s is not a valid Tink JSON keyset.", source)
	}
	for i := range h.Len() {
		e, err := h.Entry(i)
		if err != nil || !keyParams.Equal(e.Key().Parameters()) {
			return nil, forgebridge.Errorf(forgebridge.EInvalid,
				"%s holds a key that is not AES256-GCM with the TINK prefix; forgebridge uses no other kind.", source)
		}
	}
	return newKeyset(h)
}
