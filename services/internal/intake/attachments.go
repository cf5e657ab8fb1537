package intake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/google/uuid"
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

// addAttachments adds files to a case: the checks a submission's
// attachments pass (count, size, name, type sniffed from the content), the
// content and name sealed under the complainant's key, and one
// attachment.added audit entry per file, all in one transaction: either
// every file is added or none. via names the channel ("agent",
// "status_page", "email"); the actor is the caller's.
func (s *Server) addAttachments(ctx context.Context, caseID, via string, files []*intakev1.AttachmentUpload) ([]*intakev1.Attachment, error) {
	var e validation.Errors
	e.UUID("case_id", caseID)
	if e.UTF8(&intakev1.AddAttachmentsRequest{Attachments: files}); e.Empty() {
		if len(files) == 0 {
			e.Add("attachments", "at least one file is required")
		}
		validateAttachments(&e, files)
	}
	if err := e.Err(); err != nil {
		return nil, err
	}
	c, err := s.caseRow(ctx, caseID)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	rows := make([]records.Attachment, 0, len(files))
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		sk, err := s.subjectKeyTx(tx, c.ComplainantID)
		if err != nil {
			return err
		}
		entries := make([]audit.Entry, 0, len(files))
		for _, f := range files {
			sum := sha256.Sum256(f.GetContent())
			a := records.Attachment{ID: uuid.NewString(), CaseID: c.ID, FileName: f.GetFileName(), ContentType: f.GetContentType(),
				SizeBytes: int64(len(f.GetContent())), SHA256: sum[:], CreatedAt: now}
			if a.ContentEnc, err = sk.Seal(fieldAttachment, f.GetContent()); err != nil {
				return err
			}
			if a.FileNameEnc, err = sk.Seal(fieldAttachmentName, []byte(f.GetFileName())); err != nil {
				return err
			}
			rows = append(rows, a)
			entries = append(entries, audit.Entry{Actor: access.Actor(ctx), Action: "attachment.added", ObjectType: "case", ObjectID: c.ID, At: now,
				Details: map[string]any{"attachment_id": a.ID, "sha256": hex.EncodeToString(a.SHA256), "size_bytes": a.SizeBytes, "via": via}})
		}
		if err := tx.Create(&rows).Error; err != nil {
			return err
		}
		_, err = audit.AppendAll(tx, entries)
		return err
	})
	switch {
	case errors.Is(err, crypto.ErrShredded):
		return nil, errErased
	case err != nil:
		s.log.Error("add attachments", "case_id", c.ID, "err", err)
		return nil, status.Error(codes.Unavailable, "the files could not be saved; retry")
	}
	out := make([]*intakev1.Attachment, len(rows))
	for i, a := range rows {
		out[i] = attachmentProto(a, a.FileName)
	}
	return out, nil
}

// AddAttachments adds an agent's files to the case (see addAttachments).
func (f *CaseFile) AddAttachments(ctx context.Context, req *intakev1.AddAttachmentsRequest) (*intakev1.AddAttachmentsResponse, error) {
	atts, err := f.s.addAttachments(ctx, req.GetCaseId(), "agent", req.GetAttachments())
	if err != nil {
		return nil, err
	}
	return &intakev1.AddAttachmentsResponse{Attachments: atts}, nil
}
