package jira

import (
	"context"
	"testing"
)

// BenchmarkGrantComment is one smart-commit comment as the person: the grant
// read from SQLite (and opened), then the call to the fake Jira.
func BenchmarkGrantComment(b *testing.B) {
	g := newGrantEnv(b)
	g.signIn(b, "alice", g.alice)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if err := g.tr.Comment(ctx, g.alice, "PROJ-1", "x"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGrantRefresh is a comment whose access token has expired: the
// locked refresh (row lock, token endpoint, rotated grant written) and then
// the call.
func BenchmarkGrantRefresh(b *testing.B) {
	g := newGrantEnv(b)
	g.signIn(b, "alice", g.alice)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		g.expire(b)
		b.StartTimer()
		if err := g.tr.Comment(ctx, g.alice, "PROJ-1", "x"); err != nil {
			b.Fatal(err)
		}
	}
}
