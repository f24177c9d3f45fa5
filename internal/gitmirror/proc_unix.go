//go:build unix

package gitmirror

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// ownProcessGroup runs cmd in a new process group and makes cancelling its
// context kill the whole group: git starts helpers (git-remote-https,
// index-pack, upload-pack's peers) that a kill of git alone would orphan.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if errors.Is(err, syscall.ESRCH) {
			return os.ErrProcessDone
		}
		return err
	}
}
