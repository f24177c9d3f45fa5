package app

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	fb "github.com/forgebridge/forgebridge"
	"github.com/forgebridge/forgebridge/internal/ratelimit"
	"golang.org/x/crypto/argon2"
)

// argon2id parameters (RFC 9106's second recommended option, with 64 MiB).
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
	argonKeyLen  = 32
)

// HashPassword hashes a web sign-in password with argon2id, in the PHC string format.
func HashPassword(password string) (string, error) {
	if len(password) < 8 {
		return "", fb.Errorf(fb.EInvalid, "The password must be at least 8 characters long.")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether password matches a hash made by HashPassword.
func CheckPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var mem, t uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &threads); err != nil {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, mem, threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// SetPassword sets a local user's web sign-in password.
func (s *Service) SetPassword(ctx context.Context, userName, password string) error {
	if err := checkBounds(octets("password", password, MaxPasswordBytes)); err != nil {
		return err
	}
	if _, err := s.Store.User(ctx, userName); err != nil {
		return err
	}
	hash, err := s.hashPassword(ctx, password)
	if err != nil {
		return err
	}
	// A new password ends the person's sign-in sessions everywhere; their
	// API tokens stay. Only the command line sets passwords this way.
	return s.Store.ChangePassword(ctx, userName, hash, s.passwordAudit(CLI, userName))
}

// passwordAudit is the audit entry of a password set or replaced; the
// password itself is only ever "replaced".
func (s *Service) passwordAudit(actor fb.User, userName string) *fb.AuditEntry {
	e := s.auditEntry(actor, fb.AuditUserPassword, userName)
	e.Changes = fb.Changes{"password": {fb.ChangeReplaced, fb.ChangeReplaced}}
	return e
}

// Sign-in limits (API.md, "Authentication"). They are counted in memory by
// each instance: behind a load balancer a person gets these many tries at
// each instance.
const (
	SignInWindow        = 5 * time.Minute
	SignInFailsPerName  = 5
	SignInFailsPerAddr  = 20
	passwordCheckSlots  = 2               // each argon2id check takes 64 MiB
	passwordCheckWait   = 5 * time.Second // longer in the queue: 429, try again
	passwordCheckRetry  = 1               // seconds
	jiraTokenAuditEntry = "Jira personal access token"
)

// guards are the service's in-memory limits, made on first use.
type guards struct {
	once             sync.Once
	names, addresses *ratelimit.Failures
	reads            *ratelimit.Buckets
	branches         *branchCache
	// checks bounds the password hashes running at once; wait is how long
	// one may queue for a slot.
	checks chan struct{}
	wait   time.Duration
}

func (s *Service) guards() *guards {
	g := &s.guard
	g.once.Do(func() {
		g.names = &ratelimit.Failures{Max: SignInFailsPerName, Window: SignInWindow}
		g.addresses = &ratelimit.Failures{Max: SignInFailsPerAddr, Window: SignInWindow}
		if g.reads == nil { // tests set their own
			g.reads = &ratelimit.Buckets{Rate: providerReadRate, Burst: providerReadBurst}
		}
		g.branches = &branchCache{}
		g.checks = make(chan struct{}, passwordCheckSlots)
		if g.wait == 0 {
			g.wait = passwordCheckWait
		}
	})
	return g
}

// SignIn checks a local user's web sign-in password, within the sign-in
// limits; client is the client's address.
func (s *Service) SignIn(ctx context.Context, name, password, client string) (fb.User, error) {
	if err := checkBounds(chars("name", name, MaxNameChars), octets("password", password, MaxPasswordBytes)); err != nil {
		return fb.User{}, err
	}
	return s.GuardSignIn(ctx, name, client, func(ctx context.Context) (fb.User, error) {
		return s.checkPassword(ctx, name, password)
	})
}

// GuardSignIn runs one sign-in attempt within the sign-in limits: once the
// name tried ("" when it is not known, as for a Jira token) or the client
// address has used up its failures, the answer is 429 until the window
// passes, whatever the attempt would have said. A failure (an
// unauthenticated answer) is counted and audited.
func (s *Service) GuardSignIn(ctx context.Context, name, client string, attempt func(context.Context) (fb.User, error)) (fb.User, error) {
	if err := checkBounds(chars("name", name, MaxNameChars)); err != nil {
		return fb.User{}, err
	}
	g, now := s.guards(), s.now()
	nameKey := strings.ToLower(strings.TrimSpace(name))
	// The attempt is reserved before it is checked, under the limiter's
	// lock: sign-ins running at once cannot all pass a check made before
	// any of them failed.
	addrRes, retry, ok := g.addresses.Reserve(ratelimit.AddressKey(client), now)
	var nameRes ratelimit.Reservation
	if nameKey != "" && ok {
		if nameRes, retry, ok = g.names.Reserve(nameKey, now); !ok {
			addrRes.Refund()
		}
	}
	if !ok {
		return fb.User{}, &fb.Error{Code: fb.ERateLimited, RetryAfter: retry,
			Message: fmt.Sprintf("Too many failed sign-ins. Try again in %s.", waitText(retry))}
	}
	u, err := attempt(ctx)
	if fb.ErrorCode(err) != fb.EUnauthenticated {
		addrRes.Refund() // not a failure: success, or the check could not be made
		nameRes.Refund()
		return u, err
	}
	entry := fb.AuditEntry{User: name, Action: fb.AuditSignInFailure, Target: "from " + client}
	if errors.Is(err, errDeactivated) {
		entry.Target = "account deactivated, from " + client
	}
	if name == "" {
		entry.Target = jiraTokenAuditEntry + " from " + client
	}
	s.audit(ctx, entry, err)
	return u, err
}

func waitText(seconds int) string {
	if seconds < 120 {
		return fmt.Sprintf("%d seconds", seconds)
	}
	return fmt.Sprintf("%d minutes", (seconds+59)/60)
}

// checkPassword checks a password against the stored hash. It hashes once
// whether the account exists, has no password or has one, so the time
// taken tells nothing about which.
func (s *Service) checkPassword(ctx context.Context, name, password string) (fb.User, error) {
	bad := fb.Errorf(fb.EUnauthenticated, "The user name or password is wrong.")
	release, err := s.passwordSlot(ctx)
	if err != nil {
		return fb.User{}, err
	}
	defer release()
	hash, err := s.Store.PasswordHash(ctx, name)
	if err != nil && fb.ErrorCode(err) != fb.ENotFound {
		return fb.User{}, err
	}
	if hash == "" {
		CheckPassword(dummyHash(), password) // spend the same time as for a known user with a password
		return fb.User{}, bad
	}
	if !CheckPassword(hash, password) {
		return fb.User{}, bad
	}
	u, err := s.Tracker.User(ctx, name)
	if err != nil {
		return fb.User{}, err
	}
	if !u.Active {
		// The same answer as a wrong password: only someone who knows the
		// password would learn the account is deactivated. The audit says.
		return fb.User{}, &fb.Error{Code: fb.EUnauthenticated, Message: bad.Message, Err: errDeactivated}
	}
	return u, nil
}

// hashPassword is HashPassword in one of the few slots that password
// hashing may take at once (64 MiB each).
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	release, err := s.passwordSlot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return HashPassword(password)
}

// errDeactivated is why a right password was refused, for the audit log.
var errDeactivated = errors.New("account deactivated")

// passwordSlot waits for one of the few password checks that may run at
// once. A flood of sign-ins queues, then is told to come back: 429 with
// Retry-After rather than memory exhausted or requests piling up.
func (s *Service) passwordSlot(ctx context.Context) (release func(), err error) {
	g := s.guards()
	t := time.NewTimer(g.wait)
	defer t.Stop()
	select {
	case g.checks <- struct{}{}:
		return func() { <-g.checks }, nil
	case <-t.C:
		return nil, &fb.Error{Code: fb.ERateLimited, RetryAfter: passwordCheckRetry,
			Message: "Too many sign-ins are being checked at once. Try again in a moment."}
	case <-ctx.Done():
		return nil, fb.Errorf(fb.ERateLimited, "The sign-in was not checked in time. Try again in a moment.")
	}
}

// dummyHash is checked for unknown user names and accounts without a
// password, so that timing does not tell which names exist.
var dummyHash = sync.OnceValue(func() string {
	h, _ := HashPassword("forgebridge-timing-equaliser")
	return h
})
