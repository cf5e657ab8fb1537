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
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

const keySize = 32

// ErrShredded is answered for a subject whose key was destroyed.
var ErrShredded = errors.New("crypto: the subject's key was shredded")

// Keyring derives the wrapping and index keys from the master keys. The
// wrapping key is versioned (see MasterKeys); the index and signing keys
// come from the root and never change with a rotation.
type Keyring struct {
	wrap    map[int]cipher.AEAD // by master key version
	current int                 // the version new and rewrapped keys use
	index   []byte
	sign    ed25519.PrivateKey
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

// NewKeyring is the keyring of a single master key (version 1, also the root).
func NewKeyring(master []byte) (*Keyring, error) {
	return NewVersionedKeyring(MasterKeys{Current: 1, Keys: map[int][]byte{1: master}})
}

// MasterKeys are the versions of the master key a process knows. Subject
// keys are wrapped under Keys[Current]; older versions are kept only to
// unwrap rows not yet rewrapped by `redress keys rotate`, and are retired
// (dropped from the configuration) once no row names them.
//
// Root derives the keys that must never change with a rotation: the lookup
// index key (keyed hashes of phone numbers and emails, fingerprints, audit
// text digests: rows already in the database must keep matching) and the
// certificate signing key (published to regulators). Nil means Keys[1],
// today's single master key, so existing deployments derive the same keys.
// Once version 1 no longer wraps anything it may be dropped from Keys and
// kept as Root alone: it then unwraps nothing the database still holds.
type MasterKeys struct {
	Current int
	Keys    map[int][]byte
	Root    []byte
}

// NewVersionedKeyring derives independent keys for wrapping (one per
// version) and for indexes and signing (from the root), so a leaked index
// key reveals nothing about the wrapped subject keys.
func NewVersionedKeyring(m MasterKeys) (*Keyring, error) {
	if m.Keys[m.Current] == nil {
		return nil, fmt.Errorf("crypto: no master key for the current version %d", m.Current)
	}
	root := m.Root
	if root == nil {
		root = m.Keys[1]
	}
	if root == nil {
		return nil, errors.New("crypto: no root key: give the version-1 master key (as a previous version or as the root)")
	}
	if len(root) != keySize {
		return nil, fmt.Errorf("crypto: root key has %d bytes, want %d", len(root), keySize)
	}
	k := &Keyring{wrap: map[int]cipher.AEAD{}, current: m.Current}
	for v, master := range m.Keys {
		if v < 1 {
			return nil, fmt.Errorf("crypto: master key version %d: versions start at 1", v)
		}
		if len(master) != keySize {
			return nil, fmt.Errorf("crypto: master key version %d has %d bytes, want %d", v, len(master), keySize)
		}
		// Version 1 keeps the label it always had, so rows wrapped before
		// versions existed still open.
		label := "redress subject-key wrapping v1"
		if v > 1 {
			label = fmt.Sprintf("redress subject-key wrapping v1 master %d", v)
		}
		wrapKey, err := hkdf.Key(sha256.New, master, nil, label, keySize)
		if err != nil {
			return nil, err
		}
		if k.wrap[v], err = newAEAD(wrapKey); err != nil {
			return nil, err
		}
	}
	var err error
	if k.index, err = hkdf.Key(sha256.New, root, nil, "redress lookup index v1", keySize); err != nil {
		return nil, err
	}
	signSeed, err := hkdf.Key(sha256.New, root, nil, "redress document signing v1", ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	k.sign = ed25519.NewKeyFromSeed(signSeed)
	return k, nil
}

// CurrentVersion is the master key version new subject keys are wrapped under.
func (k *Keyring) CurrentVersion() int { return k.current }

// wrapKey wraps a subject key under the current master key.
func (k *Keyring) wrapKey(id string, raw []byte) []byte {
	return seal(k.wrap[k.current], raw, subjectKeyAAD(id))
}

// unwrapKey opens a wrapped subject key with the master key version its row names.
func (k *Keyring) unwrapKey(id string, version int, wrapped []byte) ([]byte, error) {
	a, ok := k.wrap[version]
	if !ok {
		return nil, fmt.Errorf("crypto: subject key %s is wrapped under master key version %d, which this process was not given", id, version)
	}
	raw, err := open(a, wrapped, subjectKeyAAD(id))
	if err != nil {
		return nil, fmt.Errorf("crypto: unwrap subject key %s: %w", id, err)
	}
	return raw, nil
}

func subjectKeyAAD(id string) []byte { return []byte("subject-key\x00" + id) }

// SigningKey signs the documents Redress issues (deletion certificates), so
// anyone can check them offline against the operator's published public key.
func (k *Keyring) SigningKey() ed25519.PrivateKey { return k.sign }

// subjectKeyRow is the subject_keys table.
type subjectKeyRow struct {
	ID               string `gorm:"type:uuid;primaryKey"`
	WrappedKey       []byte
	MasterKeyVersion int
	CreatedAt        time.Time
	ShreddedAt       *time.Time
}

func (subjectKeyRow) TableName() string { return "subject_keys" }

// NewSubjectKey creates and stores a key for one data subject inside tx.
func (k *Keyring) NewSubjectKey(tx *gorm.DB) (SubjectKey, error) {
	id := uuid.NewString()
	raw := randomBytes(keySize)
	row := subjectKeyRow{ID: id, WrappedKey: k.wrapKey(id, raw), MasterKeyVersion: k.current, CreatedAt: time.Now()}
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
	raw, err := k.unwrapKey(id, row.MasterKeyVersion, row.WrappedKey)
	if err != nil {
		return SubjectKey{}, err
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

// ParseMasterKeys reads the configured master keys: the current key and its
// version, earlier versions as "VERSION:BASE64" items, and an optional root
// (see MasterKeys). With only a current key, it is version 1 and the root:
// a single REDRESS_MASTER_KEY works as it always did.
func ParseMasterKeys(current string, version int, previous []string, root string) (MasterKeys, error) {
	if version < 1 {
		return MasterKeys{}, fmt.Errorf("crypto: master key version %d: versions start at 1", version)
	}
	cur, err := ParseMasterKey(current)
	if err != nil {
		return MasterKeys{}, err
	}
	m := MasterKeys{Current: version, Keys: map[int][]byte{version: cur}}
	for _, item := range previous {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		v, key, ok := strings.Cut(item, ":")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 1 {
			return MasterKeys{}, errors.New("crypto: a previous master key is not VERSION:BASE64 (e.g. 1:AbC...=)")
		}
		if _, dup := m.Keys[n]; dup {
			return MasterKeys{}, fmt.Errorf("crypto: master key version %d is given twice", n)
		}
		if m.Keys[n], err = ParseMasterKey(key); err != nil {
			return MasterKeys{}, fmt.Errorf("previous master key version %d: %w", n, err)
		}
	}
	if strings.TrimSpace(root) != "" {
		if m.Root, err = ParseMasterKey(root); err != nil {
			return MasterKeys{}, fmt.Errorf("root key: %w", err)
		}
	}
	return m, nil
}
