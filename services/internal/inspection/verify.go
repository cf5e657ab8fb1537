package inspection

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"slices"
	"strconv"
	"time"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/reports"
)

// Result of verifying a package.
type Result struct {
	OK            bool
	Files         int   // files checked against the manifest
	Entries       int64 // audit entries recomputed
	Checkpoints   int   // signed checkpoints carried and checked
	CheckpointKey string
	Problem       string
}

func failed(format string, args ...any) Result {
	return Result{Problem: fmt.Sprintf(format, args...)}
}

// VerifyPath verifies a package given as a zip file or an extracted folder.
// err is for packages that cannot be read at all.
func VerifyPath(p string) (Result, error) { return VerifyPathWithKey(p, nil) }

// VerifyPathWithKey also requires the carried checkpoints to be signed with
// key (the operator's published checkpoint key).
func VerifyPathWithKey(p string, key ed25519.PublicKey) (Result, error) {
	st, err := os.Stat(p)
	if err != nil {
		return Result{}, err
	}
	if st.IsDir() {
		return verify(os.DirFS(p), key)
	}
	zr, err := zip.OpenReader(p)
	if err != nil {
		return Result{}, fmt.Errorf("%s: not a zip archive: %w", p, err)
	}
	defer func() { _ = zr.Close() }()
	return verify(&zr.Reader, key)
}

// Verify checks the manifest against every file, then the audit extract
// against the chain proof.
func Verify(fsys fs.FS) (Result, error) { return verify(fsys, nil) }

func verify(fsys fs.FS, key ed25519.PublicKey) (Result, error) {
	mb, err := fs.ReadFile(fsys, ManifestFile)
	if err != nil {
		return failed("%s: missing or unreadable", ManifestFile), nil
	}
	var m Manifest
	if err := json.Unmarshal(mb, &m); err != nil || m.Format != "redress-inspection/1" {
		return failed("%s: not a Redress inspection manifest", ManifestFile), nil
	}
	listed := map[string]bool{ManifestFile: true}
	res := Result{}
	for _, f := range m.Files {
		listed[f.Path] = true
		b, err := fs.ReadFile(fsys, f.Path)
		if err != nil {
			return failed("%s: listed in the manifest but missing or unreadable (%v)", f.Path, err), nil
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != f.SHA256 || int64(len(b)) != f.Bytes {
			return failed("%s: altered (SHA-256 or size differs from the manifest)", f.Path), nil
		}
		res.Files++
	}
	var extra []string
	err = fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !listed[p] {
			extra = append(extra, p)
		}
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return failed("%s: not listed in the manifest", extra[0]), nil
	}
	for _, need := range []string{ExtractFile, ProofFile} {
		if !listed[need] {
			return failed("%s: missing from the manifest", need), nil
		}
	}
	signedHashes, signer, checkpoints, problem := checkpointHashes(fsys, key)
	if problem != "" {
		return failed("%s", problem), nil
	}
	n, problem := verifyChain(fsys, signedHashes)
	if problem != "" {
		return failed("%s", problem), nil
	}
	res.Entries, res.OK = n, true
	res.Checkpoints, res.CheckpointKey = checkpoints, signer
	return res, nil
}

// verifyChain recomputes every entry of the extract and its links.
// A signed checkpoint inside the extract's range must sign that entry's hash.
func verifyChain(fsys fs.FS, signedHashes map[int64]string) (int64, string) {
	pb, _ := fs.ReadFile(fsys, ProofFile)
	var p Proof
	if err := json.Unmarshal(pb, &p); err != nil {
		return 0, ProofFile + ": not valid JSON"
	}
	eb, _ := fs.ReadFile(fsys, ExtractFile)
	r := csv.NewReader(bytes.NewReader(eb))
	header, err := r.Read()
	if err != nil || !slices.Equal(header, reports.AuditColumns) {
		return 0, ExtractFile + ": unexpected header"
	}
	prev := p.AnchorPrevHash
	var n, lastSeq int64
	for {
		row, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return n, fmt.Sprintf("%s: %v", ExtractFile, err)
		}
		for i := range row { // cells a spreadsheet would run as formulas were exported with an apostrophe
			row[i] = reports.PlainCell(row[i])
		}
		seq, err1 := strconv.ParseInt(row[0], 10, 64)
		at, err2 := time.Parse("2006-01-02T15:04:05.000000Z", row[1])
		if err1 != nil || err2 != nil {
			return n, fmt.Sprintf("%s: line %d: bad seq or time", ExtractFile, n+2)
		}
		if row[9] != prev {
			return n, fmt.Sprintf("audit entry %d: prev_hash does not link to the entry before it", seq)
		}
		prevB, _ := hex.DecodeString(row[9])
		rec := audit.Record{Entry: audit.Entry{At: at, Actor: row[2], Action: row[3], ObjectType: row[4], ObjectID: row[5],
			BeforeDigest: row[6], AfterDigest: row[7]}, Seq: seq, DetailsJSON: row[8]}
		h := sha256.New()
		h.Write(prevB)
		h.Write(audit.Canonical(rec))
		if got := hex.EncodeToString(h.Sum(nil)); got != row[10] {
			return n, fmt.Sprintf("audit entry %d: hash does not match its content", seq)
		}
		if want, ok := signedHashes[seq]; ok && want != row[10] {
			return n, fmt.Sprintf("audit entry %d: does not match the signed checkpoint at that entry (the chain was rewritten)", seq)
		}
		prev, lastSeq = row[10], seq
		n++
	}
	switch {
	case n != p.Entries:
		return n, fmt.Sprintf("%s: %d entries, the proof says %d", ExtractFile, n, p.Entries)
	case n > 0 && (prev != p.LastHash || lastSeq != p.LastSeq):
		return n, fmt.Sprintf("%s: the last entry is not the proof's last entry", ExtractFile)
	}
	return n, ""
}

// Describe is a one-line answer for people.
func (r Result) Describe(name string) string {
	if r.OK {
		s := fmt.Sprintf("package intact: %d files match the manifest, %d audit entries recompute and link (%s)", r.Files, r.Entries, path.Base(name))
		if r.Checkpoints > 0 {
			s += fmt.Sprintf("; %d signed checkpoint(s) by key %s match", r.Checkpoints, r.CheckpointKey)
		}
		return s
	}
	return "package REJECTED: " + r.Problem
}
