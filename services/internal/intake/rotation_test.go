package intake

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/policy"
	"gorm.io/gorm"
)

// Rotating the master key while the service takes submissions and reads:
// every read during the rotation decrypts, afterwards every subject key is
// on the new version, every case decrypts with the old version retired, and
// the keyed lookup hashes written before the rotation still match.
func TestMasterKeyRotationUnderTraffic(t *testing.T) {
	gdb := pgtest.Open(t)
	ctx := access.WithActor(context.Background(), "rotation-test")
	v1, _ := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	v2, _ := crypto.ParseMasterKey(crypto.GenerateMasterKey())
	before, err := crypto.NewKeyring(v1) // today's single REDRESS_MASTER_KEY
	if err != nil {
		t.Fatal(err)
	}
	during, err := crypto.NewVersionedKeyring(crypto.MasterKeys{Current: 2, Keys: map[int][]byte{1: v1, 2: v2}})
	if err != nil {
		t.Fatal(err)
	}
	after, err := crypto.NewVersionedKeyring(crypto.MasterKeys{Current: 2, Keys: map[int][]byte{2: v2}, Root: v1})
	if err != nil {
		t.Fatal(err)
	}
	server := func(k *crypto.Keyring) *Server {
		cals, err := calendar.LoadEmbedded()
		if err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.DiscardHandler)
		srv := New(Config{DB: gdb, Keys: k, Policy: policy.New(cals), Starter: NewStarter(nil, gdb, log), Log: log})
		t.Cleanup(srv.Close)
		return srv
	}
	old := server(before)
	var ids []string
	for i := range 200 {
		resp, err := old.SubmitComplaint(ctx, testRequest(fmt.Sprintf("before-%04d", i)))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, resp.GetCase().GetId())
	}
	if got := versions(t, gdb); got[1] == 0 || got[2] != 0 {
		t.Fatalf("before rotation: keys per version %v", got)
	}

	// Traffic through the service configured with both versions, interleaved
	// with the rotation: each batch waits for one submit-and-read round.
	live := server(during)
	round := make(chan chan error)
	stop := make(chan struct{})
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			var reply chan error
			select {
			case <-stop:
				return
			case reply = <-round:
			}
			resp, err := live.SubmitComplaint(ctx, testRequest(fmt.Sprintf("during-%04d", i)))
			if err == nil {
				mu.Lock()
				ids = append(ids, resp.GetCase().GetId())
				mu.Unlock()
				err = readable(ctx, live, resp.GetCase().GetId(), ids[i%200])
			}
			reply <- err
		}
	}()
	var rounds int
	n, err := during.Rotate(ctx, gdb, crypto.RotateOptions{Batch: 20, Progress: func(int64) {
		reply := make(chan error)
		round <- reply
		if err := <-reply; err != nil {
			t.Errorf("traffic during rotation: %v", err)
		}
		rounds++
	}})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if n < 200 || rounds < 10 {
		t.Fatalf("rotated %d keys in %d batches, want the 200+ old ones in 10+", n, rounds)
	}
	got := versions(t, gdb)
	if got[1] != 0 || got[2] != int64(len(ids)) {
		t.Fatalf("after rotation: keys per version %v, want all %d on version 2", got, len(ids))
	}

	// Version 1 retired from wrapping: everything still opens, and the
	// lookup hashes (derived from the root, not the wrapping key) still match.
	retired := server(after)
	for _, id := range ids {
		if err := readable(ctx, retired, id); err != nil {
			t.Fatal(err)
		}
	}
	var matching int64
	gdb.Table("complainants").Where("phone_index = ?", after.PhoneIndex("+8613800138000")).Count(&matching)
	if matching != int64(len(ids)) {
		t.Fatalf("%d of %d complainants found by phone after rotation", matching, len(ids))
	}
	if _, err := before.SubjectKey(gdb, firstKey(t, gdb)); err == nil {
		t.Fatal("the retired version-1 key still unwraps a subject key")
	}
}

func readable(ctx context.Context, srv *Server, ids ...string) error {
	for _, id := range ids {
		resp, err := srv.GetCase(ctx, &intakev1.GetCaseRequest{CaseId: id})
		if err != nil {
			return err
		}
		if got, want := resp.GetCase().GetComplainant().GetName(), crypto.MaskName("Wang Fang"); got != want {
			return fmt.Errorf("case %s: complainant name reads %q, want %q", id, got, want)
		}
	}
	return nil
}

func versions(t *testing.T, gdb *gorm.DB) map[int]int64 {
	t.Helper()
	counts, err := crypto.KeyVersions(context.Background(), gdb)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]int64{}
	for _, c := range counts {
		out[c.Version] = c.Keys
	}
	return out
}

func firstKey(t *testing.T, gdb *gorm.DB) string {
	var id string
	if err := gdb.Raw("SELECT id FROM subject_keys LIMIT 1").Scan(&id).Error; err != nil {
		t.Fatal(err)
	}
	return id
}
