package intake

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"gorm.io/gorm"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/crypto"
	"github.com/redress/redress/services/internal/records"
	"github.com/redress/redress/services/internal/validation"
	"github.com/redress/redress/workflows/complaint"
)

// GetCase answers one case with the complainant's personal data masked.
func (s *Server) GetCase(ctx context.Context, req *intakev1.GetCaseRequest) (*intakev1.GetCaseResponse, error) {
	var e validation.Errors
	e.UUID("case_id", req.GetCaseId())
	if err := e.Err(); err != nil {
		return nil, err
	}
	c, err := s.loadCase(ctx, req.GetCaseId())
	if err != nil {
		return nil, err
	}
	return &intakev1.GetCaseResponse{Case: c}, nil
}

// loadCase reads a case with its deadlines, attachments and masked complainant.
func (s *Server) loadCase(ctx context.Context, caseID string) (*intakev1.Case, error) {
	dbc := s.db.WithContext(ctx)
	var c records.Case
	err := dbc.Take(&c, "id = ?", caseID).Error
	if errors.Is(err, gorm.ErrRecordNotFound) || err == nil && !visible(ctx, c) {
		return nil, caseNotFound(caseID)
	}
	if err != nil {
		return nil, status.Error(codes.Unavailable, "read case failed; retry")
	}
	var deadlines []records.Deadline
	var atts []records.Attachment
	var comp records.Complainant
	if err := dbc.Find(&deadlines, "case_id = ?", caseID).Error; err != nil {
		return nil, status.Error(codes.Unavailable, "read case failed; retry")
	}
	if atts, err = s.attachmentRows(dbc, caseID); err != nil {
		return nil, status.Error(codes.Unavailable, "read case failed; retry")
	}
	if err := dbc.Take(&comp, "id = ?", c.ComplainantID).Error; err != nil {
		return nil, status.Error(codes.Unavailable, "read case failed; retry")
	}
	sk, err := s.keys.SubjectKey(dbc, comp.SubjectKeyID)
	keyOK := err == nil
	openCaseText(sk, keyOK, &c)
	out := caseProto(c, deadlines)
	out.Complainant = s.maskedComplainant(sk, keyOK, comp)
	for _, a := range atts {
		out.Attachments = append(out.Attachments, attachmentProto(a, openText(sk, keyOK, fieldAttachmentName, a.FileNameEnc)))
	}
	out.AllowedActions = allowedActions(ctx, c.State)
	return out, nil
}

// visible reports whether the caller may see case c: an automation
// credential sees only the cases it submitted (see access.CaseOwnerOnly).
func visible(ctx context.Context, c records.Case) bool {
	owner, only := access.CaseOwnerOnly(ctx)
	return !only || c.SubmittedBy != nil && *c.SubmittedBy == owner || caseFound(ctx)
}

// actionMethods names the IntakeService method of each case action: its
// access.Table entry says who may take it.
var actionMethods = map[string]string{
	complaint.ActionNote:               intakev1.IntakeService_AddNote_FullMethodName,
	complaint.UpdateReply:              intakev1.IntakeService_ReplyToComplainant_FullMethodName,
	complaint.UpdateAccept:             intakev1.IntakeService_AcceptCase_FullMethodName,
	complaint.UpdateReject:             intakev1.IntakeService_RejectCase_FullMethodName,
	complaint.UpdateMerge:              intakev1.IntakeService_MergeCase_FullMethodName,
	complaint.UpdateAssign:             intakev1.IntakeService_AssignCase_FullMethodName,
	complaint.UpdateRequestInformation: intakev1.IntakeService_RequestInformation_FullMethodName,
	complaint.UpdateComplainantReplied: intakev1.IntakeService_RecordComplainantResponse_FullMethodName,
	complaint.UpdateResolve:            intakev1.IntakeService_ResolveCase_FullMethodName,
	complaint.UpdateClose:              intakev1.IntakeService_CloseCase_FullMethodName,
	complaint.UpdateReopen:             intakev1.IntakeService_ReopenCase_FullMethodName,
}

// allowedActions lists the actions a case in state takes (the complaint
// workflow's table) that the caller holds the permission for.
func allowedActions(ctx context.Context, state string) []string {
	var out []string
	for _, a := range complaint.State(state).Actions() {
		if perm, ok := access.Table[actionMethods[a]]; ok && access.Holds(ctx, perm) {
			out = append(out, a)
		}
	}
	return out
}

// caseNotFound answers a case that does not exist or that the caller may not
// see, alike: someone else's case is not revealed to exist.
func caseNotFound(caseID string) error {
	return status.Errorf(codes.NotFound, "case %s not found", caseID)
}

// maskedComplainant decrypts to mask; a shredded subject shows as erased.
func (s *Server) maskedComplainant(sk crypto.SubjectKey, keyOK bool, comp records.Complainant) *intakev1.Complainant {
	out := &intakev1.Complainant{PreferredContact: comp.PreferredContact}
	if !keyOK {
		out.Name = "[erased]"
		return out
	}
	open := func(field string, v []byte) string {
		b, err := sk.Open(field, v)
		if err != nil {
			return "[unreadable]"
		}
		return string(b)
	}
	out.Name = crypto.MaskName(open("name", comp.NameEnc))
	out.Phone = crypto.MaskPhone(open("phone", comp.PhoneEnc))
	out.Email = crypto.MaskEmail(open("email", comp.EmailEnc))
	out.IdNumber = crypto.MaskIDNumber(open("id_number", comp.IDNumberEnc))
	return out
}

func caseProto(c records.Case, deadlines []records.Deadline) *intakev1.Case {
	out := &intakev1.Case{
		Id: c.ID, CaseNumber: c.CaseNumber, Kind: kindEnum(c.Kind), Category: categoryEnum(c.Category),
		Channel: channelEnum(c.Channel), ReferringBody: bodyEnum(c.ReferringBody), State: stateEnum(c.State),
		Assignee: c.Assignee, Description: c.Description, PolicyPack: c.PolicyPack, Language: c.Language, Overdue: c.Overdue,
		RejectionReason: reasonEnum(c.RejectionReason), ReceivedAt: ts(c.ReceivedAt), UpdatedAt: ts(c.UpdatedAt),
		WorkflowStarted: c.WorkflowStartedAt != nil, RegulatorDueAt: tsPtr(c.RegulatorDueAt),
		Subject: &intakev1.Subject{
			Type: subjectTypeEnum(c.SubjectType), Value: c.SubjectValue,
			LeakedDataType: c.LeakedDataType, LeakSource: c.LeakSource,
		},
	}
	if c.MergedInto != nil {
		out.MergedIntoCaseId = *c.MergedInto
	}
	out.Acknowledgement, out.Resolution = deadlineProtos(deadlines)
	return out
}

// deadlineProtos are a case's acknowledgement and resolution deadlines.
func deadlineProtos(deadlines []records.Deadline) (ack, res *intakev1.Deadline) {
	for _, d := range deadlines {
		pd := &intakev1.Deadline{
			DueAt: ts(d.DueAt), RuleId: d.RuleID, Citation: d.Citation, Provisional: d.Provisional,
			Status: d.Status, MetAt: tsPtr(d.MetAt),
		}
		switch d.Kind {
		case "acknowledgement":
			ack = pd
		case "resolution":
			res = pd
		}
	}
	return ack, res
}

const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// ListCases filters cases and pages through them by (resolution deadline, id),
// so a page costs the same at the millionth case as at the first.
func (s *Server) ListCases(ctx context.Context, req *intakev1.ListCasesRequest) (*intakev1.ListCasesResponse, error) {
	var e validation.Errors
	size := int(req.GetPageSize())
	switch {
	case size < 0 || size > maxPageSize:
		e.Addf("page_size", "must be between 1 and %d", maxPageSize)
	case size == 0:
		size = defaultPageSize
	}
	after, afterID, tokenErr := decodePageToken(req.GetPageToken())
	if tokenErr != nil {
		e.Add("page_token", "is not a token returned by ListCases")
	}
	var states, categories, channels []string
	for i, st := range req.GetStates() {
		if _, ok := intakev1.CaseState_name[int32(st)]; !ok || st == 0 {
			e.Addf("states", "entry %d is not a known state", i)
		}
		states = append(states, stateName(st))
	}
	for i, c := range req.GetCategories() {
		if _, ok := intakev1.Category_name[int32(c)]; !ok || c == 0 {
			e.Addf("categories", "entry %d is not a known category", i)
		}
		categories = append(categories, categoryName(c))
	}
	for i, c := range req.GetChannels() {
		if _, ok := intakev1.Channel_name[int32(c)]; !ok || c == 0 {
			e.Addf("channels", "entry %d is not a known channel", i)
		}
		channels = append(channels, channelName(c))
	}
	e.Text("assignee", req.GetAssignee(), 0, 64)
	e.Text("text", req.GetText(), 0, 200)
	if req.DeadlineBefore != nil && req.DeadlineBefore.CheckValid() != nil {
		e.Add("deadline_before", "is not a valid time")
	}
	if req.DeadlineAfter != nil && req.DeadlineAfter.CheckValid() != nil {
		e.Add("deadline_after", "is not a valid time")
	}
	if req.GetUnassignedOnly() && req.GetAssignee() != "" {
		e.Add("unassigned_only", "cannot be combined with assignee")
	}
	if err := e.Err(); err != nil {
		return nil, err
	}

	q := s.db.WithContext(ctx).Model(&records.Case{}).Omit("lookup_code_hash", "lookup_code_enc")
	if owner, only := access.CaseOwnerOnly(ctx); only {
		q = q.Where("submitted_by = ?", owner)
	}
	if len(states) > 0 {
		q = q.Where("state IN ?", states)
	}
	if len(categories) > 0 {
		q = q.Where("category IN ?", categories)
	}
	if len(channels) > 0 {
		q = q.Where("channel IN ?", channels)
	}
	if req.GetAssignee() != "" {
		q = q.Where("assignee = ?", req.GetAssignee())
	}
	if req.GetUnassignedOnly() {
		q = q.Where("assignee = ''")
	}
	if req.GetOverdueOnly() {
		q = q.Where("overdue")
	}
	if req.DeadlineBefore != nil {
		q = q.Where("resolution_due_at < ?", req.DeadlineBefore.AsTime())
	}
	if req.DeadlineAfter != nil {
		q = q.Where("resolution_due_at > ?", req.DeadlineAfter.AsTime())
	}
	if t := req.GetText(); t != "" {
		q = textMatches(q, s.keys, t)
	}
	if afterID != "" {
		q = q.Where("(resolution_due_at, id) > (?, ?)", after, afterID)
	}
	var rows []records.Case
	if err := q.Order("resolution_due_at, id").Limit(size + 1).Find(&rows).Error; err != nil {
		s.log.Error("list cases", "err", err)
		return nil, status.Error(codes.Unavailable, "list failed; retry")
	}
	resp := &intakev1.ListCasesResponse{}
	if len(rows) > size {
		rows = rows[:size]
		last := rows[len(rows)-1]
		resp.NextPageToken = encodePageToken(last.ResolutionDueAt, last.ID)
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.ID
	}
	var deadlines []records.Deadline
	if len(ids) > 0 {
		if err := s.db.WithContext(ctx).Find(&deadlines, "case_id IN ?", ids).Error; err != nil {
			return nil, status.Error(codes.Unavailable, "list failed; retry")
		}
	}
	byCase := map[string][]records.Deadline{}
	for _, d := range deadlines {
		byCase[d.CaseID] = append(byCase[d.CaseID], d)
	}
	sks, err := s.caseKeys(s.db.WithContext(ctx), rows)
	if err != nil {
		s.log.Error("list cases: subject keys", "err", err)
		return nil, status.Error(codes.Unavailable, "list failed; retry")
	}
	for _, r := range rows {
		sk, ok := sks[r.ComplainantID]
		openCaseText(sk, ok, &r)
		pc := caseProto(r, byCase[r.ID])
		pc.AllowedActions = allowedActions(ctx, r.State)
		resp.Cases = append(resp.Cases, pc)
	}
	return resp, nil
}

// textMatches keeps the cases a text search finds: those whose sealed texts
// hold every search token of the text (whole words; Chinese by character
// pairs, so at least two characters), or, for a text with a digit (a case
// number such as C-2026-000123 or part of one), whose case number holds it.
// The matching ids are computed first (ARRAY(...) runs once), so a search
// costs what its matches cost, also when the other filters leave none of
// them (walking the queue order would then read every case).
func textMatches(q *gorm.DB, keys *crypto.Keyring, text string) *gorm.DB {
	var parts []string
	var args []any
	for _, t := range keys.SearchTokens(text) {
		parts = append(parts, "SELECT case_id FROM case_search_tokens WHERE token_hash = ?")
		args = append(args, t)
	}
	sub := strings.Join(parts, " INTERSECT ")
	if strings.ContainsAny(text, "0123456789") && len([]rune(text)) >= 3 {
		byNumber := "SELECT id FROM cases WHERE case_number ILIKE ?"
		if sub == "" {
			sub = byNumber
		} else {
			sub = byNumber + " UNION (" + sub + ")"
		}
		args = append([]any{"%" + escapeLike(text) + "%"}, args...)
	}
	if sub == "" {
		return q.Where("false")
	}
	return q.Where("id = ANY(ARRAY("+sub+"))", args...)
}

func encodePageToken(due time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(due.UTC().Format(time.RFC3339Nano) + "|" + id))
}

func decodePageToken(tok string) (time.Time, string, error) {
	if tok == "" {
		return time.Time{}, "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return time.Time{}, "", err
	}
	due, id, ok := strings.Cut(string(raw), "|")
	if !ok || !uuidLike(id) {
		return time.Time{}, "", errors.New("malformed token")
	}
	t, err := time.Parse(time.RFC3339Nano, due)
	return t, id, err
}

func uuidLike(s string) bool {
	var e validation.Errors
	e.UUID("id", s)
	return e.Empty()
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
