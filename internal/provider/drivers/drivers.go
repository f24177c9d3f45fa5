// Package drivers maps each integration kind to the provider driver that
// serves it; it is the one place that knows every driver.
package drivers

import (
	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/azure"
	"github.com/forgebridge/forgebridge/internal/provider/codecommit"
	"github.com/forgebridge/forgebridge/internal/provider/github"
	"github.com/forgebridge/forgebridge/internal/provider/gitlab"
)

var byKind = map[fb.Kind]provider.Factory{
	fb.KindGitHub:            github.New,
	fb.KindGitHubEnterprise:  github.New,
	fb.KindGitLab:            gitlab.New,
	fb.KindGitLabSelfManaged: gitlab.New,
	fb.KindAzureDevOps:       azure.New,
	fb.KindVSTS:              azure.New,
	fb.KindTFS:               azure.New,
	fb.KindCodeCommit:        codecommit.New,
}

// New builds the provider of an integration. A kind whose driver is not
// built yet answers ENotSupported.
func New(in fb.Integration, opts provider.Options) (provider.Provider, error) {
	f, ok := byKind[in.Kind]
	if !ok {
		return nil, fb.Errorf(fb.ENotSupported, "Integrations of kind %s are not supported yet.", in.Kind)
	}
	return f(in, opts)
}

var webhooks = map[fb.Kind]provider.WebhookParser{
	fb.KindGitHub:            github.ParseWebhook,
	fb.KindGitHubEnterprise:  github.ParseWebhook,
	fb.KindGitLab:            gitlab.ParseWebhook,
	fb.KindGitLabSelfManaged: gitlab.ParseWebhook,
	fb.KindAzureDevOps:       azure.ParseWebhook,
	fb.KindVSTS:              azure.ParseWebhook,
	fb.KindTFS:               azure.ParseWebhook,
	fb.KindCodeCommit:        codecommit.ParseWebhook,
}

// Webhook returns the parser of a kind's webhook deliveries; nil for a kind
// that has none.
func Webhook(kind fb.Kind) provider.WebhookParser { return webhooks[kind] }
