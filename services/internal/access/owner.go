package access

import "context"

// IsAutomation reports whether the call comes from a service account (a
// partner system, a pipeline or the public site; see Role.IsService) rather
// than a person: such a caller sees and acts only on the objects it
// submitted. A call without a principal came through TrustActorHeader (tests
// only) and is not one.
func IsAutomation(ctx context.Context) bool {
	p, ok := PrincipalFrom(ctx)
	return ok && p.Role.IsService()
}

// CaseOwnerOnly reports whether the caller may see only the cases it
// submitted itself, and under which principal id they were recorded: so
// one partner never reads another's complaints.
func CaseOwnerOnly(ctx context.Context) (owner string, only bool) {
	if !IsAutomation(ctx) {
		return "", false
	}
	p, _ := PrincipalFrom(ctx)
	return p.ID, true
}

// IsPerson reports whether the call comes from an authenticated person (any
// role but the service accounts'): what a person vouches for, a second
// person checks.
func IsPerson(ctx context.Context) bool {
	p, ok := PrincipalFrom(ctx)
	return ok && !p.Role.IsService()
}

// WebFormOnly reports whether the caller submits through the public web
// form only (the public site's account): any other channel is refused to it.
func WebFormOnly(ctx context.Context) bool {
	p, ok := PrincipalFrom(ctx)
	return ok && p.Role == PublicSite
}

// Complainant is the principal of a call the intake service makes for the
// complainant of one case, once the caller proved that case's lookup code
// (the public status page). It is no account and holds no permission; the
// code, not the caller's own confinement to the cases it submitted, decides
// which case it reaches.
const Complainant Role = "complainant"

// ForComplainant returns ctx acting as the complainant of the case whose
// lookup code the service has just checked: audit entries and workflow
// actions name "complainant", not the public site's account.
func ForComplainant(ctx context.Context) context.Context {
	ctx = WithPrincipal(ctx, Principal{ID: string(Complainant), Role: Complainant})
	return WithActor(ctx, string(Complainant))
}
