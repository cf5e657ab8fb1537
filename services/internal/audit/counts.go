package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"gorm.io/gorm"
)

// Counted is an event that anyone able to reach an endpoint can repeat at
// will (a refused call, a callback with a bad signature). Each is counted in
// audit_counts under its source and minute, not appended: the chain gets one
// entry per source and minute with the count (FlushCounts), so a flood grows
// a counter rather than the chain and the case timelines, and never queues on
// the chain's head lock.
type Counted struct {
	Action     string
	Actor      string
	ObjectType string // the source counted: a principal, a connector
	ObjectID   string
	Kind       string // tallied within the minute (method, reason)
	Sample     string // an object it named; the first few are kept
	At         time.Time
}

// maxSamples bounds the objects named in one aggregated entry.
const maxSamples = 10

// Count adds c to its minute's counter.
func Count(db *gorm.DB, c Counted) error {
	if c.Action == "" || c.Actor == "" || c.ObjectType == "" || c.ObjectID == "" {
		return fmt.Errorf("audit: count: action, actor, object type and object id are required")
	}
	if c.At.IsZero() {
		c.At = time.Now()
	}
	if r := []rune(c.Sample); len(r) > 80 { // a caller's string: keep it short
		c.Sample = string(r[:80])
	}
	return db.Exec(`INSERT INTO audit_counts AS c (minute, action, actor, object_type, object_id, count, tally, samples)
		VALUES (@minute, @action, @actor, @otype, @oid, 1, jsonb_build_object(CAST(@kind AS text), 1),
		        CASE WHEN CAST(@sample AS text) = '' THEN '[]'::jsonb ELSE jsonb_build_array(CAST(@sample AS text)) END)
		ON CONFLICT (minute, action, actor, object_type, object_id) DO UPDATE SET
		    count = c.count + 1,
		    tally = c.tally || jsonb_build_object(CAST(@kind AS text), coalesce((c.tally ->> CAST(@kind AS text))::bigint, 0) + 1),
		    samples = CASE WHEN CAST(@sample AS text) = '' OR c.samples @> jsonb_build_array(CAST(@sample AS text))
		                        OR jsonb_array_length(c.samples) >= @max
		                   THEN c.samples ELSE c.samples || jsonb_build_array(CAST(@sample AS text)) END`,
		map[string]any{"minute": c.At.UTC().Truncate(time.Minute), "action": c.Action, "actor": c.Actor,
			"otype": c.ObjectType, "oid": c.ObjectID, "kind": c.Kind, "sample": c.Sample, "max": maxSamples}).Error
}

type countRow struct {
	Minute     time.Time
	Action     string
	Actor      string
	ObjectType string
	ObjectID   string
	Count      int64
	Tally      string
	Samples    string
}

// FlushCounts moves the counters of minutes before `before` to the chain,
// one entry each, in one transaction: the rows are deleted as their entries
// are appended, so several processes may flush at once and none is written
// twice. It answers the number of entries written.
func FlushCounts(ctx context.Context, db *gorm.DB, before time.Time) (int, error) {
	n := 0
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var rows []countRow
		if err := tx.Raw(`DELETE FROM audit_counts WHERE minute < ?
			RETURNING minute, action, actor, object_type, object_id, count, tally::text AS tally, samples::text AS samples`,
			before.UTC()).Scan(&rows).Error; err != nil {
			return fmt.Errorf("audit: take counts: %w", err)
		}
		sort.Slice(rows, func(i, j int) bool {
			a, b := rows[i], rows[j]
			if !a.Minute.Equal(b.Minute) {
				return a.Minute.Before(b.Minute)
			}
			if a.Action != b.Action {
				return a.Action < b.Action
			}
			if a.Actor != b.Actor {
				return a.Actor < b.Actor
			}
			return a.ObjectType+"\x00"+a.ObjectID < b.ObjectType+"\x00"+b.ObjectID
		})
		entries := make([]Entry, len(rows))
		for i, r := range rows {
			var tally map[string]any
			var samples []any
			_ = json.Unmarshal([]byte(r.Tally), &tally)
			_ = json.Unmarshal([]byte(r.Samples), &samples)
			entries[i] = Entry{Actor: r.Actor, Action: r.Action, ObjectType: r.ObjectType, ObjectID: r.ObjectID,
				Details: map[string]any{"aggregated": true, "minute": r.Minute.UTC().Format(time.RFC3339),
					"count": r.Count, "by": tally, "samples": samples}}
		}
		_, err := AppendAll(tx, entries)
		n = len(entries)
		return err
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// RunCountFlusher flushes the minutes that have ended, once a minute, until
// ctx ends; then it flushes everything counted, the current minute too.
// Counters are rows, so a crash loses none: the next flush writes them.
func RunCountFlusher(ctx context.Context, db *gorm.DB, log *slog.Logger) error {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if _, err := FlushCounts(context.WithoutCancel(ctx), db, time.Now().Add(time.Minute)); err != nil {
				log.Error("audit: flushing counted events at shutdown failed", "err", err)
			}
			return nil
		case now := <-t.C:
			if _, err := FlushCounts(ctx, db, now.UTC().Truncate(time.Minute)); err != nil && ctx.Err() == nil {
				log.Error("audit: flushing counted events failed", "err", err)
			}
		}
	}
}
