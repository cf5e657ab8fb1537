// Package inspection builds the inspection package a regulator asks for
// (registers, SLA statistics, the audit extract with its chain proof, the
// policy and calendars in force, a manifest with the SHA-256 of every file
// and a README) and verifies one offline.
package inspection

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"time"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/reports"
	"github.com/redress/redress/workflows/calendar"
	"github.com/redress/redress/workflows/policy"
)

// File names inside a package.
const (
	ManifestFile = "manifest.json"
	ProofFile    = "audit/proof.json"
	ExtractFile  = "audit/extract.csv"
	ReadmeFile   = "README.md"
)

// Manifest lists every other file of the package with its digest.
type Manifest struct {
	Format    string       `json:"format"` // "redress-inspection/1"
	From      time.Time    `json:"from"`
	To        time.Time    `json:"to"`
	CreatedAt time.Time    `json:"created_at"`
	Files     []FileDigest `json:"files"`
}

// FileDigest is one file and its SHA-256.
type FileDigest struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	Bytes  int64  `json:"bytes"`
}

// Proof ties the audit extract to the chain: the extract's entries must
// recompute, in order, from AnchorPrevHash to LastHash; Head is the chain's
// head when the package was built, to compare with the operator's live chain.
type Proof struct {
	FirstSeq       int64  `json:"first_seq"`
	LastSeq        int64  `json:"last_seq"`
	Entries        int64  `json:"entries"`
	AnchorPrevHash string `json:"anchor_prev_hash"` // prev_hash of the first entry (hex)
	LastHash       string `json:"last_hash"`
	HeadSeq        int64  `json:"head_seq"`
	HeadHash       string `json:"head_hash"`
	HashRule       string `json:"hash_rule"`
}

// Builder writes packages from the record.
type Builder struct {
	Exporter  *reports.Exporter
	DB        *gorm.DB
	Calendars *calendar.Set
	Policy    *policy.Engine
	Now       func() time.Time
}

func (b *Builder) now() time.Time {
	if b.Now != nil {
		return b.Now()
	}
	return time.Now()
}

// Build streams a zip package for [from, to) to w. The manifest's digest is
// then appended to the audit chain, so the operator's chain vouches for the
// manifest as the manifest vouches for every file.
func (b *Builder) Build(ctx context.Context, from, to time.Time, w io.Writer) error {
	// The audit extract and its proof stop at the head as it is now, so that
	// entries appended while the package is built cannot make them disagree.
	var head struct {
		Seq  int64
		Hash []byte
	}
	if err := b.DB.WithContext(ctx).Raw(`SELECT seq, hash FROM audit_head WHERE singleton`).Scan(&head).Error; err != nil {
		return err
	}
	// The audit extract is a sequence range: from the first entry timed at
	// or after `from` to the last timed before `to`, every entry between
	// included whatever time it carries, so an entry cannot be left out of
	// the package by the time its writer gave it, and the extract always
	// recomputes as one unbroken stretch of the chain.
	var seqs struct{ First, Last int64 }
	if err := b.DB.WithContext(ctx).Raw(`SELECT
		coalesce((SELECT min(seq) FROM audit_entries WHERE at >= ? AND seq <= ?), 0) AS first,
		coalesce((SELECT max(seq) FROM audit_entries WHERE at < ? AND seq <= ?), 0) AS last`,
		from, head.Seq, to, head.Seq).Scan(&seqs).Error; err != nil {
		return err
	}
	if seqs.First == 0 || seqs.Last < seqs.First { // nothing in the period: an empty range
		seqs.First, seqs.Last = head.Seq+1, head.Seq
	}
	zw := zip.NewWriter(w)
	m := Manifest{Format: "redress-inspection/1", From: from.UTC(), To: to.UTC(), CreatedAt: b.now().UTC().Truncate(time.Second)}
	add := func(path string, write func(io.Writer) error) error {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: path, Method: zip.Deflate, Modified: m.CreatedAt})
		if err != nil {
			return err
		}
		d := &digestWriter{w: fw, h: sha256.New()}
		if err := write(d); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		m.Files = append(m.Files, FileDigest{Path: path, SHA256: hex.EncodeToString(d.h.Sum(nil)), Bytes: d.n})
		return nil
	}
	export := func(r reports.Report, by string) func(io.Writer) error {
		return func(w io.Writer) error {
			return b.Exporter.Export(ctx, reports.Request{Report: r, Format: reports.CSV, From: from, To: to, GroupBy: by, MaxSeq: head.Seq}, w)
		}
	}
	var proof Proof // written by the proof file, read by the checkpoints file after it
	files := []struct {
		path  string
		write func(io.Writer) error
	}{
		{"registers/cases.csv", export(reports.CaseRegister, "")},
		{"registers/deletions.csv", export(reports.DeletionRegister, "")},
		{"registers/escalations.csv", export(reports.EscalationRegister, "")},
		{"statistics/sla_by_category.csv", export(reports.SLAStatistics, reports.ByCategory)},
		{"statistics/sla_by_channel.csv", export(reports.SLAStatistics, reports.ByChannel)},
		{"statistics/sla_by_month.csv", export(reports.SLAStatistics, reports.ByMonth)},
		{ExtractFile, func(w io.Writer) error {
			return b.Exporter.Export(ctx, reports.Request{Report: reports.AuditExtract, Format: reports.CSV, From: from, To: to,
				MinSeq: seqs.First, MaxSeq: seqs.Last}, w)
		}},
		{ProofFile, func(w io.Writer) error { return b.proof(ctx, seqs.First, seqs.Last, head.Seq, head.Hash, &proof, w) }},
		{CheckpointsFile, func(w io.Writer) error { return b.checkpoints(ctx, proof, w) }},
		{"policy/cn.json", func(w io.Writer) error { return writeJSON(w, b.Policy.Rules("cn")) }},
	}
	for _, y := range b.Calendars.Years("cn") {
		f, _ := b.Calendars.Calendar("cn", y)
		files = append(files, struct {
			path  string
			write func(io.Writer) error
		}{fmt.Sprintf("calendars/cn/%d.json", y), func(w io.Writer) error { return writeJSON(w, f) }})
	}
	files = append(files, struct {
		path  string
		write func(io.Writer) error
	}{ReadmeFile, func(w io.Writer) error { return writeReadme(w, m) }})
	for _, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := add(f.path, f.write); err != nil {
			return err
		}
	}
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	fw, err := zw.CreateHeader(&zip.FileHeader{Name: ManifestFile, Method: zip.Deflate, Modified: m.CreatedAt})
	if err != nil {
		return err
	}
	if _, err := fw.Write(mb); err != nil {
		return err
	}
	sum := sha256.Sum256(mb)
	if err := b.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		_, err := audit.Append(tx, audit.Entry{Actor: "system", Action: "inspection.manifest", ObjectType: "inspection_package",
			ObjectID:    fmt.Sprintf("%s_%s", from.UTC().Format("20060102"), to.UTC().Format("20060102")),
			AfterDigest: "sha256:" + hex.EncodeToString(sum[:])})
		return err
	}); err != nil {
		return fmt.Errorf("record the manifest in the audit chain: %w", err)
	}
	return zw.Close()
}

func (b *Builder) proof(ctx context.Context, first, last, headSeq int64, headHash []byte, out *Proof, w io.Writer) error {
	p := Proof{HeadSeq: headSeq, HeadHash: hex.EncodeToString(headHash),
		HashRule: "hash = SHA-256(prev_hash || canonical JSON of seq, at, actor, action, object_type, object_id, before_digest, after_digest, details)"}
	if last >= first {
		p.FirstSeq, p.LastSeq, p.Entries = first, last, last-first+1
		var hashes struct{ Prev, Hash []byte }
		if err := b.DB.WithContext(ctx).Raw(`SELECT (SELECT prev_hash FROM audit_entries WHERE seq = ?) AS prev,
			(SELECT hash FROM audit_entries WHERE seq = ?) AS hash`, first, last).Scan(&hashes).Error; err != nil {
			return err
		}
		p.AnchorPrevHash, p.LastHash = hex.EncodeToString(hashes.Prev), hex.EncodeToString(hashes.Hash)
	}
	*out = p
	return writeJSON(w, p)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type digestWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (d *digestWriter) Write(p []byte) (int, error) {
	d.h.Write(p)
	d.n += int64(len(p))
	return d.w.Write(p)
}
