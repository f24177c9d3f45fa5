package store

import "testing"

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b = ?", "a = $1 AND b = $2"},
		{"a = '?' AND b = ?", "a = '?' AND b = $1"},
		{"a LIKE ? ESCAPE '\\' AND b IN (?,?)", "a LIKE $1 ESCAPE '\\' AND b IN ($2,$3)"},
		{"a = 'it''s?' AND b = ?", "a = 'it''s?' AND b = $1"},
	} {
		if got := rebind(tc.in); got != tc.want {
			t.Errorf("rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAssociatedData(t *testing.T) {
	// The layout internal/secret shares: purpose, NUL, then 4-byte big-endian
	// lengths before each part.
	got := string(userTokenAD("ab", "xyz"))
	want := "forgebridge/user-token/v1\x00\x00\x00\x00\x02ab\x00\x00\x00\x03xyz"
	if got != want {
		t.Errorf("userTokenAD = %q, want %q", got, want)
	}
	got = string(integrationCredentialAD("id1"))
	want = "forgebridge/integration-credential/v1\x00\x00\x00\x00\x03id1"
	if got != want {
		t.Errorf("integrationCredentialAD = %q, want %q", got, want)
	}
	// Lengths keep ("a", "bc") and ("ab", "c") apart.
	if string(userTokenAD("a", "bc")) == string(userTokenAD("ab", "c")) {
		t.Error("associated data is ambiguous")
	}
}
