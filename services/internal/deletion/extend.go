package deletion

import (
	"context"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/validation"
	wf "github.com/redress/redress/workflows/deletion"
)

// Answered are the statuses in which the requester has had the answer.
var Answered = []string{wf.StatusCompleted, wf.StatusRestricted, wf.StatusRejected, wf.StatusCancelled, wf.StatusFailed}

// ExtendDeadline extends a request's deadline once, before it passes, where
// the policy allows: the deadline is decided again with every applicable
// rule's extension allowance, and the strictest result must be later than
// the current due date (a rule allowing none, like cn/A1, caps it). The
// reason text is stored here; the workflow gets its id, records the new due
// date and tells the requester.
func (s *Server) ExtendDeadline(ctx context.Context, req *deletionv1.ExtendDeadlineRequest) (*deletionv1.ExtendDeadlineResponse, error) {
	var e validation.Errors
	e.UUID("deletion_id", req.GetDeletionId())
	if _, ok := deletionv1.ExtensionReason_name[int32(req.GetReasonCode())]; !ok || req.GetReasonCode() == deletionv1.ExtensionReason_EXTENSION_REASON_UNSPECIFIED {
		e.Add("reason_code", "is required (a code from the fixed list)")
	}
	e.Text("reason_text", req.GetReasonText(), 1, 2000)
	if err := e.Err(); err != nil {
		return nil, err
	}
	r, err := s.find(ctx, req.GetDeletionId())
	if err != nil {
		return nil, err
	}
	refuse := func(reason, format string, args ...any) (*deletionv1.ExtendDeadlineResponse, error) {
		return nil, s.refuse(ctx, r.ID, "deletion.extend_refused", reason, status.Errorf(codes.FailedPrecondition, format, args...))
	}
	const day = "2006-01-02 15:04 MST"
	switch {
	case r.ExtendedAt != nil:
		return refuse("already_extended", "the deadline was already extended once (from %s to %s)", r.OriginalDueAt.Format(day), r.DueAt.Format(day))
	case slices.Contains(Answered, r.Status):
		return refuse("answered", "the request is %s: its deadline can no longer be extended", r.Status)
	case !s.now().Before(r.DueAt):
		return refuse("due_passed", "the due date (%s) has passed: an extension must be made before it", r.DueAt.UTC().Format(day))
	}
	f := RequestFacts(r.CreatedAt)
	f.Extended = true
	dec, err := s.policy.Decide(f)
	if err != nil {
		s.log.Error("deletion extend: no deadline rule applies", "deletion_id", r.ID, "err", err)
		return nil, status.Error(codes.Internal, "no deadline rule applies")
	}
	ext := dec.Resolution
	if !ext.DueAt.After(r.DueAt) {
		return refuse("policy_allows_no_extension", "the deadline rule %s (%s) allows no extension", ext.RuleID, ext.Citation)
	}
	textID, err := s.storeReasonText(ctx, r.ID, req.GetReasonText())
	if err != nil {
		return nil, err
	}
	a := wf.Action{Actor: access.Actor(ctx), ReasonCode: enumName(req.GetReasonCode().String(), "EXTENSION_REASON_"),
		ReasonTextID: textID, NewDueAt: ext.DueAt, NewDueRule: ext.RuleID}
	if err := s.update(ctx, r.ID, wf.UpdateExtendDeadline, a); err != nil {
		return nil, err
	}
	d, err := s.load(ctx, r.ID)
	if err != nil {
		return nil, err
	}
	return &deletionv1.ExtendDeadlineResponse{Deletion: d}, nil
}

// extensionText is the stored reason text of an extension ("" for none).
func (s *Server) extensionText(r Request) string {
	if r.ExtensionReasonTextID == nil {
		return ""
	}
	enc, ok, err := StoredReasonText(s.db, r.ID, *r.ExtensionReasonTextID)
	if err != nil || !ok {
		return ""
	}
	key, keyErr := s.keys.SubjectKey(s.db, r.SubjectKeyID)
	return OpenText(key, keyErr, FieldReasonText, enc)
}
