package notify

import "context"

// Router sends each notice on one channel: the recipient's preferred one
// (Recipient.Preferred, "email" or "sms"; email when unset) when it has that
// address and the channel is configured, else the other one. A failure of the
// chosen channel is returned as it is, without trying the other channel, so a
// retry of the notice goes to the same channel and the dedupe key keeps
// meaning one message.
type Router struct {
	Email Sender // nil when email is not configured
	SMS   Sender // nil when SMS is not configured
}

// Route names the channel Send would use for to, "" when none can reach it.
func (r *Router) Route(to Recipient) string {
	for _, c := range to.channels() {
		if r.sender(c) != nil {
			return c
		}
	}
	return ""
}

func (r *Router) sender(channel string) Sender {
	switch channel {
	case ChannelEmail:
		return r.Email
	case ChannelSMS:
		return r.SMS
	}
	return nil
}

// Send sends n on the channel Route picks. When no configured channel
// reaches the recipient the error is permanent: the notice cannot be sent.
func (r *Router) Send(ctx context.Context, to Recipient, n Notice) error {
	c := r.Route(to)
	if c == "" {
		if len(to.channels()) == 0 {
			return permanentf("no email address or phone number for the recipient")
		}
		return permanentf("no configured channel reaches the recipient")
	}
	return r.sender(c).Send(ctx, to, n)
}
