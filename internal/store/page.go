package store

import (
	"encoding/base64"
	"encoding/json"

	fb "github.com/forgebridge/forgebridge"
)

// Page sizes (API.md: default 100, at most 1000).
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

func pageLimit(p fb.Page) int {
	switch {
	case p.Limit <= 0:
		return DefaultLimit
	case p.Limit > MaxLimit:
		return MaxLimit
	}
	return p.Limit
}

// A cursor is the sort key of the last row of a page, as base64url of a JSON
// value: opaque to clients, and the next page starts strictly after it.
func encodeCursor(key any) string {
	b, err := json.Marshal(key)
	if err != nil {
		panic(err) // the keys are strings and integers
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(cursor string, key any) error {
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err == nil {
		err = json.Unmarshal(b, key)
	}
	if err != nil {
		return fb.Errorf(fb.EInvalid, "the page cursor is not valid; start again from the first page")
	}
	return nil
}
