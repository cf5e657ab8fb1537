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
	// DeletionService is the deletion service's own account: it asks intake
	// to erase a person's data, and nothing else.
	DeletionService Role = "deletion_service"
)

// Permissions used by the console and the identity work (beside the RPC
// permissions of Table).
const (
	// CaseReveal shows a complainant's personal data unmasked (asks for a
	// reason, writes an audit entry).
	CaseReveal Permission = "case.reveal"
	// UserAdmin manages accounts, roles and API credentials.
	UserAdmin Permission = "user.admin"
)

// Roles lists every role, in the order the console shows them.
var Roles = []Role{Agent, Supervisor, ComplianceOfficer, Admin, Automation, DeletionService}

// Agents attest a requester's identity (in person, on the phone): that lets
// the plan be built, never approved. The deletion service makes a person's
// attestation wait for a reviewer who neither submitted the request nor
// attested it, and lets only automation credentials declare the sources
// auto-approval trusts (pipeline, self).
var agentGrants = []Permission{
	CaseSubmit, CaseRead, CaseNote, CaseReply, CaseTriage, CaseHandle, CaseClose, CaseReveal,
	DeletionSubmit, DeletionRead, DeletionAttest, DeletionTask, EscalationRead,
}

// Grants maps each role to the permissions it holds. Deny by default: a
// permission not listed for a role is refused to it.
var Grants = map[Role][]Permission{
	Agent: agentGrants,
	// Supervisors assign, approve deletion plans and escalate (SPEC §1).
	Supervisor: append(slices.Clip(agentGrants), CaseAssign, DeletionApprove, DeletionCancel,
		EscalationCreate, EscalationFile, IncidentManage),
	// Compliance officers export registers, prepare filings and inspections.
	ComplianceOfficer: {CaseRead, CaseReveal, ReportExport, ReportInspection, DeletionRead,
		EscalationRead, EscalationCreate, EscalationFile, IncidentManage},
	// Administrators manage people and connectors; they see cases but
	// never reveal personal data.
	Admin: {CaseRead, UserAdmin, ConnectorAdmin, DeletionRead, EscalationRead},
	// Partner systems and pipelines submit and read status; a pipeline may
	// vouch for identities it has checked itself (a scoped credential can
	// leave that out); the operator's own systems ask the suppression list
	// before they re-create a person's data (a credential carries it only
	// when asked for by name, see defaultScopes).
	Automation: {CaseSubmit, CaseRead, DeletionSubmit, DeletionRead, DeletionAttest, DeletionSuppressionCheck},
	// The deletion service reaches intake's data only through ErasureService.
	DeletionService: {IntakeErase},
}

// ValidRole reports whether r is one of Roles.
func ValidRole(r string) bool { return slices.Contains(Roles, Role(r)) }

// Holds reports whether role r holds permission p.
func (r Role) Holds(p Permission) bool { return p == Public || slices.Contains(Grants[r], p) }
