package regulator

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime/multipart"
	"net/textproto"
	"time"

	"github.com/redress/redress/services/internal/notify"
)

// MailSender delivers a complete message (notify.SMTPSender).
type MailSender interface {
	SendMessage(ctx context.Context, to string, msg []byte) error
	FromAddress() string
}

// Email sends the filing to the regulator's mailbox with the package
// attached. The Message-ID derives from the idempotency key, so a re-sent
// filing is recognisable as the same one. Acknowledgement comes later (an
// officer records it).
type Email struct {
	Mail MailSender
	To   string
}

func (e *Email) Name() string { return "email" }

// Submit sends one message.
func (e *Email) Submit(ctx context.Context, f Filing) (Receipt, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "From: %s\r\nTo: %s\r\nSubject: Regulatory filing %s (%s)\r\n", e.Mail.FromAddress(), e.To, f.EscalationID, f.Kind)
	fmt.Fprintf(&msg, "Date: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n", time.Now().UTC().Format(time.RFC1123Z), notify.MessageID("filing/"+f.IdempotencyKey))
	fmt.Fprintf(&msg, "Content-Type: multipart/mixed; boundary=%s\r\n\r\n", mw.Boundary())
	// Every part is written into body, a bytes.Buffer, whose writes cannot fail.
	text, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"text/plain; charset=utf-8"}})
	_, _ = fmt.Fprintf(text, "Filing %s (%s) is attached as a ZIP with manifest.json, summary.pdf and the audit-chain proof.\r\nPackage SHA-256: %s\r\n",
		f.EscalationID, f.Kind, f.PackageSHA256)
	att, _ := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"application/zip"},
		"Content-Transfer-Encoding": {"base64"},
		"Content-Disposition":       {fmt.Sprintf("attachment; filename=\"filing-%s.zip\"", f.EscalationID)},
	})
	enc := base64.StdEncoding.EncodeToString(f.Package)
	for len(enc) > 76 {
		_, _ = fmt.Fprintf(att, "%s\r\n", enc[:76])
		enc = enc[76:]
	}
	_, _ = fmt.Fprintf(att, "%s\r\n", enc)
	_ = mw.Close()
	msg.Write(body.Bytes())
	if err := e.Mail.SendMessage(ctx, e.To, msg.Bytes()); err != nil {
		if errors.Is(err, notify.ErrPermanent) {
			return Receipt{}, fmt.Errorf("email: %w: %v", ErrRejected, err)
		}
		return Receipt{}, err
	}
	return Receipt{Outcome: Accepted}, nil
}
