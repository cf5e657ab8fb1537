package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/signed"
)

// runVerify checks a signed document offline: `redress verify certificate
// FILE [-key BASE64]`. It needs no database and no secret; -key is the
// operator's published public key (`redress signing-key` prints it).
// Exit 0: valid; 1: not valid; 2: usage.
func runVerify(args []string, out io.Writer) int {
	if len(args) == 0 || args[0] != "certificate" {
		fmt.Fprintln(os.Stderr, "usage: redress verify certificate FILE [-key BASE64]")
		return 2
	}
	fs := flag.NewFlagSet("verify certificate", flag.ContinueOnError)
	keyText := fs.String("key", "", "the operator's published public key (base64); without it any valid signature is accepted and its key named")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: redress verify certificate FILE [-key BASE64]")
		return 2
	}
	var want ed25519.PublicKey
	if *keyText != "" {
		k, err := signed.ParsePublicKey(*keyText)
		if err != nil {
			fmt.Fprintln(os.Stderr, "redress: -key:", err)
			return 2
		}
		want = k
	}
	doc, err := os.ReadFile(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "redress:", err)
		return 2
	}
	// The exit status carries the verdict; the text below only explains it.
	pub, err := signed.Verify(doc, want)
	if err != nil {
		_, _ = fmt.Fprintf(out, "NOT VALID: %s: %v\n证明无效：%v\n", fs.Arg(0), err, err)
		return 1
	}
	_, _ = fmt.Fprintf(out, "valid: %s is unchanged since it was signed by key %s\n有效：该证明自签发以来未被改动，签名密钥 %s\n", fs.Arg(0), signed.Fingerprint(pub), signed.Fingerprint(pub))
	if want == nil {
		_, _ = fmt.Fprintln(out, "compare the key with the operator's published key (or pass it with -key)\n请将该密钥与运营者公布的密钥核对（或用 -key 指定）")
	}
	return 0
}

// runSigningKey prints the public key that signs certificates, to publish.
func runSigningKey(cfg config.Config, out io.Writer) error {
	keys, err := cfg.Keyring()
	if err != nil {
		return err
	}
	pub := keys.SigningKey().Public().(ed25519.PublicKey)
	_, err = fmt.Fprintf(out, "%s\t%s\n", base64.StdEncoding.EncodeToString(pub), signed.Fingerprint(pub))
	return err
}
