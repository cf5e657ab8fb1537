package notify

import (
	"context"
	"net/mail"
)

// SendMessage delivers a complete MIME message built by the caller (the
// regulator email adapter attaches the filing package) to one address.
// Errors follow Send: permanent or temporary, never naming the address.
func (s *SMTPSender) SendMessage(ctx context.Context, to string, msg []byte) error {
	rcpt, err := mail.ParseAddress(to)
	if err != nil {
		return permanentf("email: recipient address is not valid")
	}
	from, err := mail.ParseAddress(s.From)
	if err != nil {
		return temporaryf("email: From %q is not a valid address", s.From)
	}
	return s.deliver(ctx, from.Address, rcpt.Address, msg)
}

// FromAddress is the sender address of the messages.
func (s *SMTPSender) FromAddress() string { return s.From }
