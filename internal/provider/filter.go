package provider

import (
	"encoding/json"

	fb "github.com/forgebridge/forgebridge"
	"github.com/jmespath/go-jmespath"
)

// CompileFilter checks an integration's JMESPath repository filter. An empty
// expression is no filter.
func CompileFilter(expr string) (*jmespath.JMESPath, error) {
	if expr == "" {
		return nil, nil
	}
	jp, err := jmespath.Compile(expr)
	if err != nil {
		return nil, &fb.Error{Code: fb.EInvalid,
			Message: "The repository filter is not a valid JMESPath expression: " + err.Error()}
	}
	return jp, nil
}

// FilterPage applies a compiled filter to one page of a provider's repository
// list, exactly as the provider answered it (raw JSON), and returns the JSON of
// the repositories it keeps. The expression must give an array. A nil filter
// returns the page unchanged.
func FilterPage(jp *jmespath.JMESPath, page []byte) ([]byte, error) {
	if jp == nil {
		return page, nil
	}
	var doc any
	if err := json.Unmarshal(page, &doc); err != nil {
		return nil, &fb.Error{Code: fb.EProviderUnavailable,
			Message: "The provider answered the repository list with something that is not JSON.", Err: err}
	}
	out, err := jp.Search(doc)
	if err != nil {
		return nil, &fb.Error{Code: fb.EInvalid,
			Message: "The repository filter failed on the provider's answer: " + err.Error()}
	}
	if out == nil {
		return []byte("[]"), nil
	}
	if _, ok := out.([]any); !ok {
		return nil, &fb.Error{Code: fb.EInvalid,
			Message: "The repository filter must give a list of repositories, not a single value."}
	}
	return json.Marshal(out)
}
