package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/db"
	"github.com/redress/redress/services/internal/pgtest"
)

// `redress keys rotate` moves every subject key to the configured current
// version and `redress keys status` shows none left on the old one; the
// keys still open with the old version dropped from the configuration.
func TestKeysRotateCommand(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	gdb, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	v1, v2 := crypto.GenerateMasterKey(), crypto.GenerateMasterKey()
	old, err := config.Config{MasterKey: v1, MasterKeyVersion: 1}.Keyring()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 7 {
		sk, err := old.NewSubjectKey(gdb)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sk.ID)
	}
	cfg := config.Config{DatabaseURL: url, MasterKey: v2, MasterKeyVersion: 2, MasterKeysPrevious: []string{"1:" + v1}}
	var out bytes.Buffer
	if err := runKeys(ctx, cfg, []string{"status"}, &out); err != nil || !strings.Contains(out.String(), "version 1: 7 live subject keys") {
		t.Fatalf("status before: %v\n%s", err, out.String())
	}
	out.Reset()
	if err := runKeys(ctx, cfg, []string{"rotate", "-batch", "3"}, &out); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "rewrapped 7 subject keys under master key version 2") ||
		!strings.Contains(s, "version 2: 7 live subject keys") || strings.Contains(s, "version 1:") {
		t.Fatalf("rotate:\n%s", s)
	}
	retired, err := config.Config{MasterKey: v2, MasterKeyVersion: 2, MasterKeyRoot: v1}.Keyring()
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		if _, err := retired.SubjectKey(gdb, id); err != nil {
			t.Fatal(err)
		}
	}
}

// failingWriter is standard output redirected to a full disk.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// A generated master key or a published signing key that could not be
// written is an error, not a silent success with nothing saved.
func TestKeyOutputWriteFailureIsAnError(t *testing.T) {
	if err := runKeys(context.Background(), config.Config{}, []string{"generate"}, failingWriter{}); err == nil {
		t.Error("keys generate: a failed write of the key succeeded")
	}
	cfg := config.Config{MasterKey: crypto.GenerateMasterKey(), MasterKeyVersion: 1}
	if err := runSigningKey(cfg, failingWriter{}); err == nil {
		t.Error("signing-key: a failed write of the key succeeded")
	}
}
