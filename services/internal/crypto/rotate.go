package crypto

import (
	"context"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// RotateOptions tune a rotation; zero values take the defaults.
type RotateOptions struct {
	Batch    int              // keys rewrapped per transaction (default 2000)
	Progress func(done int64) // called after each batch with the running total
}

// Rotate rewraps every subject key that is not yet under the current master
// key version, online: each batch locks only its own rows for one short
// transaction, and each row's wrapped key and version change together, so a
// concurrent reader unwraps either the old form with the old version or the
// new form with the new one. Keys created meanwhile are already current.
// A shred that races a batch waits for it and then clears the row. Safe to
// run again after an interruption: it picks up what is left.
func (k *Keyring) Rotate(ctx context.Context, db *gorm.DB, o RotateOptions) (int64, error) {
	batch := o.Batch
	if batch <= 0 {
		batch = 2000
	}
	type keyRow struct {
		ID               string
		WrappedKey       []byte
		MasterKeyVersion int
	}
	var done int64
	last := "00000000-0000-0000-0000-000000000000"
	for {
		var n int
		err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			var rows []keyRow
			// Keyset paging on the primary key: each batch starts where the
			// last ended, so the run reads the table once.
			err := tx.Raw(`SELECT id, wrapped_key, master_key_version FROM subject_keys
				WHERE id > ? AND master_key_version <> ? AND wrapped_key IS NOT NULL
				ORDER BY id LIMIT ? FOR UPDATE`, last, k.current, batch).Scan(&rows).Error
			if err != nil {
				return fmt.Errorf("crypto: rotate: read keys: %w", err)
			}
			n = len(rows)
			if n == 0 {
				return nil
			}
			values := make([]string, n)
			args := make([]any, 0, 2*n+1)
			args = append(args, k.current)
			for i, r := range rows {
				raw, err := k.unwrapKey(r.ID, r.MasterKeyVersion, r.WrappedKey)
				if err != nil {
					return err
				}
				values[i] = "(?::uuid, ?::bytea)"
				args = append(args, r.ID, k.wrapKey(r.ID, raw))
				clear(raw)
			}
			last = rows[n-1].ID
			return tx.Exec(`UPDATE subject_keys s SET wrapped_key = v.w, master_key_version = ?
				FROM (VALUES `+strings.Join(values, ",")+`) AS v(id, w) WHERE s.id = v.id`, args...).Error
		})
		if err != nil {
			return done, err
		}
		if n == 0 {
			return done, nil
		}
		done += int64(n)
		if o.Progress != nil {
			o.Progress(done)
		}
	}
}

// VersionCount is how many live (not shredded) subject keys one master key
// version wraps.
type VersionCount struct {
	Version int
	Keys    int64
}

// KeyVersions answers the live subject keys per master key version, oldest
// first: a version with none left can be retired from the configuration.
func KeyVersions(ctx context.Context, db *gorm.DB) ([]VersionCount, error) {
	var out []VersionCount
	err := db.WithContext(ctx).Raw(`SELECT master_key_version AS version, count(*) AS keys FROM subject_keys
		WHERE wrapped_key IS NOT NULL GROUP BY master_key_version ORDER BY master_key_version`).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("crypto: count keys per version: %w", err)
	}
	return out, nil
}
