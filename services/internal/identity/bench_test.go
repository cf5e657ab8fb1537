package identity

import (
	"context"
	"testing"
	"time"

	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/pgtest"
)

// BenchmarkAuthenticate is the cost the guard adds to every RPC: one indexed
// read (the last-used stamp is written at most once a minute).
//
//	go test -run '^$' -bench Authenticate ./internal/identity/
func BenchmarkAuthenticate(b *testing.B) {
	ctx := context.Background()
	s := &Store{DB: pgtest.Open(b)}
	if _, err := s.AddUser(ctx, "bench", NewUser{Username: "feed", Role: access.Automation}); err != nil {
		b.Fatal(err)
	}
	secret, _, err := s.IssueToken(ctx, "bench", "feed", "bench", nil, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Authenticate(ctx, secret); err != nil {
			b.Fatal(err)
		}
	}
}
