package provider

import (
	"testing"

	fb "github.com/forgebridge/forgebridge"
)

func TestFilterPage(t *testing.T) {
	page := []byte(`[{"name":"a","archived":false},{"name":"b","archived":true}]`)
	tests := []struct {
		expr string
		want string
		code fb.Code
	}{
		{"", string(page), ""},
		{"[?archived==`false`]", `[{"archived":false,"name":"a"}]`, ""},
		{"[?name=='zzz']", `[]`, ""},
		{"[0]", "", fb.EInvalid},
		{"[?", "", fb.EInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			jp, err := CompileFilter(tt.expr)
			if err == nil {
				var out []byte
				out, err = FilterPage(jp, page)
				if err == nil && string(out) != tt.want {
					t.Errorf("FilterPage = %s, want %s", out, tt.want)
				}
			}
			if fb.ErrorCode(err) != tt.code {
				t.Errorf("error %v, want code %q", err, tt.code)
			}
		})
	}
}
