// Package signed signs JSON documents Redress issues (deletion certificates)
// with Ed25519 and checks them offline. The signature covers the document's
// canonical form: its JSON decoded and encoded again with sorted keys and
// without the "signature" member, so a reader can check a document as
// downloaded, whatever the order of its members.
package signed

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
)

// Algorithm names the signature scheme in a document.
const Algorithm = "Ed25519"

// Signature is the "signature" member of a signed document.
type Signature struct {
	Algorithm string `json:"alg"`
	PublicKey string `json:"public_key"` // base64 of the 32-byte key
	Value     string `json:"value"`      // base64 of the 64-byte signature
}

// Sign answers doc (any JSON object) with a "signature" member added.
func Sign(doc []byte, key ed25519.PrivateKey) ([]byte, error) { return SignWith(doc, key) }

// SignWith signs with any Ed25519 crypto.Signer: a key in memory, or one
// held by a key-management service that signs without giving the key out.
func SignWith(doc []byte, key crypto.Signer) ([]byte, error) {
	pub, ok := key.Public().(ed25519.PublicKey)
	if !ok {
		return nil, errors.New("the signing key is not an Ed25519 key")
	}
	obj, canon, err := canonical(doc)
	if err != nil {
		return nil, err
	}
	value, err := key.Sign(nil, canon, crypto.Hash(0)) // pure Ed25519 over the message
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	sig := Signature{Algorithm: Algorithm, PublicKey: base64.StdEncoding.EncodeToString(pub),
		Value: base64.StdEncoding.EncodeToString(value)}
	raw, err := json.Marshal(sig)
	if err != nil {
		return nil, err
	}
	obj["signature"] = raw
	return json.MarshalIndent(obj, "", "  ")
}

// Verify checks a signed document and answers the public key that signed
// it. want, when set, is the key the document must be signed with (the
// operator's published key); without it any valid signature passes, which
// proves only that the document is unchanged since someone signed it.
func Verify(doc []byte, want ed25519.PublicKey) (ed25519.PublicKey, error) {
	obj, canon, err := canonical(doc)
	if err != nil {
		return nil, err
	}
	raw, ok := obj["signature"]
	if !ok {
		return nil, errors.New("the document carries no signature")
	}
	var sig Signature
	if err := json.Unmarshal(raw, &sig); err != nil || sig.Algorithm != Algorithm {
		return nil, fmt.Errorf("the signature is not an %s signature", Algorithm)
	}
	pub, err := base64.StdEncoding.DecodeString(sig.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("the signature's public key is malformed")
	}
	value, err := base64.StdEncoding.DecodeString(sig.Value)
	if err != nil || len(value) != ed25519.SignatureSize {
		return nil, errors.New("the signature value is malformed")
	}
	if want != nil && !bytes.Equal(want, pub) {
		return nil, fmt.Errorf("signed by key %s, not by the expected key %s", Fingerprint(pub), Fingerprint(want))
	}
	if !ed25519.Verify(pub, canon, value) {
		return nil, errors.New("the signature does not match the document: it was changed after signing")
	}
	return pub, nil
}

// Fingerprint is a short, readable name of a public key.
func Fingerprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return "SHA256:" + hex.EncodeToString(sum[:8])
}

// ParsePublicKey reads a base64 public key as Fingerprint's callers print it.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, errors.New("not a base64 Ed25519 public key")
	}
	return ed25519.PublicKey(b), nil
}

// canonical decodes doc as a JSON object and answers it with the canonical
// bytes that are signed: sorted members, no "signature", no insignificant
// space, numbers kept as written.
func canonical(doc []byte) (map[string]json.RawMessage, []byte, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(doc, &obj); err != nil {
		return nil, nil, fmt.Errorf("not a JSON object: %w", err)
	}
	rest := make(map[string]any, len(obj))
	for k, v := range obj {
		if k == "signature" {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		var x any
		if err := dec.Decode(&x); err != nil {
			return nil, nil, err
		}
		rest[k] = x
	}
	canon, err := json.Marshal(rest)
	return obj, canon, err
}
