package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/db"
)

const keysUsage = `usage: redress keys status | rotate [-batch N] | generate

  generate  print a new master key (base64) for the next version
  rotate    rewrap every subject key under the current master key
            (REDRESS_MASTER_KEY, version REDRESS_MASTER_KEY_VERSION), online
  status    live subject keys per master key version

Rotating the master key:
  1. give every service the new key as REDRESS_MASTER_KEY with the next
     REDRESS_MASTER_KEY_VERSION, and the old one in REDRESS_MASTER_KEYS_PREVIOUS
     as VERSION:BASE64 (readers unwrap each key with the version it names);
  2. run 'redress keys rotate' while the services keep running;
  3. when 'redress keys status' shows no key on the old version, drop it from
     REDRESS_MASTER_KEYS_PREVIOUS. Version 1 also derives the lookup-index and
     certificate signing keys, which never rotate: when retiring it, move it to
     REDRESS_MASTER_KEY_ROOT, where it derives those and unwraps nothing.`

func runKeys(ctx context.Context, cfg config.Config, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New(keysUsage) //nolint:staticcheck // ST1005: the usage text is printed as is
	}
	if args[0] == "generate" {
		_, err := fmt.Fprintln(out, crypto.GenerateMasterKey())
		return err
	}
	if args[0] != "status" && args[0] != "rotate" {
		return errors.New(keysUsage) //nolint:staticcheck // ST1005: the usage text is printed as is
	}
	fs := flag.NewFlagSet("keys "+args[0], flag.ContinueOnError)
	batch := fs.Int("batch", 2000, "subject keys rewrapped per transaction")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL is not set")
	}
	keys, err := cfg.Keyring()
	if err != nil {
		return err
	}
	gdb, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	if sqlDB, err := gdb.DB(); err == nil {
		defer func() { _ = sqlDB.Close() }()
	}
	if args[0] == "rotate" {
		start := time.Now()
		n, err := keys.Rotate(ctx, gdb, crypto.RotateOptions{Batch: *batch, Progress: func(done int64) {
			if done%100000 < int64(*batch) {
				_, _ = fmt.Fprintf(out, "  %d rewrapped\n", done) // progress only; the summary below is checked
			}
		}})
		took := time.Since(start)
		if err != nil {
			return fmt.Errorf("keys rotate (after %d keys): %w", n, err)
		}
		if _, err := fmt.Fprintf(out, "rewrapped %d subject keys under master key version %d in %s (%.0f keys/s)\n",
			n, keys.CurrentVersion(), took.Round(time.Millisecond), float64(n)/max(took.Seconds(), 1e-9)); err != nil {
			return err
		}
	}
	counts, err := crypto.KeyVersions(ctx, gdb)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(out, "current master key version: %d\n", keys.CurrentVersion()); err != nil {
		return err
	}
	for _, c := range counts {
		if _, err := fmt.Fprintf(out, "  version %d: %d live subject keys\n", c.Version, c.Keys); err != nil {
			return err
		}
	}
	if len(counts) == 0 {
		_, err = fmt.Fprintln(out, "  no live subject keys")
	}
	return err
}
