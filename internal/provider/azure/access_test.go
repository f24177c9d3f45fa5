package azure_test

import (
	"context"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/azure/fakeazure"
)

func TestCanRead(t *testing.T) {
	w := newWorld(t)
	const hiddenPAT, noCodePAT = "hidden-pat-77aa", "no-code-pat-88bb"
	w.fake.AddToken(hiddenPAT, fakeazure.Token{Account: "dan@example.com", Unreadable: []string{"Platform/api"}})
	w.fake.AddToken(noCodePAT, fakeazure.Token{Account: "eve@example.com", NoCodeScope: true})
	p := newProvider(t, fb.Integration{ID: "int-1", Kind: fb.KindAzureDevOps, BaseURL: w.fake.URL()})
	rr, ok := provider.Capability[provider.RepositoryReader](p)
	if !ok {
		t.Fatal("the Azure DevOps driver cannot check read access")
	}
	api := fb.Repository{ExternalID: w.api.ID, Name: "api", FullName: "Platform/api"}
	for _, tt := range []struct {
		name string
		pat  string
		repo fb.Repository
		want bool
		code fb.Code
	}{
		{"readable", goodPAT, api, true, ""},
		{"read-only token reads", readOnlyPAT, api, true, ""},
		{"no Read permission (TF401019)", hiddenPAT, api, false, ""},
		{"no Code scope (TF400813)", noCodePAT, api, false, ""},
		{"no such repository", goodPAT, fb.Repository{ExternalID: "00000000-0000-0000-0000-000000000000", FullName: "Platform/gone"}, false, ""},
		{"expired token", expiredPAT, api, false, fb.ETokenRejected},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rr.CanRead(context.Background(), cred(tt.pat), tt.repo)
			if got != tt.want || fb.ErrorCode(err) != tt.code {
				t.Errorf("CanRead = %v, %v; want %v, %q", got, err, tt.want, tt.code)
			}
		})
	}
	w.fake.SetRateLimited(true)
	if _, err := rr.CanRead(context.Background(), cred(goodPAT), api); fb.ErrorCode(err) != fb.ERateLimited {
		t.Errorf("rate limited: %v", err)
	}
}
