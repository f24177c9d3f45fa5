package app

import (
	"context"
	"slices"

	fb "github.com/forgebridge/forgebridge"
)

// projectScopedTracker is a tracker that can answer for just the projects
// that matter. Asking which of all its projects a person may browse can cost
// one call per project (Jira, with thousands), while a repository list only
// needs the projects some integration serves, and for an integration serving
// every project, whether the person may browse any.
type projectScopedTracker interface {
	// BrowsableProjectsAmong returns which of the candidates user may browse.
	BrowsableProjectsAmong(ctx context.Context, user fb.User, candidates []string) ([]string, error)
	// BrowsesAnyProject reports whether user may browse at least one project.
	BrowsesAnyProject(ctx context.Context, user fb.User) (bool, error)
}

// integrationsBrowsable returns the integrations serving a project the
// person may browse, asking the tracker about the integrations' own projects
// only: an integration serving every project is the person's when they may
// browse any project, which one found among the others already proves.
func (s *Service) integrationsBrowsable(ctx context.Context, pt projectScopedTracker, u fb.User) ([]fb.Integration, error) {
	ins, err := s.Store.Integrations(ctx)
	if err != nil {
		return nil, err
	}
	var named []string
	seen := map[string]bool{} // integrations may name a thousand projects between them
	servesAll := false
	for _, in := range ins {
		if len(in.Projects) == 0 {
			servesAll = true
		}
		for _, p := range in.Projects {
			if !seen[p] {
				seen[p] = true
				named = append(named, p)
			}
		}
	}
	browsable, err := pt.BrowsableProjectsAmong(ctx, u, named)
	if err != nil {
		return nil, err
	}
	anyProject := len(browsable) > 0
	if servesAll && !anyProject {
		if anyProject, err = pt.BrowsesAnyProject(ctx, u); err != nil {
			return nil, err
		}
	}
	var out []fb.Integration
	for _, in := range ins {
		if len(in.Projects) == 0 && anyProject || slices.ContainsFunc(browsable, in.ServesProject) {
			out = append(out, in)
		}
	}
	return out, nil
}

// devToolsCandidates returns the projects whose View Development Tools
// permission opens the integration's branches to the person: its own
// projects when it names them (checked directly), else the ones they may browse.
func (s *Service) devToolsCandidates(ctx context.Context, u fb.User, in fb.Integration) ([]string, error) {
	if _, ok := s.Tracker.(projectScopedTracker); ok && len(in.Projects) > 0 {
		return in.Projects, nil
	}
	return s.Tracker.BrowsableProjects(ctx, u)
}
