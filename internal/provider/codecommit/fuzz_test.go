package codecommit

import (
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/providertest"
)

func FuzzAnswers(f *testing.F) {
	providertest.FuzzAnswers(f, func(baseURL string) (provider.Provider, error) {
		return New(fb.Integration{ID: "i1", Name: "fuzz", Kind: fb.KindCodeCommit, Region: "eu-west-1", BaseURL: baseURL}, provider.Options{})
	}, fb.Credential{AccessKeyID: "AKIAFUZZ0123456789AB", SecretAccessKey: "fuzzSecret0123456789abcdefghijklmnopqrstu"})
}
