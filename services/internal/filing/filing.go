// Package filing assembles an escalation's filing package: a ZIP with a JSON
// manifest, the case facts (no personal data), the timeline from the audit
// chain, the evidence hashes, an audit-chain proof of every included entry,
// the policy citation, and a human-readable PDF summary. VerifyPackage checks
// a package's proof against the database (`redress audit verify -package`).
package filing

import (
	"archive/zip"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"gorm.io/gorm"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/escalation/store"
	"github.com/redress/redress/services/internal/i18n"
	"github.com/redress/redress/workflows/policy"
)

// Format names the package layout.
const Format = "redress-filing/1"

// File names inside the ZIP.
const (
	ManifestFile = "manifest.json"
	SummaryFile  = "summary.pdf"
	CasesFile    = "cases.json"
	TimelineFile = "timeline.json"
	EvidenceFile = "evidence.json"
	ProofFile    = "audit-proof.json"
)

// Manifest describes the package.
type Manifest struct {
	Format      string       `json:"format"`
	GeneratedAt time.Time    `json:"generated_at"`
	Escalation  Escalation   `json:"escalation"`
	Files       []FileEntry  `json:"files"`
	Proof       ProofSummary `json:"audit_proof"`
}

// Escalation is the escalation as filed.
type Escalation struct {
	ID             string     `json:"id"`
	Kind           string     `json:"kind"`
	Reason         string     `json:"reason"`
	Regulator      string     `json:"regulator"`
	CaseIDs        []string   `json:"case_ids"`
	DueAt          *time.Time `json:"due_at,omitempty"`
	DueRule        string     `json:"due_rule,omitempty"`
	Citation       string     `json:"citation,omitempty"`
	OperatorClass  string     `json:"operator_class,omitempty"`
	LeakedDataType string     `json:"leaked_data_type,omitempty"`
	LeakSource     string     `json:"leak_source,omitempty"`
	OpenedAt       time.Time  `json:"opened_at"`
	// An incident's discovery (its report clock starts there) and severity grade.
	DiscoveredAt *time.Time `json:"discovered_at,omitempty"`
	Severity     string     `json:"severity,omitempty"`
}

// FileEntry is one file with its hash.
type FileEntry struct {
	Name   string `json:"name"`
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
}

// ProofSummary says which chain segment the proof covers and how to check it.
type ProofSummary struct {
	FromSeq       int64  `json:"from_seq"`
	ToSeq         int64  `json:"to_seq"`
	Entries       int    `json:"entries"`
	HashAtTo      string `json:"hash_at_to"`
	VerifyCommand string `json:"verify_command"`
}

// CaseFacts are the facts of a case, without personal data.
type CaseFacts struct {
	ID             string     `json:"id"`
	CaseNumber     string     `json:"case_number"`
	Kind           string     `json:"kind"`
	Category       string     `json:"category"`
	Channel        string     `json:"channel"`
	ReferringBody  string     `json:"referring_body,omitempty"`
	State          string     `json:"state"`
	SubjectType    string     `json:"subject_type,omitempty"`
	LeakedDataType string     `json:"leaked_data_type,omitempty"`
	LeakSource     string     `json:"leak_source,omitempty"`
	PolicyPack     string     `json:"policy_pack"`
	ReceivedAt     time.Time  `json:"received_at"`
	Deadlines      []Deadline `json:"deadlines"`
	Overdue        bool       `json:"overdue"`
}

// Deadline with the rule and citation that set it.
type Deadline struct {
	Kind     string     `json:"kind"`
	DueAt    time.Time  `json:"due_at"`
	RuleID   string     `json:"rule_id"`
	Citation string     `json:"citation"`
	Status   string     `json:"status"`
	Breached *time.Time `json:"breached_at,omitempty"`
}

// Evidence is an attachment's hash (content stays with the operator).
type Evidence struct {
	CaseID       string `json:"case_id"`
	AttachmentID string `json:"attachment_id"`
	ContentType  string `json:"content_type"`
	Size         int64  `json:"size_bytes"`
	SHA256       string `json:"sha256"`
}

// ProofEntry is an audit entry exactly as chained: anyone can recompute
// hash = SHA-256(prev_hash || canonical) and compare it with the database.
type ProofEntry struct {
	Seq          int64  `json:"seq"`
	At           string `json:"at"`
	Actor        string `json:"actor"`
	Action       string `json:"action"`
	ObjectType   string `json:"object_type"`
	ObjectID     string `json:"object_id"`
	BeforeDigest string `json:"before_digest"`
	AfterDigest  string `json:"after_digest"`
	Details      string `json:"details"`
	PrevHash     string `json:"prev_hash"`
	Hash         string `json:"hash"`
}

// Built is an assembled package.
type Built struct {
	Zip      []byte
	SHA256   string
	Manifest []byte
	FromSeq  int64
	ToSeq    int64
}

// Build assembles the package of an escalation from the record; the facts of
// its cases come from intake (in).
func Build(ctx context.Context, db *gorm.DB, in store.Intake, escalationID string, now time.Time) (Built, error) {
	db = db.WithContext(ctx)
	var e store.Escalation
	if err := db.Take(&e, "id = ?", escalationID).Error; err != nil {
		return Built{}, fmt.Errorf("filing: escalation: %w", err)
	}
	var caseIDs []string
	if e.CaseID != nil {
		caseIDs = append(caseIDs, *e.CaseID)
	}
	var linked []string
	if err := db.Model(&store.IncidentCase{}).Where("escalation_id = ?", e.ID).Order("case_id").Pluck("case_id", &linked).Error; err != nil {
		return Built{}, err
	}
	for _, id := range linked {
		if !slices.Contains(caseIDs, id) {
			caseIDs = append(caseIDs, id)
		}
	}
	facts, evidence, err := caseFacts(ctx, in, caseIDs)
	if err != nil {
		return Built{}, err
	}
	var entries []audit.Record
	for _, c := range caseIDs {
		recs, err := audit.ForObject(ctx, db, "case", c)
		if err != nil {
			return Built{}, err
		}
		entries = append(entries, recs...)
	}
	recs, err := audit.ForObject(ctx, db, "escalation", e.ID)
	if err != nil {
		return Built{}, err
	}
	entries = append(entries, recs...)
	slices.SortFunc(entries, func(a, b audit.Record) int { return int(a.Seq - b.Seq) })
	proof := make([]ProofEntry, len(entries))
	for i, r := range entries {
		proof[i] = ProofEntry{Seq: r.Seq, At: r.At.UTC().Format("2006-01-02T15:04:05.000000Z"), Actor: r.Actor, Action: r.Action,
			ObjectType: r.ObjectType, ObjectID: r.ObjectID, BeforeDigest: r.BeforeDigest, AfterDigest: r.AfterDigest,
			Details: r.DetailsJSON, PrevHash: hex.EncodeToString(r.PrevHash), Hash: hex.EncodeToString(r.Hash)}
	}
	if len(proof) == 0 {
		return Built{}, errors.New("filing: no audit entries to prove")
	}
	m := Manifest{Format: Format, GeneratedAt: now.UTC(), Escalation: Escalation{
		ID: e.ID, Kind: e.Kind, Reason: e.Reason, Regulator: e.Regulator, CaseIDs: caseIDs, DueAt: e.DueAt,
		DueRule: e.DueRule, Citation: e.DueCitation, OperatorClass: e.OperatorClass, LeakedDataType: e.LeakedDataType,
		LeakSource: e.LeakSource, OpenedAt: e.CreatedAt, DiscoveredAt: e.DiscoveredAt, Severity: e.Severity,
	}}
	first, last := proof[0], proof[len(proof)-1]
	m.Proof = ProofSummary{FromSeq: first.Seq, ToSeq: last.Seq, Entries: len(proof), HashAtTo: last.Hash,
		VerifyCommand: "redress audit verify -package <this file>"}
	checkpoints, err := audit.CheckpointsCovering(ctx, db, first.Seq, last.Seq)
	if err != nil {
		return Built{}, err
	}

	files := []struct {
		name string
		data []byte
	}{
		{CasesFile, mustJSON(facts)},
		{TimelineFile, mustJSON(timeline(proof))},
		{EvidenceFile, mustJSON(evidence)},
		{ProofFile, mustJSON(proof)},
		{CheckpointsFile, mustJSON(checkpoints)},
	}
	files = append(files, struct {
		name string
		data []byte
	}{SummaryFile, textPDF("监管报送 "+e.ID, summary(m, facts, proof), now)})
	for _, f := range files {
		sum := sha256.Sum256(f.data)
		m.Files = append(m.Files, FileEntry{Name: f.name, SHA256: hex.EncodeToString(sum[:]), Size: len(f.data)})
	}
	manifest := mustJSON(m)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	write := func(name string, data []byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: now.UTC()})
		if err != nil {
			return err
		}
		_, err = w.Write(data)
		return err
	}
	if err := write(ManifestFile, manifest); err != nil {
		return Built{}, err
	}
	for _, f := range files {
		if err := write(f.name, f.data); err != nil {
			return Built{}, err
		}
	}
	if err := zw.Close(); err != nil {
		return Built{}, err
	}
	sum := sha256.Sum256(buf.Bytes())
	return Built{Zip: buf.Bytes(), SHA256: hex.EncodeToString(sum[:]), Manifest: manifest, FromSeq: first.Seq, ToSeq: last.Seq}, nil
}

func caseFacts(ctx context.Context, in store.Intake, ids []string) ([]CaseFacts, []Evidence, error) {
	facts, evidence := []CaseFacts{}, []Evidence{}
	cs, err := store.CaseFacts(ctx, in, ids)
	if err != nil {
		return nil, nil, err
	}
	slices.SortFunc(cs, func(a, b *intakev1.CaseFacts) int { // by receipt, as one list
		return cmp.Or(a.ReceivedAt.AsTime().Compare(b.ReceivedAt.AsTime()), cmp.Compare(a.CaseId, b.CaseId))
	})
	for _, c := range cs {
		f := CaseFacts{ID: c.CaseId, CaseNumber: c.CaseNumber, Kind: c.Kind, Category: c.Category, Channel: c.Channel,
			ReferringBody: c.ReferringBody, State: c.State, SubjectType: c.SubjectType, LeakedDataType: c.LeakedDataType,
			LeakSource: c.LeakSource, PolicyPack: c.PolicyPack, ReceivedAt: c.ReceivedAt.AsTime().UTC(), Overdue: c.Overdue}
		for _, d := range c.Deadlines {
			var breached *time.Time
			if d.BreachedAt != nil {
				t := d.BreachedAt.AsTime().UTC()
				breached = &t
			}
			f.Deadlines = append(f.Deadlines, Deadline{Kind: d.Kind, DueAt: d.DueAt.AsTime().UTC(), RuleID: d.RuleId, Citation: d.Citation,
				Status: d.Status, Breached: breached})
		}
		facts = append(facts, f)
		for _, a := range c.Evidence {
			evidence = append(evidence, Evidence{CaseID: c.CaseId, AttachmentID: a.AttachmentId, ContentType: a.ContentType,
				Size: a.SizeBytes, SHA256: a.Sha256})
		}
	}
	return facts, evidence, nil
}

type timelineEntry struct {
	Seq    int64  `json:"seq"`
	At     string `json:"at"`
	Object string `json:"object"`
	Action string `json:"action"`
	Actor  string `json:"actor"`
}

func timeline(p []ProofEntry) []timelineEntry {
	out := make([]timelineEntry, len(p))
	for i, e := range p {
		out[i] = timelineEntry{Seq: e.Seq, At: e.At, Object: e.ObjectType + " " + e.ObjectID, Action: e.Action, Actor: e.Actor}
	}
	return out
}

// summary is the filing in words for the regulator, in Chinese; codes and
// identifiers print as they are, citations in their Chinese form. Times are in the operator's
// zone, a deadline as the law counts it.
func summary(m Manifest, facts []CaseFacts, proof []ProofEntry) []string {
	e := m.Escalation
	zh := func(group, code string) string { return i18n.Term(i18n.ZH, group, code) }
	at := func(t time.Time) string { return i18n.Zoned(i18n.ZH, t.In(i18n.Zone()).Format("2006-01-02 15:04:05")) }
	l := []string{
		"Redress 监管报送摘要", "",
		"升级编号：" + e.ID, "类型：" + zh("esc_kind", e.Kind), "监管机构：" + e.Regulator, "原因：" + e.Reason,
		"开立时间：" + at(e.OpenedAt),
	}
	if e.DueAt != nil {
		l = append(l, "报送期限："+i18n.LegalTime(i18n.ZH, *e.DueAt)+"（"+e.DueRule+"，"+policy.CitationIn(e.Citation, "zh")+"）")
	}
	if e.OperatorClass != "" {
		l = append(l, "运营者类别："+e.OperatorClass, "泄露的数据："+e.LeakedDataType+"，来源："+e.LeakSource)
	}
	if e.DiscoveredAt != nil {
		l = append(l, "发现时间："+at(*e.DiscoveredAt))
	}
	if e.Severity != "" {
		l = append(l, "严重程度："+zh("severity", e.Severity))
	}
	l = append(l, "", fmt.Sprintf("案件（%d件）：", len(facts)))
	for _, c := range facts {
		l = append(l, fmt.Sprintf("  %s  %s，%s，渠道：%s，状态：%s，收到时间：%s", c.CaseNumber, zh("kind", c.Kind), zh("category", c.Category),
			zh("channel", c.Channel), zh("state", c.State), at(c.ReceivedAt)))
		for _, d := range c.Deadlines {
			l = append(l, fmt.Sprintf("    %s期限 %s［%s］%s（%s）", zh("deadline", d.Kind), i18n.LegalTime(i18n.ZH, d.DueAt), zh("dstatus", d.Status), d.RuleID, policy.CitationIn(d.Citation, "zh")))
		}
	}
	l = append(l, "", "经过（取自审计链）：")
	for _, p := range proof {
		l = append(l, fmt.Sprintf("  #%d %s %s %s，操作者：%s", p.Seq, p.At, p.ObjectType, p.Action, p.Actor))
	}
	l = append(l, "", fmt.Sprintf("审计证明：第%d至%d条，第%d条的哈希值：%s", m.Proof.FromSeq, m.Proof.ToSeq, m.Proof.ToSeq, m.Proof.HashAtTo),
		"核验方法："+m.Proof.VerifyCommand)
	return l
}

func mustJSON(v any) []byte {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(err) // only our own types go here
	}
	return b
}

// Read opens a package and answers its manifest and proof, checking every
// file against the manifest's hashes.
func Read(zipBytes []byte) (Manifest, []ProofEntry, error) {
	zr, err := zip.NewReader(bytes.NewReader(zipBytes), int64(len(zipBytes)))
	if err != nil {
		return Manifest{}, nil, fmt.Errorf("filing: not a ZIP: %w", err)
	}
	contents := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return Manifest{}, nil, err
		}
		b, err := io.ReadAll(io.LimitReader(rc, 256<<20))
		_ = rc.Close()
		if err != nil {
			return Manifest{}, nil, err
		}
		contents[f.Name] = b
	}
	var m Manifest
	if err := json.Unmarshal(contents[ManifestFile], &m); err != nil || m.Format != Format {
		return m, nil, errors.New("filing: manifest.json missing or not " + Format)
	}
	for _, fe := range m.Files {
		sum := sha256.Sum256(contents[fe.Name])
		if hex.EncodeToString(sum[:]) != fe.SHA256 {
			return m, nil, fmt.Errorf("filing: %s does not match its hash in the manifest", fe.Name)
		}
	}
	var proof []ProofEntry
	if err := json.Unmarshal(contents[ProofFile], &proof); err != nil {
		return m, nil, fmt.Errorf("filing: %s: %w", ProofFile, err)
	}
	return m, proof, nil
}
