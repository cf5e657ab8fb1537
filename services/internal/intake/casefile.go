package intake

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/services/internal/validation"
)

// CaseFile implements CaseFileService on the intake service's data: the
// timeline, messages, attachments and the complainant's personal data of a
// case, so that clients (the console) hold neither the database nor the
// master key. It applies the same object rule as IntakeService: a case the
// caller may not see is not found.
type CaseFile struct {
	intakev1.UnimplementedCaseFileServiceServer
	s *Server
}

// CaseFile returns the CaseFileService of this server (same database, keys
// and clock).
func (s *Server) CaseFile() *CaseFile { return &CaseFile{s: s} }

var errErased = status.Error(codes.FailedPrecondition, "the complainant's personal data was erased")

// ListCaseTimeline answers the case's audit entries, newest first.
func (f *CaseFile) ListCaseTimeline(ctx context.Context, req *intakev1.ListCaseTimelineRequest) (*intakev1.ListCaseTimelineResponse, error) {
	c, err := f.s.caseRow(ctx, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	recs, err := audit.ForObject(ctx, f.s.db, "case", c.ID)
	if err != nil {
		f.s.log.Error("case timeline", "case_id", c.ID, "err", err)
		return nil, status.Error(codes.Unavailable, "read timeline failed; retry")
	}
	out := &intakev1.ListCaseTimelineResponse{Entries: make([]*intakev1.TimelineEntry, 0, len(recs))}
	for i := len(recs) - 1; i >= 0; i-- {
		r := recs[i]
		e := &intakev1.TimelineEntry{At: ts(r.At), Actor: r.Actor, Action: r.Action}
		if len(r.Details) > 0 {
			b, _ := json.Marshal(r.Details) // compact, keys sorted
			e.DetailsJson = string(b)
		}
		out.Entries = append(out.Entries, e)
	}
	return out, nil
}

// ListCaseMessages answers the case's messages, oldest first, without the
// discarded drafts of refused actions. Bodies may hold personal data: only a
// caller holding case.reveal gets them.
func (f *CaseFile) ListCaseMessages(ctx context.Context, req *intakev1.ListCaseMessagesRequest) (*intakev1.ListCaseMessagesResponse, error) {
	c, err := f.s.caseRow(ctx, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	dbc := f.s.db.WithContext(ctx)
	var rows []records.CaseMessage
	if err := dbc.Where("case_id = ? AND status <> ?", c.ID, records.MessageDiscarded).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, status.Error(codes.Unavailable, "read messages failed; retry")
	}
	bodies, erased := access.Holds(ctx, access.CaseReveal), false
	var sk crypto.SubjectKey
	if bodies && len(rows) > 0 {
		sk, err = f.s.subjectKeyTx(dbc, c.ComplainantID)
		switch {
		case errors.Is(err, crypto.ErrShredded):
			erased = true
		case err != nil:
			return nil, status.Error(codes.Unavailable, "read messages failed; retry")
		}
	}
	out := &intakev1.ListCaseMessagesResponse{Messages: make([]*intakev1.CaseMessage, 0, len(rows))}
	for _, m := range rows {
		msg := &intakev1.CaseMessage{Id: m.ID, Kind: m.Kind, Author: m.Author, CreatedAt: ts(m.CreatedAt)}
		switch {
		case !bodies:
			msg.Hidden = true
		case erased:
			msg.Erased = true
		default:
			msg.Body = openText(sk, true, "message", m.BodyEnc)
		}
		out.Messages = append(out.Messages, msg)
	}
	return out, nil
}

// RevealComplainant answers the complainant's personal data unmasked. The
// read, the decryption and the complainant.revealed audit entry happen in
// one transaction: nothing is answered unless the entry was committed.
func (f *CaseFile) RevealComplainant(ctx context.Context, req *intakev1.RevealComplainantRequest) (*intakev1.RevealComplainantResponse, error) {
	var e validation.Errors
	e.UUID("case_id", req.GetCaseId())
	reason, ok := revealReasonCode(req.GetReason())
	if !ok {
		e.Add("reason", "is required: one of "+strings.Join(revealReasons(), ", "))
	}
	if err := e.Err(); err != nil {
		return nil, err
	}
	c, err := f.s.caseRow(ctx, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	out := &intakev1.Complainant{}
	err = f.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var comp records.Complainant
		if err := tx.Take(&comp, "id = ?", c.ComplainantID).Error; err != nil {
			return err
		}
		sk, err := f.s.keys.SubjectKey(tx, comp.SubjectKeyID)
		if err != nil {
			return err
		}
		out.Name, out.Phone = openText(sk, true, "name", comp.NameEnc), openText(sk, true, "phone", comp.PhoneEnc)
		out.Email, out.IdNumber = openText(sk, true, "email", comp.EmailEnc), openText(sk, true, "id_number", comp.IDNumberEnc)
		out.PreferredContact = comp.PreferredContact
		_, err = audit.Append(tx, audit.Entry{Actor: access.Actor(ctx), Action: "complainant.revealed", ObjectType: "case",
			ObjectID: c.ID, Details: map[string]any{"reason": reason, "complainant_id": comp.ID}, At: f.s.now()})
		return err
	})
	switch {
	case errors.Is(err, crypto.ErrShredded):
		return nil, errErased
	case err != nil:
		f.s.log.Error("reveal complainant", "case_id", c.ID, "err", err)
		return nil, status.Error(codes.Unavailable, "the reveal could not be recorded; retry")
	}
	return &intakev1.RevealComplainantResponse{Complainant: out}, nil
}

// revealReasons are the reason codes a reveal may give, in the order of the
// RevealReason enum.
func revealReasons() []string {
	var out []string
	for i := int32(1); ; i++ {
		code, ok := revealReasonCode(intakev1.RevealReason(i))
		if !ok {
			return out
		}
		out = append(out, code)
	}
}

// revealReasonCode is the audit code of a reason ("contact" for
// REVEAL_REASON_CONTACT); false for an unset or unknown one.
func revealReasonCode(r intakev1.RevealReason) (string, bool) {
	name, ok := intakev1.RevealReason_name[int32(r)]
	if !ok || r == intakev1.RevealReason_REVEAL_REASON_UNSPECIFIED {
		return "", false
	}
	return strings.ToLower(strings.TrimPrefix(name, "REVEAL_REASON_")), true
}

// ListAttachments answers the case's attachments (names, types, sizes,
// hashes), oldest first; not their content.
func (f *CaseFile) ListAttachments(ctx context.Context, req *intakev1.ListAttachmentsRequest) (*intakev1.ListAttachmentsResponse, error) {
	c, err := f.s.caseRow(ctx, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	dbc := f.s.db.WithContext(ctx)
	atts, err := f.s.attachmentRows(dbc, c.ID)
	if err != nil {
		return nil, status.Error(codes.Unavailable, "read attachments failed; retry")
	}
	out := &intakev1.ListAttachmentsResponse{}
	if len(atts) == 0 {
		return out, nil
	}
	sk, err := f.s.subjectKeyTx(dbc, c.ComplainantID)
	switch {
	case errors.Is(err, crypto.ErrShredded):
		out.Erased = true
	case err != nil:
		return nil, status.Error(codes.Unavailable, "read attachments failed; retry")
	}
	for _, a := range atts {
		out.Attachments = append(out.Attachments, attachmentProto(a, openText(sk, !out.Erased, fieldAttachmentName, a.FileNameEnc)))
	}
	return out, nil
}

// DownloadAttachment answers one attachment with its content, decrypted in
// the transaction that writes its attachment.downloaded audit entry.
func (f *CaseFile) DownloadAttachment(ctx context.Context, req *intakev1.DownloadAttachmentRequest) (*intakev1.DownloadAttachmentResponse, error) {
	var e validation.Errors
	e.UUID("case_id", req.GetCaseId())
	e.UUID("attachment_id", req.GetAttachmentId())
	if err := e.Err(); err != nil {
		return nil, err
	}
	c, err := f.s.caseRow(ctx, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	out := &intakev1.DownloadAttachmentResponse{}
	errNoAttachment := status.Errorf(codes.NotFound, "attachment %s not found", req.GetAttachmentId())
	errUnreadable := status.Error(codes.DataLoss, "the attachment cannot be decrypted")
	err = f.s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var a records.Attachment
		if err := tx.Take(&a, "id = ? AND case_id = ?", req.GetAttachmentId(), c.ID).Error; err != nil {
			if errors.Is(err, gorm.ErrRecordNotFound) {
				return errNoAttachment
			}
			return err
		}
		sk, err := f.s.subjectKeyTx(tx, c.ComplainantID)
		if err != nil {
			return err
		}
		if out.Content, err = sk.Open(fieldAttachment, a.ContentEnc); err != nil {
			return errUnreadable
		}
		out.Attachment = attachmentProto(a, openText(sk, true, fieldAttachmentName, a.FileNameEnc))
		_, err = audit.Append(tx, audit.Entry{Actor: access.Actor(ctx), Action: "attachment.downloaded", ObjectType: "case",
			ObjectID: c.ID, Details: map[string]any{"attachment_id": a.ID, "sha256": hex.EncodeToString(a.SHA256)}, At: f.s.now()})
		return err
	})
	switch {
	case errors.Is(err, crypto.ErrShredded):
		return nil, errErased
	case errors.Is(err, errNoAttachment), errors.Is(err, errUnreadable):
		return nil, err
	case err != nil:
		f.s.log.Error("download attachment", "case_id", c.ID, "err", err)
		return nil, status.Error(codes.Unavailable, "the download could not be recorded; retry")
	}
	return out, nil
}

// attachmentRows reads a case's attachments without their content, oldest first.
func (s *Server) attachmentRows(dbc *gorm.DB, caseID string) ([]records.Attachment, error) {
	var atts []records.Attachment
	err := dbc.Omit("content_enc").Order("created_at, id").Find(&atts, "case_id = ?", caseID).Error
	return atts, err
}

func attachmentProto(a records.Attachment, name string) *intakev1.Attachment {
	return &intakev1.Attachment{
		Id: a.ID, FileName: name, ContentType: a.ContentType, SizeBytes: a.SizeBytes,
		Sha256: hex.EncodeToString(a.SHA256), CreatedAt: ts(a.CreatedAt),
	}
}
