//go:build unix

package main

import (
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKeysetReloadOnSIGHUP: with polling out of the way, SIGHUP alone makes
// the server take up a rotated keyset file.
func TestKeysetReloadOnSIGHUP(t *testing.T) {
	defer func(d time.Duration) { keysetPoll = d }(keysetPoll)
	keysetPoll = time.Hour
	p := newProgram(t, nil)
	p.serve()
	defer p.shutdown()
	out, err := p.cli("", "keys", "rotate")
	if err != nil {
		t.Fatal(err)
	}
	id := strings.TrimSuffix(strings.Fields(strings.TrimPrefix(out, "new primary key "))[0], ";")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	p.waitFor("the keyset reloaded on SIGHUP", func() bool {
		return strings.Contains(p.stderr.String(), `"msg":"keyset reloaded"`) &&
			strings.Contains(p.stderr.String(), `"primaryKey":`+id)
	})
	// The new primary key re-seals the check value in the background.
	p.resealed()
}
