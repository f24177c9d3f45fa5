//go:build unix

package gitmirror

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup runs cmd in a new process group and makes cancelling its
// context kill the whole group: git starts helpers (git-remote-https,
// index-pack, upload-pack's peers) that a kill of git alone would orphan.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
