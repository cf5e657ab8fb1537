// Package access declares, in one table, the permission every RPC needs,
// and enforces it: an RPC missing from the table is refused (deny by default).
//
// Authentication proper (accounts, bearer credentials, roles) arrives with
// the identity work; until then the caller names itself in the
// "x-redress-actor" metadata and holds every permission. The table and the
// refusal of undeclared RPCs are already binding.
package access

import (
	"context"
	"regexp"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Permission is what a caller must hold to call an RPC.
type Permission string

const (
	// Public RPCs need no permission (health checks, reflection).
	Public     Permission = "public"
	CaseSubmit Permission = "case.submit"
	CaseRead   Permission = "case.read"
	CaseNote   Permission = "case.note"
	CaseReply  Permission = "case.reply"
	CaseTriage Permission = "case.triage" // accept, reject, merge
	CaseAssign Permission = "case.assign" // assign, reassign
	CaseHandle Permission = "case.handle" // request information, record answers, resolve
	CaseClose  Permission = "case.close"  // close, reopen

	ReportExport     Permission = "report.export"     // registers, statistics, audit extract
	ReportInspection Permission = "report.inspection" // inspection packages
)

// Escalation permissions (EscalationService).
const (
	EscalationRead   Permission = "escalation.read"
	EscalationCreate Permission = "escalation.create" // escalate by hand, open an incident
	EscalationFile   Permission = "escalation.file"   // filing reference, acknowledgement, follow-ups, steps, close
	IncidentManage   Permission = "incident.manage"   // link cases, grade, notification decision
)

const escalation = "/redress.escalation.v1.EscalationService/"

const intake = "/redress.intake.v1.IntakeService/"

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

	"/redress.reporting.v1.ReportingService/Export":            ReportExport,
	"/redress.reporting.v1.ReportingService/InspectionPackage": ReportInspection,

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
	escalation + "RecordNotificationDecision": IncidentManage,

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

var actorPattern = regexp.MustCompile(`^[A-Za-z0-9._@:-]{1,64}$`)

func authorize(ctx context.Context, method string) (context.Context, error) {
	perm, ok := Table[method]
	if !ok {
		return nil, status.Errorf(codes.PermissionDenied, "%s declares no permission: refused", method)
	}
	if perm == Public {
		return ctx, nil
	}
	actor := "api"
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get("x-redress-actor"); len(v) > 0 {
			if !actorPattern.MatchString(v[0]) {
				return nil, status.Error(codes.Unauthenticated, "x-redress-actor: not a valid principal id")
			}
			actor = v[0]
		}
	}
	return WithActor(ctx, actor), nil
}

// UnaryInterceptor enforces the table on unary RPCs.
func UnaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	ctx, err := authorize(ctx, info.FullMethod)
	if err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// StreamInterceptor enforces the table on streaming RPCs.
func StreamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	ctx, err := authorize(ss.Context(), info.FullMethod)
	if err != nil {
		return err
	}
	return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }
