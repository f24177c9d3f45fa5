package azure

// SetPullsPageSize makes pull request pages of n for a test, so that paging
// shows with a few pull requests; the returned func restores the size.
func SetPullsPageSize(n int) (restore func()) {
	old := pullsPageSize
	pullsPageSize = n
	return func() { pullsPageSize = old }
}
