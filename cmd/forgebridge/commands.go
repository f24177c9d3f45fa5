package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/app"
	"github.com/forgebridge/forgebridge/internal/gitmirror"
	"github.com/forgebridge/forgebridge/internal/httpapi"
	"github.com/forgebridge/forgebridge/internal/index"
	"github.com/forgebridge/forgebridge/internal/jobs"
	"github.com/forgebridge/forgebridge/internal/provider"
	"github.com/forgebridge/forgebridge/internal/provider/drivers"
	"github.com/forgebridge/forgebridge/internal/ratelimit"
	"github.com/forgebridge/forgebridge/internal/store"
	"github.com/forgebridge/forgebridge/internal/tracker/local"
	"github.com/forgebridge/forgebridge/internal/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/term"
)

// service builds the application over a store, for the administrative commands.
func service(st *store.Store) *app.Service {
	return &app.Service{Store: st, Tracker: &local.Tracker{Store: st}, Providers: drivers.New,
		Index: app.Indexing{Store: st, Secrets: st, Webhooks: drivers.Webhook}}
}

func cmdServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	var c config
	fs := newFlags("serve", getenv, stderr, &c)
	addr := fs.String("addr", envOr(getenv, "FORGEBRIDGE_ADDR", "127.0.0.1:8080"), "address to listen on")
	tracker := fs.String("tracker", envOr(getenv, "FORGEBRIDGE_TRACKER", "local"), "tracker: local or jira")
	jiraURL := fs.String("jira-url", getenv("FORGEBRIDGE_JIRA_URL"), "Jira's base URL (with --tracker jira)")
	publicURL := fs.String("public-url", getenv("FORGEBRIDGE_PUBLIC_URL"), "the address people reach forgebridge at (default http://ADDR)")
	rediscover := fs.Duration("rediscover", envDuration(getenv, "FORGEBRIDGE_REDISCOVER", jobs.DefaultRediscover), "how often repositories are discovered again (negative: never)")
	revalidate := fs.Duration("revalidate", envDuration(getenv, "FORGEBRIDGE_REVALIDATE", jobs.DefaultRevalidate), "how often saved user tokens are checked with their provider (negative: never)")
	trustedProxies := fs.String("trusted-proxies", getenv("FORGEBRIDGE_TRUSTED_PROXIES"), "comma-separated CIDRs of reverse proxies whose X-Forwarded-For names the client")
	reindex := fs.Duration("reindex", envDuration(getenv, "FORGEBRIDGE_REINDEX", jobs.DefaultReindex), "how often every repository is indexed when no webhook says it changed (negative: never)")
	memoryLimit := fs.String("memory-limit", memoryLimitDefault(getenv), "soft limit on the Go runtime's memory, in GOMEMLIMIT's syntax (64MiB, 1GiB; off: GOMEMLIMIT or none)")
	permissionCache := fs.Duration("permission-cache", envDuration(getenv, "FORGEBRIDGE_PERMISSION_CACHE", app.DefaultPermissionCache), "how long a host's answer that a person's token reads a repository is remembered (enforcePermissions)")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return fmt.Errorf("serve takes no arguments, got %q", pos)
	}
	limit, err := parseMemoryLimit(*memoryLimit)
	if err != nil {
		return err
	}
	for _, key := range []string{"FORGEBRIDGE_REDISCOVER", "FORGEBRIDGE_REVALIDATE", "FORGEBRIDGE_REINDEX", "FORGEBRIDGE_PERMISSION_CACHE"} {
		if v := getenv(key); v != "" {
			if _, err := time.ParseDuration(v); err != nil {
				return fmt.Errorf("%s=%q is not a duration such as 1h or 30m", key, v)
			}
		}
	}
	proxies, err := ratelimit.ParsePrefixes(*trustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies must be CIDRs such as 10.0.0.0/8, separated by commas: %w", err)
	}
	if *permissionCache <= 0 {
		return fmt.Errorf("--permission-cache must be a positive duration such as 24h or 15m, not %s", *permissionCache)
	}
	if *tracker != "local" && *tracker != "jira" {
		return fmt.Errorf("--tracker must be local or jira, not %q", *tracker)
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	setMemoryLimit(limit)

	c.create = true // serve makes a new installation's database
	st, ks, err := c.open(ctx)
	if err != nil {
		return err
	}
	closeStore := true
	defer func() {
		if closeStore {
			st.Close()
		}
	}()
	svc := service(st)
	api := &httpapi.Server{App: svc, Logger: log, Ready: st.Ping, TrustedProxies: proxies,
		Keyset: func(ctx context.Context) error { return st.CheckKeyset(ctx, nil) }}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	svc.Metrics = app.NewMetrics(reg)
	var signIn web.JiraSignIn
	if *tracker == "jira" {
		jt, err := openJira(ctx, getenv, *jiraURL, svc.Metrics.JiraCall, st)
		if err != nil {
			return err
		}
		if err := checkJira(ctx, jt, *jiraURL, log); err != nil {
			return err
		}
		accounts := withLocalAccounts{jira: jt, local: st}
		svc.Tracker = accounts
		svc.Linker = jiraLinker{jt}
		api.Tracker, api.JiraSession = jt.Ready, accounts.UserForToken
		signIn = accounts
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	defer ln.Close()

	base := strings.TrimRight(*publicURL, "/")
	if base == "" {
		base = "http://" + ln.Addr().String()
	}
	svc.Logger = log
	svc.ProviderOptions = provider.Options{UserAgent: "forgebridge"}
	svc.IssueURL = func(key string) string { return base + "/browse/" + key }
	svc.PanelURL = svc.IssueURL
	if *tracker == "jira" {
		jiraBase := strings.TrimRight(*jiraURL, "/")
		svc.IssueURL = func(key string) string { return jiraBase + "/browse/" + key }
	}
	api.Gatherer, api.Registerer = reg, reg
	api.PublicURL = base

	// Indexing needs git; without it (or with one too old) the service runs
	// and says so, and its index jobs wait for an instance that has git.
	indexer := &index.Indexer{Store: st, Tracker: svc.Tracker, Providers: drivers.New, Options: svc.ProviderOptions,
		Dir: c.data, Logger: log, Linked: svc.IndexedLinks}
	svc.Index.RemoveMirror = indexer.RemoveMirror
	svc.Index.Mirror = indexer.Mirror
	svc.Index.Search, svc.Index.Range = st, indexer.RangeCommits
	svc.PermissionCache = *permissionCache
	var queueIndexer *index.Indexer
	if git, err := gitmirror.Find(ctx); err != nil {
		api.Git = "missing: " + fb.ErrorMessage(err)
		log.Warn("indexing is off: "+fb.ErrorMessage(err), "reindex", *reindex)
	} else {
		indexer.Git, queueIndexer, api.Git = git, indexer, "ok"
		log.Info("indexing with git", "version", git.Version, "mirrors", indexer.MirrorDir(""))
	}

	// The queue starts once the port is ours, so an instance that cannot
	// serve does not take the lead of the background work on its way out.
	queue, err := jobs.Open(ctx, jobs.Config{DB: st.DB(), Dialect: st.Dialect(), Pool: st.Pool(), App: svc, Logger: log,
		Rediscover: *rediscover, Revalidate: *revalidate, Reindex: *reindex, Indexer: queueIndexer})
	if err != nil {
		return fmt.Errorf("cannot open the job queue: %w", err)
	}
	svc.Queue = queue
	if err := queue.Start(ctx); err != nil {
		return fmt.Errorf("cannot start the job queue: %w", err)
	}
	api.Jobs = queue.Ping
	reg.MustRegister(&app.StateCollector{Store: st, Jobs: queue, Logger: log},
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "forgebridge_records_held",
			Help: "Records of host actions held in memory until the database is back."},
			func() float64 { return float64(svc.HeldRecords()) }))
	keepKeyset(ctx, c, st, ks, log)
	ui := &web.Server{App: svc, Logger: log, Cipher: ks, Secure: strings.HasPrefix(base, "https://"),
		Jira: signIn, PublicURL: strings.TrimRight(*publicURL, "/"), TrustedProxies: proxies}
	warnLoopback(log, base)
	srv := &http.Server{Handler: ui.Handler(api.Handler()), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("forgebridge serving", "addr", ln.Addr().String(), "database", st.Dialect(), "tracker", *tracker)
	select {
	case err := <-errc:
		stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if qerr := queue.Stop(stop); qerr != nil {
			closeStore = false
		}
		return err
	case <-ctx.Done():
	}
	// One grace period for the requests and the jobs: API.md promises a stop
	// within a few seconds of SIGTERM.
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		srv.Close()
		log.Warn("requests still running at the end of the grace period were cut off", "err", err)
		// They may still write: the store stays open until the process exits.
		closeStore = false
	} else if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		log.Error("the HTTP server failed while stopping", "err", err)
	}
	if err := queue.Stop(shutdown); err != nil {
		log.Warn("jobs still running at the end of the grace period run again later", "err", err)
		closeStore = false
	}
	svc.FlushHeld(shutdown)
	log.Info("forgebridge stopped")
	return nil
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := newFlags("migrate", getenv, stderr, &c)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	st, _, err := c.open(ctx) // Open migrates.
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := jobs.Open(ctx, jobs.Config{DB: st.DB(), Dialect: st.Dialect(), Pool: st.Pool(), App: service(st)}); err != nil {
		return fmt.Errorf("cannot migrate the job queue: %w", err)
	}
	fmt.Fprintf(stdout, "database migrated (%s)\n", st.Dialect())
	return nil
}

// withName runs a command that takes its flags and one NAME: it parses
// them, opens the store and calls do.
func withName(ctx context.Context, what string, args []string, getenv func(string) string, stderr io.Writer,
	flags func(*flag.FlagSet), do func(st *store.Store, name string) error) error {
	var c config
	fs := newFlags(what, getenv, stderr, &c)
	if flags != nil {
		flags(fs)
	}
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	name, err := oneName(pos, what)
	if err != nil {
		return err
	}
	st, _, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return do(st, name)
}

// expiresFlag registers --expires-in-days (default 90; 0 never).
func expiresFlag(fs *flag.FlagSet) *int {
	return fs.Int("expires-in-days", app.DefaultAPITokenDays, "days until the API token expires; 0: it never expires")
}

// logExpiry tells on standard error when a new API token expires, plainly
// when it never does: standard output carries only the token.
func logExpiry(stderr io.Writer, t fb.APIToken) {
	if t.ExpiresAt == nil {
		fmt.Fprintf(stderr, "API token %s of %s issued; it NEVER expires (revoke it with: forgebridge tokens revoke %s)\n", t.ID, t.UserName, t.ID)
		return
	}
	fmt.Fprintf(stderr, "API token %s of %s issued; it expires on %s\n", t.ID, t.UserName, t.ExpiresAt.Format(time.RFC3339))
}

func cmdUsersAdd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var display *string
	var admin *bool
	var days *int
	flags := func(fs *flag.FlagSet) {
		display = fs.String("display-name", "", "the name people see")
		admin = fs.Bool("admin", false, "make the user a forgebridge administrator")
		days = expiresFlag(fs)
	}
	return withName(ctx, "users add", args, getenv, stderr, flags, func(st *store.Store, name string) error {
		svc := service(st)
		u, token, err := svc.CreateUserExpiring(ctx, app.CLI, fb.User{Name: name, DisplayName: *display, Admin: *admin}, days)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, token)
		if t, err := st.APIToken(ctx, app.HashAPIToken(token)); err == nil {
			logExpiry(stderr, t)
		}
		fmt.Fprintf(stderr, "user %s added\n", u.Name)
		return nil
	})
}

// readPassword reads one line of standard input; from a terminal without
// echoing it.
func readPassword(stdin io.Reader, stderr io.Writer, name string) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "New web password for %s: ", name)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", fmt.Errorf("cannot read the password from the terminal: %w", err)
		}
		return string(b), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("cannot read the password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func cmdUsersPasswd(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	return withName(ctx, "users passwd", args, getenv, stderr, nil, func(st *store.Store, name string) error {
		if _, err := st.User(ctx, name); err != nil {
			return err
		}
		password, err := readPassword(stdin, stderr, name)
		if err != nil {
			return err
		}
		if err := service(st).SetPassword(ctx, name, password); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "password of %s set\n", name)
		return nil
	})
}

// cmdUsersPatch is users activate, deactivate and set-admin: one change of
// a user, audited as the CLI.
func cmdUsersPatch(ctx context.Context, verb string, args []string, getenv func(string) string, stderr io.Writer) error {
	var admin *string
	var flags func(*flag.FlagSet)
	if verb == "set-admin" {
		flags = func(fs *flag.FlagSet) { admin = fs.String("admin", "", "true or false") }
	}
	return withName(ctx, "users "+verb, args, getenv, stderr, flags, func(st *store.Store, name string) error {
		var p fb.UserPatch
		switch verb {
		case "activate":
			p.Active = new(true)
		case "deactivate":
			p.Active = new(false)
		case "set-admin":
			v, err := strconv.ParseBool(*admin)
			if err != nil {
				return fmt.Errorf("users set-admin needs --admin=true or --admin=false")
			}
			p.Admin = &v
		}
		u, err := service(st).UpdateUser(ctx, app.CLI, name, p)
		if err != nil {
			return err
		}
		switch verb {
		case "activate":
			fmt.Fprintf(stderr, "%s is active; they need a new API token (forgebridge tokens issue %s) or to sign in again\n", u.Name, u.Name)
		case "deactivate":
			fmt.Fprintf(stderr, "%s is deactivated; their API tokens and sessions are revoked\n", u.Name)
		default:
			fmt.Fprintf(stderr, "%s admin: %t\n", u.Name, u.Admin)
		}
		return nil
	})
}

func cmdUsersDelete(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	return withName(ctx, "users delete", args, getenv, stderr, nil, func(st *store.Store, name string) error {
		if err := service(st).DeleteUser(ctx, app.CLI, name); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%s deleted, with their API tokens, sessions, permissions and saved tokens\n", name)
		return nil
	})
}

func cmdUsersEnrol(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var base *string
	flags := func(fs *flag.FlagSet) {
		base = fs.String("url", envOr(getenv, "FORGEBRIDGE_PUBLIC_URL", "http://127.0.0.1:8080"), "the address people reach forgebridge at")
	}
	return withName(ctx, "users enrol", args, getenv, stderr, flags, func(st *store.Store, name string) error {
		e, err := service(st).Enrol(ctx, app.CLI, name)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, strings.TrimRight(*base, "/")+httpapi.EnrolmentPath+e.Secret)
		fmt.Fprintf(stderr, "one-time link for %s to set their web password; it works once, until %s\n", e.User.Name, e.ExpiresAt.Format(time.RFC3339))
		return nil
	})
}

func cmdTokensIssue(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var days *int
	var name *string
	flags := func(fs *flag.FlagSet) {
		days = expiresFlag(fs)
		name = fs.String("name", "api token", "what the token is for")
	}
	return withName(ctx, "tokens issue", args, getenv, stderr, flags, func(st *store.Store, user string) error {
		t, token, err := service(st).IssueUserAPIToken(ctx, app.CLI, user, app.TokenRequest{Name: *name, ExpiresInDays: days})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, token)
		logExpiry(stderr, t)
		return nil
	})
}

func cmdTokensList(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return withName(ctx, "tokens list", args, getenv, stderr, nil, func(st *store.Store, user string) error {
		list, err := service(st).UserAPITokens(ctx, app.CLI, user)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tCREATED\tEXPIRES\tLAST USED\tISSUED BY")
		for _, t := range list {
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.CreatedAt.Format(time.RFC3339),
				timeOr(t.ExpiresAt, "never"), timeOr(t.LastUsedAt, "never"), cmp.Or(t.IssuedBy, "-"))
		}
		return w.Flush()
	})
}

func timeOr(t *time.Time, none string) string {
	if t == nil {
		return none
	}
	return t.Format(time.RFC3339)
}

func cmdTokensRevoke(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	return withName(ctx, "tokens revoke", args, getenv, stderr, nil, func(st *store.Store, id string) error {
		t, err := service(st).RevokeUserAPIToken(ctx, app.CLI, "", id)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "API token %s (%s) of %s revoked\n", t.ID, t.Name, t.UserName)
		return nil
	})
}

func cmdKeysRotate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var c config
	fs := newFlags("keys rotate", getenv, stderr, &c)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if c.keysetJSON != "" || c.keysetJSONErr != nil {
		return errKeysetReadOnly("keys rotate")
	}
	st, ks, err := c.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	id, err := rotateKeys(ks, c.keysetPath())
	if aerr := auditKeys(ctx, st, fb.AuditKeysRotate, keyTarget(id), err); aerr != nil && err == nil {
		err = fmt.Errorf("new primary key %d in place, but the audit entry was not written: %w", id, aerr)
	}
	if err != nil {
		return err
	}
	// The stored values are re-sealed by the servers, which pick up the file.
	fmt.Fprintf(stdout, "new primary key %d; running servers use it within 10 seconds (at once on SIGHUP) and re-seal the stored values in the background; `forgebridge keys list` shows how many each key still seals\n", id)
	return nil
}
