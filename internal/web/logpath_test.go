package web

import "testing"

// TestLoggedPathHidesEnrolmentSecrets: an enrolment link's secret never
// reaches the log.
func TestLoggedPathHidesEnrolmentSecrets(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/enrol/fbe_0123456789abcdef", "/enrol/[redacted]"},
		{"/enrol/", "/enrol/[redacted]"},
		{"/admin/integrations/x", "/admin/integrations/x"},
	} {
		if got := loggedPath(tc.in); got != tc.want {
			t.Errorf("loggedPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
