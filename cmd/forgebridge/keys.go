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

// rotateKeys adds a new primary key to the keyset file. The running servers
// pick it up and re-seal the stored secrets in the background.
func rotateKeys(ks *secret.Keyset, keysetPath string) (uint32, error) {
	return ks.Rotate(keysetPath)
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
