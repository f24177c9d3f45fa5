package codecommit

import (
	"context"
	"testing"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/codecommit/fakecodecommit"
)

func TestCanRead(t *testing.T) {
	w := newWorld(t)
	denied := fb.Credential{AccessKeyID: "AKIADENIEDDENIED0005", SecretAccessKey: "denied/secret+key+00000000000000000005"}
	w.fake.AddKey(denied.AccessKeyID, denied.SecretAccessKey,
		fakecodecommit.Key{ARN: "arn:aws:iam::123456789012:user/denied", Deny: []string{"codecommit:GetRepository"}})
	rr, ok := provider.Capability[provider.RepositoryReader](w.p)
	if !ok {
		t.Fatal("the CodeCommit driver cannot check read access")
	}
	app := w.repo(t, "app")
	for _, tt := range []struct {
		name string
		cred fb.Credential
		repo fb.Repository
		want bool
		code fb.Code
	}{
		{"readable", good, app, true, ""},
		{"read-only key reads", readOnly, app, true, ""},
		{"GetRepository denied", denied, app, false, ""},
		{"repository gone", good, fb.Repository{Name: "gone", FullName: "gone"}, false, ""},
		{"expired key", expired, app, false, fb.ETokenRejected},
		{"unknown key", unknown, app, false, fb.ETokenRejected},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := rr.CanRead(context.Background(), tt.cred, tt.repo)
			if got != tt.want || fb.ErrorCode(err) != tt.code {
				t.Errorf("CanRead = %v, %v; want %v, %q", got, err, tt.want, tt.code)
			}
		})
	}
}
