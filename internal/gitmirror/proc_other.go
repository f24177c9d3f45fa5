//go:build !unix

package gitmirror

import "os/exec"

// ownProcessGroup leaves cmd as it is: without process groups, cancelling
// kills git alone (exec.CommandContext's default).
func ownProcessGroup(cmd *exec.Cmd) {}
