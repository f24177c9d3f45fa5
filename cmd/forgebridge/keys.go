package main

import (
	"context"
	"fmt"
	"os/user"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/secret"
	"github.com/forgebridge/forgebridge/internal/store"
)

// rotateKeys adds a new primary key to the keyset file and re-encrypts every
// stored secret with it.
func rotateKeys(ctx context.Context, ks *secret.Keyset, st *store.Store, keysetPath string) (id uint32, n int, err error) {
	if id, err = ks.Rotate(keysetPath); err != nil {
		return 0, 0, err
	}
	if n, err = st.ReencryptSecrets(ctx); err != nil {
		return id, 0, fmt.Errorf("new key %d added, but re-encrypting failed (run keys rotate again): %w", id, err)
	}
	return id, n, nil
}

func keyTarget(id uint32) string {
	if id == 0 {
		return "keyset"
	}
	return fmt.Sprintf("key %d", id)
}

// auditKeys writes the audit entry of a key operation run from the command
// line, whether it succeeded or not. The user is the operating system
// account that ran it, marked as such: no forgebridge user signs in here.
func auditKeys(ctx context.Context, st *store.Store, action, target string, opErr error) error {
	e := fb.AuditEntry{Time: time.Now().UTC(), User: commandLineUser(), Action: action, Target: target,
		Outcome: fb.AuditOutcomeSuccess}
	if opErr != nil {
		e.Outcome, e.Code = fb.AuditOutcomeFailure, string(fb.ErrorCode(opErr))
	}
	return st.AddAudit(context.WithoutCancel(ctx), &e)
}

// commandLineUser names who ran a command in the audit log: "(command line:
// NAME)" with the operating system user, or "(command line)" when unknown.
func commandLineUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "(command line: " + u.Username + ")"
	}
	return "(command line)"
}
