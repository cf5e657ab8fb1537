// Package access declares, in one table, the permission every RPC needs,
// and enforces it: an RPC missing from the table is refused (deny by default).
//
// Callers authenticate with a bearer credential (an API token or a console
// session, see the identity package); Guard (guard.go) checks the
// permission Table names against the grants of the caller's role (roles.go).
package access

import (
	"context"

	"google.golang.org/grpc"
)

// Permission is what a caller must hold to call an RPC.
type Permission string

const (
	// Public RPCs need no permission (health checks, reflection).
	Public Permission = "public"
	// Authenticated RPCs need any valid credential; the service decides
	// what the caller may do: act on its own account (who am I, sign out,
	// change my password), or ask to confirm or reject a grant, which the
	// identity store allows only to a fitting second person and otherwise
	// records on the account's own record.
	Authenticated Permission = "authenticated"
	CaseSubmit    Permission = "case.submit"
	CaseRead      Permission = "case.read"
	CaseNote      Permission = "case.note"
	CaseReply     Permission = "case.reply"
	CaseTriage    Permission = "case.triage" // accept, reject, merge
	CaseAssign    Permission = "case.assign" // assign, reassign
	CaseHandle    Permission = "case.handle" // request information, record answers, resolve
	CaseClose     Permission = "case.close"  // close, reopen
	// CaseReveal shows a complainant's personal data unmasked (asks for a
	// reason, writes an audit entry): message bodies, the complainant,
	// attachment contents.
	CaseReveal Permission = "case.reveal"

	ReportExport     Permission = "report.export"     // registers, statistics, audit extract
	ReportInspection Permission = "report.inspection" // inspection packages

	// CaseLookup answers a case's state and deadlines to whoever holds its
	// case number and lookup code (the public status page).
	CaseLookup Permission = "case.lookup"
	// CaseConverse adds what the complainant writes and the evidence they
	// upload to a case, for whoever holds its case number and lookup code
	// (the public status page).
	CaseConverse Permission = "case.converse"
	// ReportPublished answers the aggregate figures the operator publishes.
	ReportPublished Permission = "report.published"
)

// Escalation permissions (EscalationService).
const (
	EscalationRead   Permission = "escalation.read"
	EscalationCreate Permission = "escalation.create" // escalate by hand, open an incident
	EscalationFile   Permission = "escalation.file"   // filing reference, acknowledgement, follow-ups, steps, close
	IncidentManage   Permission = "incident.manage"   // link cases, grade, notification decision
)

// IntakeErase lets the deletion service erase a person's data held by
// intake (ErasureService); only the deletion service's role holds it.
const IntakeErase Permission = "intake.erase"

// IntakeCaseFacts lets the escalation service read the facts of cases (no
// personal data), find leak complaints and have incident notices sent
// (CaseFactsService); only the escalation service's role holds it.
const IntakeCaseFacts Permission = "intake.case_facts"

// DeletionFacts lets the escalation service check deletion requests (no
// personal data) and have answers about them sealed under their requesters'
// keys (DeletionFactsService); only the escalation service's role holds it.
const DeletionFacts Permission = "deletion.facts"

// AlertsOwn reads and marks one's own alerts and sets one's own alert
// preferences (AlertService); the people's roles hold it.
const AlertsOwn Permission = "alerts.own"

// AlertsRaise raises alerts for staff (AlertService.RaiseAlert): the
// deletion and escalation services' roles hold it, for their reminders and
// breaches.
const AlertsRaise Permission = "alerts.raise"

// CalendarAdmin loads official calendars and confirms or rejects another
// administrator's load (CalendarService; the service refuses the loader's
// own confirmation). CalendarRead shows which years are official.
const (
	CalendarAdmin Permission = "calendar.admin"
	CalendarRead  Permission = "calendar.read"
)

const calendars = "/redress.calendar.v1.CalendarService/"

// IntakeInbound lets the inbound gateway add what complainants send by mail
// and SMS to their cases (InboundService); only the gateway's role holds it.
const IntakeInbound Permission = "intake.inbound"

const escalation = "/redress.escalation.v1.EscalationService/"

const erasure = "/redress.intake.v1.ErasureService/"

const caseFacts = "/redress.intake.v1.CaseFactsService/"

const deletionFacts = "/redress.deletion.v1.DeletionFactsService/"

const intake = "/redress.intake.v1.IntakeService/"

const inbound = "/redress.intake.v1.InboundService/"

const caseFile = "/redress.intake.v1.CaseFileService/"
const publicStatus = "/redress.intake.v1.PublicStatusService/"
const identity = "/redress.identity.v1.IdentityService/"
const alertsSvc = "/redress.identity.v1.AlertService/"

// Table maps full RPC method names to the permission they need.
var Table = map[string]Permission{
	intake + "SubmitComplaint":           CaseSubmit,
	intake + "GetCase":                   CaseRead,
	intake + "ListCases":                 CaseRead,
	intake + "AddNote":                   CaseNote,
	intake + "ReplyToComplainant":        CaseReply,
	intake + "AcceptCase":                CaseTriage,
	intake + "RejectCase":                CaseTriage,
	intake + "MergeCase":                 CaseTriage,
	intake + "AssignCase":                CaseAssign,
	intake + "RequestInformation":        CaseHandle,
	intake + "RecordComplainantResponse": CaseHandle,
	intake + "ResolveCase":               CaseHandle,
	intake + "CloseCase":                 CaseClose,
	intake + "ReopenCase":                CaseClose,
	intake + "SetCaseLanguage":           CaseHandle,

	calendars + "Load":    CalendarAdmin,
	calendars + "Confirm": CalendarAdmin,
	calendars + "Reject":  CalendarAdmin,
	calendars + "List":    CalendarRead,

	caseFile + "ListCaseTimeline":   CaseRead,
	caseFile + "ListCaseMessages":   CaseRead, // bodies only with CaseReveal
	caseFile + "ListAttachments":    CaseRead,
	caseFile + "RevealComplainant":  CaseReveal,
	caseFile + "DownloadAttachment": CaseReveal,
	caseFile + "AddAttachments":     CaseNote, // adds to the case file, as a note does

	publicStatus + "LookupStatus":    CaseLookup,
	publicStatus + "GetConversation": CaseLookup,
	publicStatus + "AnswerCase":      CaseConverse,
	publicStatus + "AddEvidence":     CaseConverse,

	"/redress.reporting.v1.ReportingService/Export":                 ReportExport,
	"/redress.reporting.v1.ReportingService/InspectionPackage":      ReportInspection,
	"/redress.reporting.v1.ReportingService/ListDocuments":          ReportExport,
	"/redress.reporting.v1.ReportingService/DownloadDocument":       ReportExport,
	"/redress.reporting.v1.ReportingService/GetPublishedStatistics": ReportPublished,

	erasure + "Locate":    IntakeErase,
	erasure + "Apply":     IntakeErase,
	erasure + "Remaining": IntakeErase,

	inbound + "ComplainantWrote": IntakeInbound,

	caseFacts + "GetCaseFacts":       IntakeCaseFacts,
	caseFacts + "ListLeakComplaints": IntakeCaseFacts,
	caseFacts + "NotifyComplainants": IntakeCaseFacts,
	caseFacts + "SealCaseAnswer":     IntakeCaseFacts,
	caseFacts + "OpenCaseAnswers":    IntakeCaseFacts,

	deletionFacts + "GetDeletionFacts":   DeletionFacts,
	deletionFacts + "SealRequestAnswer":  DeletionFacts,
	deletionFacts + "OpenRequestAnswers": DeletionFacts,

	escalation + "EscalateManually":           EscalationCreate,
	escalation + "OpenIncident":               EscalationCreate,
	escalation + "GetEscalation":              EscalationRead,
	escalation + "ListEscalations":            EscalationRead,
	escalation + "GetFilingPackage":           EscalationRead,
	escalation + "RecordFiling":               EscalationFile,
	escalation + "RecordAcknowledgement":      EscalationFile,
	escalation + "AddFollowUp":                EscalationFile,
	escalation + "AnswerFollowUp":             EscalationFile,
	escalation + "RecordStep":                 EscalationFile,
	escalation + "CloseEscalation":            EscalationFile,
	escalation + "LinkCases":                  IncidentManage,
	escalation + "GradeIncident":              IncidentManage,
	escalation + "SetIncidentDiscovery":       IncidentManage,
	escalation + "RecordNotificationDecision": IncidentManage,

	identity + "SignIn":            IdentitySession,
	identity + "SignInWithIDToken": IdentitySession,
	identity + "WhoAmI":            Authenticated,
	identity + "Authenticate":      Authenticated,
	identity + "EndSession":        Authenticated,
	identity + "ChangePassword":    Authenticated,
	identity + "IssueOwnToken":     TokenOwn,
	identity + "ListUsers":         UserAdmin,
	identity + "CreateAccount":     UserAdmin,
	identity + "SetRole":           UserAdmin,
	identity + "RequestSSOLink":    UserAdmin,
	identity + "SetDisabled":       UserAdmin,
	identity + "IssueToken":        UserAdmin,
	identity + "RevokeToken":       UserAdmin,
	identity + "ListPendingGrants": GrantReview,
	identity + "ConfirmGrant":      Authenticated,
	identity + "RejectGrant":       Authenticated,

	alertsSvc + "ListMyAlerts":   AlertsOwn,
	alertsSvc + "CountUnread":    AlertsOwn,
	alertsSvc + "MarkRead":       AlertsOwn,
	alertsSvc + "GetPreferences": AlertsOwn,
	alertsSvc + "SetPreferences": AlertsOwn,
	alertsSvc + "RaiseAlert":     AlertsRaise,

	"/grpc.health.v1.Health/Check":                                   Public,
	"/grpc.health.v1.Health/Watch":                                   Public,
	"/grpc.health.v1.Health/List":                                    Public,
	"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      Public,
	"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": Public,
}

type actorKey struct{}

// Actor returns the authenticated principal of the call ("anonymous" when none).
func Actor(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "anonymous"
}

// WithActor returns a context carrying the principal (for in-process callers).
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }
