package notify

import "net"

// AsRemote makes s treat the server it reaches as remote, as a relay across
// the network would be (the test SMTP server listens on loopback only).
func AsRemote(s *SMTPSender) { s.local = func(net.Addr) bool { return false } }
