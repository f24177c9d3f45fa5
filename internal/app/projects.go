package app

import (
	"context"
	"strings"

	fb "github.com/forgebridge/forgebridge"
)

// uniqueProjects is the project keys as stored: upper case, each once, in
// the order first given.
func uniqueProjects(keys []string) []string {
	var out []string
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		k = strings.ToUpper(strings.TrimSpace(k))
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}

// checkProjects refuses project keys the tracker does not know, naming
// them: an integration limited to a mistyped project would quietly serve
// none. keys is the list given in the request (nil: not given, nothing to
// check); malformed keys are left to validateIntegration. With Jira this is
// one lookup of the projects its service account sees, which are the only
// ones forgebridge can act for.
func (s *Service) checkProjects(ctx context.Context, keys *[]string) error {
	if keys == nil || len(*keys) == 0 || s.Tracker == nil {
		return nil
	}
	known, err := s.Tracker.ProjectKeys(ctx)
	if err != nil {
		return err
	}
	have := make(map[string]bool, len(known))
	for _, k := range known {
		have[strings.ToUpper(k)] = true
	}
	var unknown []string
	for _, k := range *keys {
		k = strings.ToUpper(strings.TrimSpace(k))
		if projectKeyRE.MatchString(k) && !have[k] {
			unknown = append(unknown, k)
		}
	}
	switch len(unknown) {
	case 0:
		return nil
	case 1:
		return fb.Errorf(fb.EInvalid, "projects: %s is not a project of the tracker.", unknown[0])
	}
	return fb.Errorf(fb.EInvalid, "projects: %s are not projects of the tracker.", strings.Join(unknown, ", "))
}
