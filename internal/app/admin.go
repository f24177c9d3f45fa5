package app

import (
	"context"
	"regexp"
	"slices"
	"strings"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/branchname"
)

// SettingsInput patches the global settings; nil fields keep their value.
type SettingsInput struct {
	RequireUserPATEverywhere *bool
	BranchNameTemplate       *string
	BranchNameMaxLength      *int
	// IfVersion, when set, is the version the patch was made against:
	// settings changed since are left alone (EVersionMismatch).
	IfVersion string
}

// Settings returns the global settings (admins).
func (s *Service) Settings(ctx context.Context, u fb.User) (fb.Settings, error) {
	if err := requireAdmin(u); err != nil {
		return fb.Settings{}, err
	}
	return s.Store.Settings(ctx)
}

// UpdateSettings merges a patch into the global settings (admins). The
// merge is made in the transaction that writes them, with the audit entry:
// only the fields given are written, and a patch made meanwhile is kept.
func (s *Service) UpdateSettings(ctx context.Context, u fb.User, in SettingsInput) (fb.Settings, error) {
	if err := requireAdmin(u); err != nil {
		return fb.Settings{}, err
	}
	if in.BranchNameTemplate != nil {
		if err := checkBounds(octets("branchNameTemplate", *in.BranchNameTemplate, MaxTemplateBytes)); err != nil {
			return fb.Settings{}, err
		}
	}
	entry := fb.AuditEntry{User: u.Name, Action: fb.AuditSettingsUpdate}
	st, err := s.Store.ChangeSettings(ctx, in.IfVersion, func(cur *fb.Settings) (*fb.AuditEntry, error) {
		before := *cur
		if err := in.apply(cur); err != nil {
			return nil, err
		}
		entry.Changes = settingsChanges(before, *cur)
		return s.stamp(&entry, nil), nil
	})
	if err != nil {
		entry.Changes = nil // nothing changed
		s.audit(ctx, entry, err)
		return fb.Settings{}, err
	}
	s.Metrics.action(entry.Action, "", fb.AuditOutcomeSuccess)
	return st, nil
}

// apply merges the patch into st and checks the result.
func (in SettingsInput) apply(st *fb.Settings) error {
	if in.RequireUserPATEverywhere != nil {
		st.RequireUserPATEverywhere = *in.RequireUserPATEverywhere
	}
	if in.BranchNameTemplate != nil {
		st.BranchNameTemplate = *in.BranchNameTemplate
	}
	if in.BranchNameMaxLength != nil {
		st.BranchNameMaxLength = *in.BranchNameMaxLength
	}
	if err := branchname.ValidateTemplate(st.BranchNameTemplate); err != nil {
		return fb.Errorf(fb.EInvalid, "branchNameTemplate: %s", fb.ErrorMessage(err))
	}
	if st.BranchNameMaxLength < 16 || st.BranchNameMaxLength > 1000 {
		return fb.Errorf(fb.EInvalid, "branchNameMaxLength must be between 16 and 1000 bytes.")
	}
	return nil
}

// Audit lists the audit log, newest first (admins).
func (s *Service) Audit(ctx context.Context, u fb.User, q fb.AuditQuery) ([]fb.AuditEntry, string, error) {
	if err := requireAdmin(u); err != nil {
		return nil, "", err
	}
	if err := checkBounds(chars("user", q.User, MaxNameChars), chars("action", q.Action, MaxNameChars)); err != nil {
		return nil, "", err
	}
	return s.Store.Audit(ctx, q)
}

var (
	userNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)
	issueKeyRE = regexp.MustCompile(`^([A-Z][A-Z0-9_]{0,63})-[1-9][0-9]{0,9}$`)
	knownPerms = []string{fb.PermBrowseProjects, fb.PermViewDevTools}
)

// CreateUser adds a user to the local directory and returns their first
// API token, which expires in DefaultAPITokenDays.
func (s *Service) CreateUser(ctx context.Context, u fb.User, nu fb.User) (fb.User, string, error) {
	return s.CreateUserExpiring(ctx, u, nu, nil)
}

// AddUser creates a local user as the CLI and returns their first API token.
func (s *Service) AddUser(ctx context.Context, nu fb.User) (fb.User, string, error) {
	return s.CreateUserExpiring(ctx, CLI, nu, nil)
}

// CreateUserExpiring adds a user to the local directory (admins) and
// issues their first API token, expiring as days asks (see TokenRequest).
func (s *Service) CreateUserExpiring(ctx context.Context, actor fb.User, nu fb.User, days *int) (fb.User, string, error) {
	if err := requireAdmin(actor); err != nil {
		return fb.User{}, "", err
	}
	if err := checkBounds(chars("name", nu.Name, MaxNameChars), chars("displayName", nu.DisplayName, MaxNameChars)); err != nil {
		return fb.User{}, "", err
	}
	nu.Name = strings.TrimSpace(nu.Name)
	if !userNameRE.MatchString(nu.Name) {
		return fb.User{}, "", fb.Errorf(fb.EInvalid, "name must be 1 to 128 letters, digits or . _ @ - and start with a letter or digit.")
	}
	if strings.EqualFold(nu.Name, CLI.Name) {
		// "cli" stands for the command line in the audit log and issuedBy.
		return fb.User{}, "", fb.Errorf(fb.EInvalid, "The name %s is reserved for the command line; choose another.", nu.Name)
	}
	nu.Key = nu.Name
	email, err := checkEmail(nu.Email)
	if err != nil {
		return fb.User{}, "", err
	}
	nu.Email = email
	nu.DisplayName = strings.TrimSpace(nu.DisplayName)
	if nu.DisplayName == "" {
		nu.DisplayName = nu.Name
	}
	if len([]rune(nu.DisplayName)) > 200 {
		return fb.User{}, "", fb.Errorf(fb.EInvalid, "displayName must be at most 200 characters.")
	}
	if _, err := expiry(s.now(), days); err != nil {
		return fb.User{}, "", err
	}
	nu.Active = true
	if err := s.Store.CreateUser(ctx, nu, s.auditEntry(actor, fb.AuditUserCreate, nu.Name)); err != nil {
		if fb.ErrorCode(err) == fb.EAlreadyExists {
			return fb.User{}, "", fb.Errorf(fb.EAlreadyExists, "A user named %s exists already.", nu.Name)
		}
		return fb.User{}, "", err
	}
	_, token, err := s.issueToken(ctx, actor, nu, TokenRequest{Name: "first token", ExpiresInDays: days})
	return nu, token, err
}

// CreateProject adds a project to the local directory.
func (s *Service) CreateProject(ctx context.Context, u fb.User, p fb.Project) (fb.Project, error) {
	if err := requireAdmin(u); err != nil {
		return fb.Project{}, err
	}
	if err := checkBounds(chars("key", p.Key, MaxNameChars), chars("name", p.Name, MaxNameChars)); err != nil {
		return fb.Project{}, err
	}
	p.Key = strings.TrimSpace(p.Key)
	if !projectKeyRE.MatchString(p.Key) {
		return fb.Project{}, fb.Errorf(fb.EInvalid, "key must be upper-case letters, digits or _, starting with a letter (like PROJ).")
	}
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" {
		p.Name = p.Key
	}
	if err := s.Store.CreateProject(ctx, p, s.auditEntry(u, fb.AuditProjectCreate, p.Key)); err != nil {
		if fb.ErrorCode(err) == fb.EAlreadyExists {
			return fb.Project{}, fb.Errorf(fb.EAlreadyExists, "Project %s exists already.", p.Key)
		}
		return fb.Project{}, err
	}
	return p, nil
}

// SetPermissions sets a user's permissions on a project of the local directory.
func (s *Service) SetPermissions(ctx context.Context, u fb.User, projectKey, userName string, perms []string) ([]string, error) {
	if err := requireAdmin(u); err != nil {
		return nil, err
	}
	if err := checkBounds(chars("project key", projectKey, MaxNameChars), chars("user name", userName, MaxNameChars)); err != nil {
		return nil, err
	}
	if _, err := s.Store.Project(ctx, projectKey); err != nil {
		return nil, err
	}
	if _, err := s.Store.User(ctx, userName); err != nil {
		return nil, err
	}
	out := []string{}
	for _, p := range perms {
		if !slices.Contains(knownPerms, p) {
			return nil, fb.Errorf(fb.EInvalid, "permissions: %q is not one of %s.", p, strings.Join(knownPerms, ", "))
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if err := s.Store.SetPermissions(ctx, projectKey, userName, out,
		s.auditEntry(u, fb.AuditPermissionsUpdate, projectKey+"/"+userName)); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateIssue adds an issue to the local directory; its key's prefix must be a project.
func (s *Service) CreateIssue(ctx context.Context, u fb.User, is fb.Issue) (fb.Issue, error) {
	if err := requireAdmin(u); err != nil {
		return fb.Issue{}, err
	}
	if err := checkBounds(chars("key", is.Key, MaxIssueKeyChars), chars("summary", is.Summary, MaxSummaryChars),
		chars("type", is.Type, MaxNameChars)); err != nil {
		return fb.Issue{}, err
	}
	is.Key = strings.TrimSpace(is.Key)
	m := issueKeyRE.FindStringSubmatch(is.Key)
	if m == nil {
		return fb.Issue{}, fb.Errorf(fb.EInvalid, "key must look like PROJ-123.")
	}
	if _, err := s.Store.Project(ctx, m[1]); fb.ErrorCode(err) == fb.ENotFound {
		return fb.Issue{}, fb.Errorf(fb.EInvalid, "key: there is no project %s.", m[1])
	} else if err != nil {
		return fb.Issue{}, err
	}
	is.Project = m[1]
	is.Summary = strings.TrimSpace(is.Summary)
	if is.Summary == "" {
		return fb.Issue{}, fb.Errorf(fb.EInvalid, "summary is required.")
	}
	if is.Type = strings.TrimSpace(is.Type); is.Type == "" {
		is.Type = "Task"
	}
	entry := s.auditEntry(u, fb.AuditIssueCreate, is.Key)
	entry.Issue = is.Key
	if err := s.Store.CreateIssue(ctx, is, entry); err != nil {
		if fb.ErrorCode(err) == fb.EAlreadyExists {
			return fb.Issue{}, fb.Errorf(fb.EAlreadyExists, "Issue %s exists already.", is.Key)
		}
		return fb.Issue{}, err
	}
	return is, nil
}
