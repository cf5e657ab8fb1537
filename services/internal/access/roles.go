package access

import "slices"

// Role is what a person or a service account is allowed to do, as a set of
// permissions. The grants below are the second half of the one place a
// reviewer reads: Table says what each RPC needs, Grants what each role holds.
type Role string

const (
	Agent             Role = "agent"
	Supervisor        Role = "supervisor"
	ComplianceOfficer Role = "compliance_officer"
	Admin             Role = "admin"
	Automation        Role = "automation"
	// PublicSite is the internet-facing public pages' own account: it
	// submits web-form complaints, looks a case up by number and code (and
	// with both adds the complainant's answers and evidence), and reads the
	// published figures; nothing else.
	PublicSite Role = "public_site"
	// Console is the web console's own service account: it signs people
	// in (identity.session) and nothing else; what a person then does is
	// done with that person's session.
	Console Role = "console"
	// DeletionService is the deletion service's own account: it asks intake
	// to erase a person's data, and nothing else.
	DeletionService Role = "deletion_service"
	// EscalationService is the escalation service's own account: it asks
	// intake for case facts and incident notices, and the deletion service
	// for the facts of deletion requests, and nothing else.
	EscalationService Role = "escalation_service"
)

// Permissions used by the console and the identity work (beside the RPC
// permissions of Table).
const (
	// UserAdmin manages accounts, roles and API credentials.
	UserAdmin Permission = "user.admin"
	// GrantReview lists the grants of power waiting for a second person
	// (whoever asks to confirm or reject one, the identity store decides).
	GrantReview Permission = "grant.review"
	// TokenOwn issues oneself an API credential (people only: service
	// accounts' credentials are issued by an administrator).
	TokenOwn Permission = "token.own"
	// IdentitySession creates a session for whoever proves a correct
	// password or a verified ID token: the console's sign-in.
	IdentitySession Permission = "identity.session"
)

// Roles lists every role, in the order the console shows them.
var Roles = []Role{Agent, Supervisor, ComplianceOfficer, Admin, Automation, PublicSite, Console, DeletionService, EscalationService}

// Agents attest a requester's identity (in person, on the phone): that lets
// the plan be built, never approved. The deletion service makes a person's
// attestation wait for a reviewer who neither submitted the request nor
// attested it, and lets only automation credentials declare the sources
// auto-approval trusts (pipeline, self).
var agentGrants = []Permission{
	CaseSubmit, CaseRead, CaseNote, CaseReply, CaseTriage, CaseHandle, CaseClose, CaseReveal,
	DeletionSubmit, DeletionRead, DeletionAttest, DeletionTask, EscalationRead, TokenOwn, AlertsOwn,
}

// Grants maps each role to the permissions it holds. Deny by default: a
// permission not listed for a role is refused to it.
var Grants = map[Role][]Permission{
	Agent: agentGrants,
	// Supervisors assign, approve deletion plans and escalate (SPEC §1).
	Supervisor: append(slices.Clip(agentGrants), CaseAssign, DeletionApprove, DeletionCancel,
		EscalationCreate, EscalationFile, IncidentManage),
	// Compliance officers export registers, prepare filings and inspections.
	ComplianceOfficer: {CaseRead, CaseReveal, ReportExport, ReportInspection, ReportPublished, DeletionRead,
		EscalationRead, EscalationCreate, EscalationFile, IncidentManage, GrantReview, TokenOwn, AlertsOwn},
	// Administrators manage people and connectors; they see cases but
	// never reveal personal data.
	Admin: {CaseRead, UserAdmin, ConnectorAdmin, DeletionRead, EscalationRead, GrantReview, TokenOwn, AlertsOwn},
	// Partner systems and pipelines submit and read status; a pipeline may
	// vouch for identities it has checked itself (a scoped credential can
	// leave that out); the operator's own systems ask the suppression list
	// before they re-create a person's data (a credential carries it only
	// when asked for by name, see defaultScopes).
	Automation: {CaseSubmit, CaseRead, DeletionSubmit, DeletionRead, DeletionAttest, DeletionSuppressionCheck},
	// The public site submits (web form only: the intake service refuses
	// any other channel from it) and never reads or writes a case beyond
	// what number and code open.
	PublicSite: {CaseSubmit, CaseLookup, CaseConverse, ReportPublished},
	// The console's account creates sessions and reads nothing.
	Console: {IdentitySession},
	// The deletion service reaches intake's data only through ErasureService,
	// and raises the alerts of plans waiting for approval.
	DeletionService: {IntakeErase, AlertsRaise},
	// The escalation service reaches intake's cases only through
	// CaseFactsService, deletion requests only through DeletionFactsService;
	// it raises the alerts of duties near or past their due time.
	EscalationService: {IntakeCaseFacts, DeletionFacts, AlertsRaise},
}

// ValidRole reports whether r is one of Roles.
func ValidRole(r string) bool { return slices.Contains(Roles, Role(r)) }

// Holds reports whether role r holds permission p. Every role holds
// Authenticated (acting on one's own account).
func (r Role) Holds(p Permission) bool {
	return p == Public || p == Authenticated || slices.Contains(Grants[r], p)
}

// IsService reports whether r is a system's account (a partner system or
// pipeline, the public site, the console, the deletion or escalation
// service) rather than a person's: it sees and acts only on the objects it
// submitted, its word is not a person's,
// its credentials are issued by an administrator, and it never becomes a
// person's account.
func (r Role) IsService() bool {
	return r == Automation || r == PublicSite || r == Console || r == DeletionService || r == EscalationService
}
