package app

import (
	"testing"
	"time"

	fb "github.com/forgebridge/forgebridge"
)

func TestChooseCredential(t *testing.T) {
	service := fb.Credential{Token: "svc"}
	optional := fb.Integration{ID: "i1", Name: "Acme GitHub", Credential: service, CredentialLogin: "acme-bot"}
	required := optional
	required.Settings.RequireUserPAT = true
	valid := &fb.UserToken{Credential: fb.Credential{Token: "saved"}, Login: "alice", Status: fb.TokenValid}
	unverified := &fb.UserToken{Credential: fb.Credential{Token: "saved"}, Login: "alice", Status: fb.TokenUnverified}
	invalid := &fb.UserToken{Credential: fb.Credential{Token: "saved"}, Login: "alice", Status: fb.TokenInvalid}
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	past, future := now.Add(-time.Second), now.Add(time.Hour)
	expired := &fb.UserToken{Credential: fb.Credential{Token: "saved"}, Login: "alice", Status: fb.TokenValid, ExpiresAt: &past}
	expiresAtNow := &fb.UserToken{Credential: fb.Credential{Token: "saved"}, Login: "alice", Status: fb.TokenValid, ExpiresAt: &now}
	notYet := &fb.UserToken{Credential: fb.Credential{Token: "saved"}, Login: "alice", Status: fb.TokenValid, ExpiresAt: &future}
	withID := optional
	withID.CredentialUserID = "900"
	servicesOwn := &fb.UserToken{Credential: fb.Credential{Token: "saved"}, Login: "acme-bot", Status: fb.TokenValid, ProviderUserID: "900"}
	own := &fb.UserToken{Credential: fb.Credential{Token: "saved"}, Login: "alice", Status: fb.TokenValid, ProviderUserID: "901"}
	blank := fb.Credential{Token: "   "}
	oneOff := fb.Credential{Token: "typed"}
	keys := fb.Credential{AccessKeyID: "AKID", SecretAccessKey: "secret"}

	tests := []struct {
		name       string
		req        CredentialRequest
		wantSource Source
		wantCred   fb.Credential
		wantActor  fb.Actor
		wantCode   fb.Code
	}{
		{"one-off wins over saved", CredentialRequest{Integration: required, OneOff: oneOff, Saved: valid},
			SourceOneOff, oneOff, fb.Actor{Type: fb.ActorUser}, ""},
		{"one-off wins over an invalid saved token", CredentialRequest{Integration: required, OneOff: oneOff, Saved: invalid},
			SourceOneOff, oneOff, fb.Actor{Type: fb.ActorUser}, ""},
		{"one-off used where none is required", CredentialRequest{Integration: optional, OneOff: oneOff},
			SourceOneOff, oneOff, fb.Actor{Type: fb.ActorUser}, ""},
		{"one-off access keys", CredentialRequest{Integration: optional, OneOff: keys},
			SourceOneOff, keys, fb.Actor{Type: fb.ActorUser}, ""},
		{"saved token where required", CredentialRequest{Integration: required, Saved: valid},
			SourceSaved, valid.Credential, fb.Actor{Type: fb.ActorUser, Login: "alice"}, ""},
		{"saved token where optional", CredentialRequest{Integration: optional, Saved: valid},
			SourceSaved, valid.Credential, fb.Actor{Type: fb.ActorUser, Login: "alice"}, ""},
		{"unverified saved token is used", CredentialRequest{Integration: optional, Saved: unverified},
			SourceSaved, unverified.Credential, fb.Actor{Type: fb.ActorUser, Login: "alice"}, ""},
		{"invalid saved token is refused, not replaced by the service account", CredentialRequest{Integration: optional, Saved: invalid},
			"", fb.Credential{}, fb.Actor{}, fb.EPATInvalid},
		{"invalid saved token where required", CredentialRequest{Integration: required, Saved: invalid},
			"", fb.Credential{}, fb.Actor{}, fb.EPATInvalid},
		{"required and none saved", CredentialRequest{Integration: required},
			"", fb.Credential{}, fb.Actor{}, fb.EPATRequired},
		{"required everywhere overrides the integration", CredentialRequest{Integration: optional, RequireEverywhere: true},
			"", fb.Credential{}, fb.Actor{}, fb.EPATRequired},
		{"expired saved token is refused without a call", CredentialRequest{Integration: optional, Saved: expired, Now: now},
			"", fb.Credential{}, fb.Actor{}, fb.EPATInvalid},
		{"a token expiring now has expired", CredentialRequest{Integration: required, Saved: expiresAtNow, Now: now},
			"", fb.Credential{}, fb.Actor{}, fb.EPATInvalid},
		{"saved token before its expiry", CredentialRequest{Integration: optional, Saved: notYet, Now: now},
			SourceSaved, notYet.Credential, fb.Actor{Type: fb.ActorUser, Login: "alice"}, ""},
		{"one-off wins over an expired saved token", CredentialRequest{Integration: required, OneOff: oneOff, Saved: expired, Now: now},
			SourceOneOff, oneOff, fb.Actor{Type: fb.ActorUser}, ""},
		{"a saved token of the service account is not the person's", CredentialRequest{Integration: withID, Saved: servicesOwn},
			"", fb.Credential{}, fb.Actor{}, fb.ETokenNotPersonal},
		{"a saved token of another account is used", CredentialRequest{Integration: withID, Saved: own},
			SourceSaved, own.Credential, fb.Actor{Type: fb.ActorUser, Login: "alice"}, ""},
		{"blank one-off is none: the saved token is used", CredentialRequest{Integration: required, OneOff: blank, Saved: valid},
			SourceSaved, valid.Credential, fb.Actor{Type: fb.ActorUser, Login: "alice"}, ""},
		{"blank one-off is none: required without a saved token", CredentialRequest{Integration: required, OneOff: blank},
			"", fb.Credential{}, fb.Actor{}, fb.EPATRequired},
		{"service account otherwise", CredentialRequest{Integration: optional},
			SourceService, service, fb.Actor{Type: fb.ActorIntegration, Login: "acme-bot"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ChooseCredential(tt.req)
			if code := fb.ErrorCode(err); code != tt.wantCode {
				t.Fatalf("error %v, want code %q", err, tt.wantCode)
			}
			if err != nil {
				e := fb.AsError(err)
				if e.IntegrationID != "i1" {
					t.Errorf("integrationId = %q, want i1", e.IntegrationID)
				}
				return
			}
			if got.Source != tt.wantSource || got.Credential != tt.wantCred || got.Actor() != tt.wantActor {
				t.Errorf("got %s %v %+v, want %s %v %+v", got.Source, got.Credential == tt.wantCred, got.Actor(),
					tt.wantSource, true, tt.wantActor)
			}
		})
	}
}

func BenchmarkChooseCredential(b *testing.B) {
	in := fb.Integration{ID: "i1", Name: "Acme", Settings: fb.IntegrationSettings{RequireUserPAT: true}}
	saved := &fb.UserToken{Credential: fb.Credential{Token: "t"}, Login: "alice", Status: fb.TokenValid}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ChooseCredential(CredentialRequest{Integration: in, Saved: saved}); err != nil {
			b.Fatal(err)
		}
	}
}
