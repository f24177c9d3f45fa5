package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
)

// TestHelpListsEveryFlag checks that help shows the flags of each command
// of the usage text.
func TestHelpListsEveryFlag(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"help"}, func(string) string { return "" }, strings.NewReader(""), &out, &out); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	cmds := usageCommands()
	if len(cmds) < 10 {
		t.Fatalf("only %d commands found in the usage text: %v", len(cmds), cmds)
	}
	for _, want := range []string{"forgebridge serve flags:", "-trusted-proxies", "-public-url", "-reindex", "-memory-limit",
		"forgebridge users add flags:", "-display-name", "forgebridge pr create flags:", "-draft", "-server"} {
		if !strings.Contains(help, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	for _, c := range cmds {
		if c[0] == "help" {
			continue
		}
		if !strings.Contains(help, "forgebridge "+strings.Join(c, " ")+" flags:") {
			t.Errorf("help lists no flags of %v", c)
		}
	}
}

func TestWarnLoopback(t *testing.T) {
	for _, tc := range []struct {
		url  string
		warn bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080", true},
		{"http://[::1]:8080", true},
		{"https://forgebridge.example.com", false},
		{"http://10.1.2.3:8080", false},
	} {
		var log bytes.Buffer
		warnLoopback(slog.New(slog.NewTextHandler(&log, nil)), tc.url)
		if got := strings.Contains(log.String(), "loopback"); got != tc.warn {
			t.Errorf("%s: warned %v, want %v", tc.url, got, tc.warn)
		}
	}
}

func TestServeRefusesBadTrustedProxies(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"serve", "--data", t.TempDir(), "--trusted-proxies", "10.0.0.0/8,not-a-cidr"},
		func(string) string { return "" }, strings.NewReader(""), &out, &out)
	if err == nil || !strings.Contains(err.Error(), "--trusted-proxies") {
		t.Fatalf("serve with a bad --trusted-proxies: %v", err)
	}
}
