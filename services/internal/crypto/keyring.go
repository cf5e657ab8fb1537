// Package crypto holds the encryption of personal data at rest: one key per
// data subject (wrapped by the master key, so deleting the wrapped key
// crypto-shreds everything sealed under it), keyed-hash lookup indexes, and
// the masks shown to people who may not see the clear value.
package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

const keySize = 32

// ErrShredded is answered for a subject whose key was destroyed.
var ErrShredded = errors.New("crypto: the subject's key was shredded")

// Keyring derives the wrapping and index keys from the master key.
type Keyring struct {
	wrap  cipher.AEAD
	index []byte
	sign  ed25519.PrivateKey
}

// GenerateMasterKey answers a fresh master key in the text form that
// ParseMasterKey reads (base64 of 32 random bytes).
func GenerateMasterKey() string {
	return base64.StdEncoding.EncodeToString(randomBytes(keySize))
}

// ParseMasterKey reads a base64 master key of exactly 32 bytes.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("crypto: master key is empty (set REDRESS_MASTER_KEY)")
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("crypto: master key is not valid base64")
	}
	if len(b) != keySize {
		return nil, fmt.Errorf("crypto: master key has %d bytes, want %d", len(b), keySize)
	}
	return b, nil
}

// NewKeyring derives independent keys for wrapping and for indexes, so a
// leaked index key reveals nothing about the wrapped subject keys.
func NewKeyring(master []byte) (*Keyring, error) {
	if len(master) != keySize {
		return nil, fmt.Errorf("crypto: master key has %d bytes, want %d", len(master), keySize)
	}
	wrapKey, err := hkdf.Key(sha256.New, master, nil, "redress subject-key wrapping v1", keySize)
	if err != nil {
		return nil, err
	}
	indexKey, err := hkdf.Key(sha256.New, master, nil, "redress lookup index v1", keySize)
	if err != nil {
		return nil, err
	}
	signSeed, err := hkdf.Key(sha256.New, master, nil, "redress document signing v1", ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	wrap, err := newAEAD(wrapKey)
	if err != nil {
		return nil, err
	}
	return &Keyring{wrap: wrap, index: indexKey, sign: ed25519.NewKeyFromSeed(signSeed)}, nil
}

// SigningKey signs the documents Redress issues (deletion certificates), so
// anyone can check them offline against the operator's published public key.
func (k *Keyring) SigningKey() ed25519.PrivateKey { return k.sign }

// subjectKeyRow is the subject_keys table.
type subjectKeyRow struct {
	ID         string `gorm:"type:uuid;primaryKey"`
	WrappedKey []byte
	CreatedAt  time.Time
	ShreddedAt *time.Time
}

func (subjectKeyRow) TableName() string { return "subject_keys" }

// NewSubjectKey creates and stores a key for one data subject inside tx.
func (k *Keyring) NewSubjectKey(tx *gorm.DB) (SubjectKey, error) {
	id := uuid.NewString()
	raw := randomBytes(keySize)
	row := subjectKeyRow{ID: id, WrappedKey: seal(k.wrap, raw, []byte("subject-key\x00"+id)), CreatedAt: time.Now()}
	if err := tx.Create(&row).Error; err != nil {
		return SubjectKey{}, fmt.Errorf("crypto: store subject key: %w", err)
	}
	return newSubjectKey(id, raw)
}

// SubjectKey loads and unwraps a subject's key; ErrShredded once shredded.
func (k *Keyring) SubjectKey(tx *gorm.DB, id string) (SubjectKey, error) {
	var row subjectKeyRow
	if err := tx.Take(&row, "id = ?", id).Error; err != nil {
		return SubjectKey{}, fmt.Errorf("crypto: load subject key: %w", err)
	}
	if row.ShreddedAt != nil || row.WrappedKey == nil {
		return SubjectKey{}, ErrShredded
	}
	raw, err := open(k.wrap, row.WrappedKey, []byte("subject-key\x00"+id))
	if err != nil {
		return SubjectKey{}, fmt.Errorf("crypto: unwrap subject key %s: %w", id, err)
	}
	return newSubjectKey(id, raw)
}

// Shred destroys a subject's key: everything sealed under it becomes
// unreadable, while the rows (and their audit digests) stay.
func (k *Keyring) Shred(tx *gorm.DB, id string) error {
	res := tx.Model(&subjectKeyRow{}).Where("id = ?", id).
		Updates(map[string]any{"wrapped_key": nil, "shredded_at": time.Now()})
	if res.Error != nil {
		return fmt.Errorf("crypto: shred subject key: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("crypto: shred: no subject key %s", id)
	}
	return nil
}

// SubjectKey seals and opens one subject's fields. The field name is bound
// into each ciphertext, so a value cannot be moved to another field or subject.
type SubjectKey struct {
	ID   string
	aead cipher.AEAD
}

func newSubjectKey(id string, raw []byte) (SubjectKey, error) {
	a, err := newAEAD(raw)
	if err != nil {
		return SubjectKey{}, err
	}
	return SubjectKey{ID: id, aead: a}, nil
}

// Seal encrypts plaintext for field; an empty value stays empty (nil).
func (s SubjectKey) Seal(field string, plaintext []byte) ([]byte, error) {
	if len(plaintext) == 0 {
		return nil, nil
	}
	if s.aead == nil {
		return nil, errors.New("crypto: zero SubjectKey")
	}
	return seal(s.aead, plaintext, s.aad(field)), nil
}

// Open decrypts what Seal produced for the same field; empty stays empty.
func (s SubjectKey) Open(field string, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) == 0 {
		return nil, nil
	}
	if s.aead == nil {
		return nil, errors.New("crypto: zero SubjectKey")
	}
	return open(s.aead, ciphertext, s.aad(field))
}

func (s SubjectKey) aad(field string) []byte { return []byte(field + "\x00" + s.ID) }

// Ciphertexts are version || nonce || sealed, so the scheme can change later.
const version byte = 1

func seal(a cipher.AEAD, plaintext, aad []byte) []byte {
	nonce := randomBytes(a.NonceSize())
	out := append([]byte{version}, nonce...)
	return a.Seal(out, nonce, plaintext, aad)
}

var errCiphertext = errors.New("crypto: ciphertext is malformed or was altered")

func open(a cipher.AEAD, ct, aad []byte) ([]byte, error) {
	n := a.NonceSize()
	if len(ct) < 1+n+a.Overhead() || ct[0] != version {
		return nil, errCiphertext
	}
	pt, err := a.Open(nil, ct[1:1+n], ct[1+n:], aad)
	if err != nil {
		return nil, errCiphertext
	}
	return pt, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto: no randomness: " + err.Error()) // crypto/rand never fails on Linux
	}
	return b
}
