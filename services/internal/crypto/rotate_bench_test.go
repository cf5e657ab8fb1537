package crypto

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/pgtest"
)

// BenchmarkRotate measures `redress keys rotate` on many subject keys
// (REDRESS_BENCH_KEYS, default 1,000,000) seeded with COPY:
//
//	go test -run '^$' -bench BenchmarkRotate -benchtime 1x ./internal/crypto/
func BenchmarkRotate(b *testing.B) {
	n := 1_000_000
	if s := os.Getenv("REDRESS_BENCH_KEYS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	ctx := context.Background()
	v1, _ := ParseMasterKey(GenerateMasterKey())
	v2, _ := ParseMasterKey(GenerateMasterKey())
	old, _ := NewKeyring(v1)
	next, _ := NewVersionedKeyring(MasterKeys{Current: 2, Keys: map[int][]byte{1: v1, 2: v2}})
	for range b.N {
		b.StopTimer()
		url := pgtest.URL(b)
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		i := 0
		_, err = conn.CopyFrom(ctx, pgx.Identifier{"subject_keys"}, []string{"id", "wrapped_key", "master_key_version"},
			pgx.CopyFromFunc(func() ([]any, error) {
				if i == n {
					return nil, nil
				}
				i++
				id := uuid.NewString()
				return []any{id, old.wrapKey(id, randomBytes(keySize)), 1}, nil
			}))
		_ = conn.Close(ctx)
		if err != nil {
			b.Fatal(err)
		}
		gdb, err := db.Open(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		gdb.Exec("VACUUM ANALYZE subject_keys")
		b.StartTimer()
		start := time.Now()
		done, err := next.Rotate(ctx, gdb, RotateOptions{})
		took := time.Since(start)
		b.StopTimer()
		if err != nil || done != int64(n) {
			b.Fatalf("rotated %d of %d: %v", done, n, err)
		}
		b.ReportMetric(float64(n)/took.Seconds(), "keys/s")
		b.Logf("rotated %d subject keys in %s (%.0f keys/s)", n, took.Round(time.Millisecond), float64(n)/took.Seconds())
		if sqlDB, err := gdb.DB(); err == nil {
			_ = sqlDB.Close()
		}
	}
}
