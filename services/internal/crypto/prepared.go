package crypto

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// PreparedKey is a new subject key made in memory, to be stored with
// StorePreparedKeys in the transaction that stores what it seals. It lets
// one transaction store many subjects' keys in a single statement.
type PreparedKey struct {
	SubjectKey
	row subjectKeyRow
}

// PrepareSubjectKey makes a subject key without storing it.
func (k *Keyring) PrepareSubjectKey() (PreparedKey, error) {
	id := uuid.NewString()
	raw := randomBytes(keySize)
	sk, err := newSubjectKey(id, raw)
	if err != nil {
		return PreparedKey{}, err
	}
	row := subjectKeyRow{ID: id, WrappedKey: k.wrapKey(id, raw), MasterKeyVersion: k.current, CreatedAt: time.Now()}
	return PreparedKey{SubjectKey: sk, row: row}, nil
}

// StorePreparedKeys stores prepared keys inside tx in one statement.
func StorePreparedKeys(tx *gorm.DB, keys []PreparedKey) error {
	if len(keys) == 0 {
		return nil
	}
	rows := make([]subjectKeyRow, len(keys))
	for i, k := range keys {
		rows[i] = k.row
	}
	if err := tx.Create(&rows).Error; err != nil {
		return fmt.Errorf("crypto: store subject keys: %w", err)
	}
	return nil
}
