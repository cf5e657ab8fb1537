package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/signed"
)

// runAudit answers the exit code: 0 intact, 1 broken, 2 could not check.
func runAudit(ctx context.Context, cfg config.Config, args []string) int {
	if len(args) == 1 && args[0] == "checkpoint-key" {
		return printCheckpointKey(cfg)
	}
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(os.Stderr, "usage: redress audit verify [-from N] [-to N] [-checkpoints DIR|FILE] [-checkpoint-key BASE64] | --package FILE.zip|DIR\n       redress audit checkpoint-key")
		return 2
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	from := fs.Int64("from", 0, "first entry to check (0 = the beginning)")
	to := fs.Int64("to", 0, "last entry to check (0 = the end)")
	pkg := fs.String("package", "", "verify an inspection package (zip or folder) offline instead of the database")
	filingPkg := fs.String("filing", "", "verify an escalation filing package's audit proof against the database")
	cpPath := fs.String("checkpoints", "", "also check the chain against the signed checkpoints in this folder or file (kept outside the database)")
	cpKey := fs.String("checkpoint-key", "", "the checkpoint public key (base64); default REDRESS_CHECKPOINT_PUBLIC_KEY, else the key file's")
	dbCheckpoints := fs.Bool("db-checkpoints", true, "check against the checkpoints stored in the database too")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *pkg != "" {
		var pub ed25519.PublicKey
		if *cpKey != "" || cfg.CheckpointPublicKey != "" {
			k, err := checkpointPublicKey(cfg, *cpKey)
			if err != nil {
				fmt.Fprintln(os.Stderr, "redress:", err)
				return 2
			}
			pub = k
		}
		return verifyPackage(*pkg, pub)
	}
	if cfg.DatabaseURL == "" {
		fmt.Fprintln(os.Stderr, "redress: DATABASE_URL is not set")
		return 2
	}
	gdb, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "redress:", err)
		return 2
	}
	if *filingPkg != "" {
		return verifyFiling(ctx, cfg, gdb, *filingPkg, *cpKey)
	}
	res, err := audit.Verify(ctx, gdb, audit.VerifyOptions{FromSeq: *from, ToSeq: *to})
	if err != nil {
		fmt.Fprintln(os.Stderr, "redress: audit verify:", err)
		return 2
	}
	if !res.OK {
		b := res.FirstBroken
		fmt.Printf("audit chain BROKEN at entry %d (%s %s): %s\n", b.Seq, b.ObjectType, b.ObjectID, b.Reason)
		return 1
	}
	fmt.Printf("audit chain intact: %d entries verified\n", res.Entries)
	return verifyCheckpoints(ctx, cfg, gdb, *cpPath, *cpKey, *dbCheckpoints)
}

// verifyCheckpoints checks the chain against the signed checkpoints: a chain
// rewritten by the database owner (every later hash and the head
// recomputed) passes the recomputation above but not this.
func verifyCheckpoints(ctx context.Context, cfg config.Config, gdb *gorm.DB, path, keyText string, fromDB bool) int {
	var docs []audit.CheckpointDoc
	if fromDB {
		stored, err := audit.StoredCheckpoints(ctx, gdb)
		if err != nil {
			fmt.Fprintln(os.Stderr, "redress: audit verify:", err)
			return 2
		}
		docs = append(docs, stored...)
	}
	if path != "" {
		outside, err := audit.ReadCheckpoints(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, "redress: -checkpoints:", err)
			return 2
		}
		if len(outside) == 0 {
			fmt.Fprintf(os.Stderr, "redress: -checkpoints: no checkpoint found in %s\n", path)
			return 2
		}
		docs = append(docs, outside...)
	}
	if len(docs) == 0 {
		fmt.Println("no signed checkpoints to check against yet (see REDRESS_CHECKPOINT_KEY_FILE)")
		return 0
	}
	cres, pub, code := checkCheckpoints(ctx, cfg, gdb, docs, keyText, "audit verify")
	if code >= 0 {
		return code
	}
	if m := cres.FirstMismatch; m != nil {
		at := "?"
		if !m.At.IsZero() {
			at = m.At.Format(time.RFC3339)
		}
		fmt.Printf("audit chain BROKEN: checkpoint at entry %d (signed %s, from %s) no longer matches: %s\n", m.Seq, at, m.Source, m.Reason)
		return 1
	}
	fmt.Printf("signed checkpoints match: %d checked with key %s\n", cres.Checked, signed.Fingerprint(pub))
	return 0
}

// checkCheckpoints checks signed checkpoints against the chain with the
// configured public key. code is the exit code when it could not check (2),
// or -1 when res says how the check went.
func checkCheckpoints(ctx context.Context, cfg config.Config, gdb *gorm.DB, docs []audit.CheckpointDoc, keyText, what string) (res audit.CheckpointResult, pub ed25519.PublicKey, code int) {
	pub, err := checkpointPublicKey(cfg, keyText)
	if err != nil {
		fmt.Fprintln(os.Stderr, "redress:", err)
		return res, nil, 2
	}
	res, err = audit.VerifyCheckpoints(ctx, gdb, docs, pub)
	if err != nil {
		fmt.Fprintf(os.Stderr, "redress: %s: %v\n", what, err)
		return res, nil, 2
	}
	return res, pub, -1
}

// checkpointPublicKey is the key checkpoints must be signed with: the flag,
// else REDRESS_CHECKPOINT_PUBLIC_KEY, else the public half of the key file.
func checkpointPublicKey(cfg config.Config, flagValue string) (ed25519.PublicKey, error) {
	switch {
	case flagValue != "":
		return signed.ParsePublicKey(flagValue)
	case cfg.CheckpointPublicKey != "":
		return signed.ParsePublicKey(cfg.CheckpointPublicKey)
	case cfg.CheckpointKeyFile != "":
		k, err := audit.LoadKeyFile(cfg.CheckpointKeyFile)
		if err != nil {
			return nil, err
		}
		return k.Public().(ed25519.PublicKey), nil
	}
	return nil, errors.New("checkpoints found but no public key to check them: give -checkpoint-key or REDRESS_CHECKPOINT_PUBLIC_KEY")
}

// printCheckpointKey prints the checkpoint public key, to publish and to
// give to whoever verifies.
func printCheckpointKey(cfg config.Config) int {
	if cfg.CheckpointKeyFile == "" {
		fmt.Fprintln(os.Stderr, "redress: REDRESS_CHECKPOINT_KEY_FILE is not set")
		return 2
	}
	k, err := audit.LoadKeyFile(cfg.CheckpointKeyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "redress:", err)
		return 2
	}
	pub := k.Public().(ed25519.PublicKey)
	fmt.Printf("%s\t%s\n", base64.StdEncoding.EncodeToString(pub), signed.Fingerprint(pub))
	return 0
}
