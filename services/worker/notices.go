package worker

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/workflows/complaint"
)

// SendNotice sends one notice to the complainant, at most once per dedupe
// key: the notifications row is looked up first and marked sent, with its
// audit entry, in the transaction that follows a successful send. A
// permanent refusal (bad address) is recorded and not retried.
func (a *Activities) SendNotice(ctx context.Context, in complaint.NoticeInput) error {
	dbc := a.DB.WithContext(ctx)
	row := records.Notification{
		ID: uuid.NewString(), CaseID: in.CaseID, Kind: in.Kind, DedupeKey: in.DedupeKey,
		Status: "pending", CreatedAt: time.Now().UTC(),
	}
	res := dbc.Clauses(clause.OnConflict{DoNothing: true}).Create(&row)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 { // an earlier attempt's row: go by what it says
		// Into a fresh value: a destination with its primary key set would
		// add "AND id = <the new id>" and miss the earlier row.
		row = records.Notification{}
		if err := dbc.Take(&row, "dedupe_key = ?", in.DedupeKey).Error; err != nil {
			return err
		}
		if row.Status != "pending" {
			return nil // sent (or refused for good) by an earlier attempt
		}
	}
	to, notice, err := a.composeNotice(dbc, in)
	if errors.Is(err, errSubjectErased) {
		return a.finishNotice(ctx, row, "failed", "", "subject erased")
	}
	if err != nil {
		return err
	}
	sendErr := a.Sender.Send(ctx, to, notice)
	switch {
	case sendErr == nil:
		// Delivered: record it even when the worker is stopping (this
		// activity's context cancelled), or the retry would send it again.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return a.finishNotice(rctx, row, "sent", to.Channel(), "")
	case errors.Is(sendErr, notify.ErrPermanent):
		return a.finishNotice(ctx, row, "failed", to.Channel(), "refused by the carrier")
	default:
		dbc.Model(&records.Notification{}).Where("id = ?", row.ID).
			Updates(map[string]any{"attempts": gorm.Expr("attempts + 1"), "last_error": "send failed; retrying"})
		return temporal.NewApplicationError("notice not sent yet", "NoticeRetry")
	}
}

// finishNotice records a notice's outcome with its audit entry, in a group
// with the others finishing meanwhile (noticerecord.go).
func (a *Activities) finishNotice(ctx context.Context, row records.Notification, status, channel, reason string) error {
	a.noticesOnce.Do(func() { a.notices = newNoticeRecorder(a.DB) })
	return a.notices.record(ctx, noticeOutcome{row: row, status: status, channel: channel, reason: reason})
}

var errSubjectErased = errors.New("subject erased")

// noticeFacts is what a notice needs of its case and complainant, read in
// one statement (a notice goes out for every new case).
type noticeFacts struct {
	CaseID, CaseNumber, State, Language, RejectionReason string
	AckDueAt, ResolutionDueAt                            time.Time
	LookupCodeEnc, SourceMessageIDEnc                    []byte
	SubjectKeyID, PreferredContact                       string
	EmailEnc, PhoneEnc                                   []byte
	Citation                                             *string // the resolution deadline's
}

// composeNotice decrypts the recipient and the message for one notice.
func (a *Activities) composeNotice(dbc *gorm.DB, in complaint.NoticeInput) (notify.Recipient, notify.Notice, error) {
	var c noticeFacts
	res := dbc.Raw(`SELECT c.id AS case_id, c.case_number, c.state, c.language, c.rejection_reason,
			c.ack_due_at, c.resolution_due_at, c.lookup_code_enc, c.source_message_id_enc,
			p.subject_key_id, p.preferred_contact, p.email_enc, p.phone_enc, d.citation
		FROM cases c JOIN complainants p ON p.id = c.complainant_id
		LEFT JOIN deadlines d ON d.case_id = c.id AND d.kind = ?
		WHERE c.id = ?`, complaint.DeadlineResolution, in.CaseID).Scan(&c)
	if res.Error != nil {
		return notify.Recipient{}, notify.Notice{}, res.Error
	}
	if res.RowsAffected == 0 {
		return notify.Recipient{}, notify.Notice{}, gorm.ErrRecordNotFound
	}
	sk, err := a.Keys.SubjectKey(dbc, c.SubjectKeyID)
	if errors.Is(err, crypto.ErrShredded) {
		return notify.Recipient{}, notify.Notice{}, errSubjectErased
	}
	if err != nil { // the database, not the subject: retried
		return notify.Recipient{}, notify.Notice{}, err
	}
	open := func(field string, v []byte) string {
		b, _ := sk.Open(field, v)
		return string(b)
	}
	to := notify.Recipient{Email: open("email", c.EmailEnc), Phone: open("phone", c.PhoneEnc), Preferred: c.PreferredContact}
	n := notify.Notice{
		Kind: in.Kind, Language: c.Language, CaseNumber: c.CaseNumber, AckDueAt: c.AckDueAt,
		ResolutionDueAt: c.ResolutionDueAt, ReasonCode: c.RejectionReason, DedupeKey: in.DedupeKey,
	}
	if in.Kind == complaint.NoticeDeadlineMoved && c.State != complaint.StateReceived {
		n.AckDueAt = time.Time{} // acknowledged already: only the result's date still runs
	}
	if len(c.SourceMessageIDEnc) > 0 { // the case came by mail: answer it
		n.InReplyTo = open(records.FieldSourceMessageID, c.SourceMessageIDEnc)
	}
	if in.Kind == complaint.NoticeAcknowledgement {
		n.LookupCode = open("lookup_code", c.LookupCodeEnc)
		if c.Citation != nil {
			n.Citation = *c.Citation
		}
	}
	if in.MessageID != "" {
		var m records.CaseMessage
		if err := dbc.Take(&m, "id = ? AND case_id = ?", in.MessageID, c.CaseID).Error; err != nil {
			return notify.Recipient{}, notify.Notice{}, err
		}
		n.Body = open("message", m.BodyEnc)
	}
	return to, n, nil
}
