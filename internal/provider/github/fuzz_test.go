package github

import (
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/providertest"
)

func FuzzAnswers(f *testing.F) {
	providertest.FuzzAnswers(f, func(baseURL string) (provider.Provider, error) {
		return New(fb.Integration{ID: "i1", Name: "fuzz", Kind: fb.KindGitHub, BaseURL: baseURL}, provider.Options{})
	}, fb.Credential{Token: "tok_secret_0123456789abcdefghijklmnopqrstuv"})
}
