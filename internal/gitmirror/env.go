package gitmirror

import (
	"os"
	"strconv"
)

// Every git process gets an environment built from nothing: git must not
// read the machine's or the service user's configuration (a credential
// helper, an askpass program, a ~/.netrc, GIT_* variables of the service),
// and its messages must be in English for fetchError to read them.
// Configuration comes through GIT_CONFIG_COUNT/KEY/VALUE, which also carries
// the credential: never argv, never a file.

// inherited are the variables git may take from the service's environment:
// where programs are, and the machine's proxy and CA settings (an
// integration's own proxy overrides the proxy through http.proxy).
var inherited = []string{
	"PATH", "TMPDIR",
	"http_proxy", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "no_proxy", "NO_PROXY",
	"SSL_CERT_FILE", "SSL_CERT_DIR",
}

// baseConfig applies to every git command.
var baseConfig = [][2]string{
	{"credential.helper", ""}, // an empty value clears the list of helpers
	{"core.askPass", ""},
	{"core.hooksPath", os.DevNull},
	{"protocol.allow", "never"},
	// Maintenance that a fetch triggers runs inside the process group, so it
	// ends with a cancelled fetch and never outlives a Remove.
	{"gc.autoDetach", "false"},
	{"maintenance.autoDetach", "false"},
}

func localEnv() []string { return buildEnv(nil) }

// fetchEnv configures git for fetching from r: only its scheme (https, or
// http when that is what the URL says), its header, proxy and TLS settings,
// and no redirects, which would carry the header to another host.
func fetchEnv(r Remote, scheme string) []string {
	cfg := [][2]string{{"protocol.https.allow", "always"}}
	if scheme == "http" {
		cfg = append(cfg, [2]string{"protocol.http.allow", "always"})
	}
	cfg = append(cfg, [2]string{"http.followRedirects", "false"}, [2]string{"advice.fetchShowForcedUpdates", "false"},
		// A host that stops sending ends the fetch after five minutes rather
		// than holding the repository's run until the job's timeout. While
		// a host prepares the pack of a large history (minutes for millions
		// of commits) git's upload-pack sends only a 5-byte keep-alive every
		// 5 seconds, so any higher limit would cut off a healthy fetch.
		[2]string{"http.lowSpeedLimit", "1"}, [2]string{"http.lowSpeedTime", "300"})
	if r.Header != "" {
		cfg = append(cfg, [2]string{"http.extraHeader", r.Header})
	}
	if r.ProxyURL != "" {
		cfg = append(cfg, [2]string{"http.proxy", r.ProxyURL})
	}
	if r.CAFile != "" {
		cfg = append(cfg, [2]string{"http.sslCAInfo", r.CAFile})
	}
	if r.InsecureSkipTLSVerify {
		cfg = append(cfg, [2]string{"http.sslVerify", "false"})
	}
	return buildEnv(cfg)
}

func buildEnv(extra [][2]string) []string {
	env := []string{
		"HOME=" + os.DevNull, // no ~/.gitconfig, ~/.netrc, ~/.git-credentials
		"XDG_CONFIG_HOME=" + os.DevNull,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + os.DevNull,
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=",
		"SSH_ASKPASS=",
		"LC_ALL=C",
		"LANGUAGE=",
	}
	for _, k := range inherited {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	cfg := append(baseConfig[:len(baseConfig):len(baseConfig)], extra...)
	env = append(env, "GIT_CONFIG_COUNT="+strconv.Itoa(len(cfg)))
	for i, kv := range cfg {
		n := strconv.Itoa(i)
		env = append(env, "GIT_CONFIG_KEY_"+n+"="+kv[0], "GIT_CONFIG_VALUE_"+n+"="+kv[1])
	}
	return env
}
