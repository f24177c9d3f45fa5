package store_test

import (
	"context"
	"testing"

	"github.com/forgebridge/forgebridge/internal/store/storetest"
)

func BenchmarkReadSettings(b *testing.B) {
	s := storetest.OpenSQLite(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Settings(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkReadAPITokenMissing(b *testing.B) {
	s := storetest.OpenSQLite(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		s.APIToken(ctx, "nope")
	}
}
