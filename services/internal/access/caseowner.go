package access

import "context"

// CaseOwnerOnly reports whether the caller may see only the cases it
// submitted itself, and under which principal id they were recorded.
// Automation credentials (partner systems, referral feeds) are restricted so:
// one partner never reads another's complaints. People keep what their role
// grants; a call without a principal (in-process, or the test-only trusted
// header) is not restricted.
func CaseOwnerOnly(ctx context.Context) (owner string, only bool) {
	p, ok := PrincipalFrom(ctx)
	if !ok || p.Role != Automation {
		return "", false
	}
	return p.ID, true
}
