package inspection

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/pgtest"
	"github.com/redress/redress/services/internal/reports"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/policy"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// buildPackage writes a package for a period holding audited activity.
func buildPackage(t *testing.T) (string, *gorm.DB) {
	t.Helper()
	db := pgtest.Open(t)
	for i := range 5 {
		must(t, db.Transaction(func(tx *gorm.DB) error {
			_, err := audit.Append(tx, audit.Entry{Actor: "agent-1", Action: "case.accept", ObjectType: "case",
				ObjectID: "c-" + string(rune('a'+i)), AfterDigest: "sha256:00", Details: map[string]any{"n": i}})
			return err
		}))
	}
	cals, err := calendar.LoadEmbedded()
	must(t, err)
	b := reportingBuilder(t, db, cals)
	p := filepath.Join(t.TempDir(), "package.zip")
	f, err := os.Create(p)
	must(t, err)
	now := time.Now()
	must(t, b.Build(context.Background(), now.Add(-time.Hour), now.Add(time.Hour), f))
	must(t, f.Close())
	return p, db
}

// rewrite copies the package, passing each file's content through change.
func rewrite(t *testing.T, src string, change func(name string, b []byte) []byte, extra map[string]string) string {
	t.Helper()
	zr, err := zip.OpenReader(src)
	must(t, err)
	defer func() { _ = zr.Close() }()
	dst := filepath.Join(t.TempDir(), "altered.zip")
	out, err := os.Create(dst)
	must(t, err)
	zw := zip.NewWriter(out)
	for _, f := range zr.File {
		rc, err := f.Open()
		must(t, err)
		b, err := io.ReadAll(rc)
		must(t, err)
		w, err := zw.Create(f.Name)
		must(t, err)
		_, err = w.Write(change(f.Name, b))
		must(t, err)
	}
	for name, content := range extra {
		w, err := zw.Create(name)
		must(t, err)
		_, err = w.Write([]byte(content))
		must(t, err)
	}
	must(t, zw.Close())
	must(t, out.Close())
	return dst
}

func TestUntouchedPackageVerifies(t *testing.T) {
	p, _ := buildPackage(t)
	res, err := VerifyPath(p)
	must(t, err)
	if !res.OK {
		t.Fatalf("untouched package rejected: %s", res.Problem)
	}
	if res.Entries < 5 || res.Files < 10 {
		t.Errorf("checked %d files and %d entries", res.Files, res.Entries)
	}
	// Also as an extracted folder.
	dir := t.TempDir()
	zr, err := zip.OpenReader(p)
	must(t, err)
	defer func() { _ = zr.Close() }()
	for _, f := range zr.File {
		rc, err := f.Open()
		must(t, err)
		b, err := io.ReadAll(rc)
		must(t, err)
		must(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, f.Name)), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, f.Name), b, 0o644))
	}
	if res, err := VerifyPath(dir); err != nil || !res.OK {
		t.Fatalf("extracted package: %v %+v", err, res)
	}
}

func TestAnyAlteredFileIsRejected(t *testing.T) {
	p, _ := buildPackage(t)
	zr, err := zip.OpenReader(p)
	must(t, err)
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	_ = zr.Close()
	for _, name := range names {
		altered := rewrite(t, p, func(n string, b []byte) []byte {
			if n != name {
				return b
			}
			c := bytes.Clone(b)
			c[len(c)/2] ^= 0x01 // one bit, in the middle
			return c
		}, nil)
		res, err := VerifyPath(altered)
		must(t, err)
		if res.OK {
			t.Errorf("%s altered by one bit: package accepted", name)
		}
	}
	added := rewrite(t, p, func(_ string, b []byte) []byte { return b }, map[string]string{"registers/extra.csv": "a,b\n"})
	if res, _ := VerifyPath(added); res.OK || !strings.Contains(res.Problem, "registers/extra.csv") {
		t.Errorf("added file: %+v", res)
	}
}

// Altering an audit entry and fixing the manifest to match still fails: the
// entry's hash no longer recomputes.
func TestRewrittenAuditEntryIsRejectedEvenWithAMatchingManifest(t *testing.T) {
	p, _ := buildPackage(t)
	var newSum string
	var newLen int64
	step1 := rewrite(t, p, func(n string, b []byte) []byte {
		if n != ExtractFile {
			return b
		}
		c := bytes.Replace(b, []byte("agent-1"), []byte("agent-2"), 1)
		s := sha256.Sum256(c)
		newSum, newLen = hex.EncodeToString(s[:]), int64(len(c))
		return c
	}, nil)
	step2 := rewrite(t, step1, func(n string, b []byte) []byte {
		if n != ManifestFile {
			return b
		}
		var m Manifest
		must(t, json.Unmarshal(b, &m))
		for i := range m.Files {
			if m.Files[i].Path == ExtractFile {
				m.Files[i].SHA256, m.Files[i].Bytes = newSum, newLen
			}
		}
		out, _ := json.Marshal(m)
		return out
	}, nil)
	res, err := VerifyPath(step2)
	must(t, err)
	if res.OK || !strings.Contains(res.Problem, "hash does not match") {
		t.Fatalf("rewritten entry: %+v", res)
	}
}

// The audit extract is a stretch of the chain by sequence number: an entry
// whose writer gave it a time outside the period (here 2001) is still in the
// package when it lies between the period's entries, and the package
// verifies. A cell a spreadsheet would run as a formula is exported as text
// and the hashes still recompute. (Selected by time, the extract left the
// entry out and its neighbours no longer linked.)
func TestPackageSelectsAuditEntriesBySequence(t *testing.T) {
	db := pgtest.Open(t)
	now := time.Now()
	for i, e := range []audit.Entry{
		{Actor: "agent-1", Action: "case.accept", ObjectType: "case", ObjectID: "c-1"},
		{Actor: "=HYPERLINK(\"http://evil.example\",\"x\")", Action: "case.note_added", ObjectType: "case", ObjectID: "-c-2"},
		{Actor: "agent-1", Action: "case.resolve", ObjectType: "case", ObjectID: "c-3", At: time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Actor: "agent-1", Action: "case.close", ObjectType: "case", ObjectID: "c-4"},
	} {
		if e.At.IsZero() {
			e.At = now.Add(time.Duration(i) * time.Millisecond)
		}
		must(t, db.Transaction(func(tx *gorm.DB) error { _, err := audit.Append(tx, e); return err }))
	}
	cals, err := calendar.LoadEmbedded()
	must(t, err)
	b := reportingBuilder(t, db, cals)
	p := filepath.Join(t.TempDir(), "package.zip")
	f, err := os.Create(p)
	must(t, err)
	must(t, b.Build(context.Background(), now.Add(-time.Hour), now.Add(time.Hour), f))
	must(t, f.Close())

	res, err := VerifyPath(p)
	must(t, err)
	if !res.OK || res.Entries != 4 {
		t.Fatalf("package: %+v, want 4 entries verified", res)
	}
	zr, err := zip.OpenReader(p)
	must(t, err)
	defer func() { _ = zr.Close() }()
	rc, err := zr.Open(ExtractFile)
	must(t, err)
	extract, err := io.ReadAll(rc)
	must(t, err)
	if !strings.Contains(string(extract), "c-3") {
		t.Errorf("the entry timed 2001 is missing from the extract:\n%s", extract)
	}
	if !strings.Contains(string(extract), `"'=HYPERLINK(`) || !strings.Contains(string(extract), ",'-c-2,") {
		t.Errorf("formula cells not neutralised:\n%s", extract)
	}
}

// reportingBuilder is the package builder of the reporting service, which
// connects as the reporting service's database role.
func reportingBuilder(t *testing.T, db *gorm.DB, cals *calendar.Set) *Builder {
	t.Helper()
	rdb := pgtest.As(t, db, "redress_reporting_app")
	sqlDB, err := rdb.DB()
	must(t, err)
	return &Builder{Exporter: &reports.Exporter{DB: sqlDB, Calendars: cals}, DB: rdb, Calendars: cals, Policy: policy.New(cals)}
}
