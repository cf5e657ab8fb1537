package console

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"gorm.io/gorm"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/records"
)

type timelineRow struct {
	At      time.Time
	Actor   string
	Action  string
	Details string
}

type revealed struct{ Name, Phone, Email, IDNumber string }

// message is a note, reply or answer on the case. Bodies may carry the
// complainant's personal data: only roles that may reveal read them.
type message struct {
	At           time.Time
	Kind, Author string
	Body         string
	Hidden       bool
}

type caseData struct {
	Case        *intakev1.Case
	Due, Ack    string
	DueISO      string
	Risk, Left  string
	Timeline    []timelineRow
	Revealed    *revealed
	Messages    []message
	Deletions   []*deletionv1.Deletion
	Escalations []*escalationv1.Escalation
	Reasons     []string
	Rejections  []string
	State       string
	// Which lifecycle forms the case's state allows (the role is checked
	// separately, in the template, through view.Can).
	Allows map[string]bool
}

var revealReasons = []string{"contact", "verify", "regulator", "deletion"}

func (s *Server) loadCase(w http.ResponseWriter, r *http.Request, v *view) (*caseData, bool) {
	resp, err := s.c.Intake.GetCase(v.rpc(r.Context()), &intakev1.GetCaseRequest{CaseId: r.PathValue("id")})
	if err != nil {
		s.fail(w, r, v, err)
		return nil, false
	}
	c := resp.GetCase()
	d := &caseData{Case: c, Reasons: revealReasons, State: c.GetState().String(), Allows: allows(c.GetState())}
	for i := int32(1); i <= 6; i++ {
		d.Rejections = append(d.Rejections, intakev1.RejectionReason(i).String())
	}
	if dl := c.GetResolution(); dl.GetDueAt() != nil {
		due := dl.GetDueAt().AsTime()
		d.Due, d.DueISO = legalTimeOf(v.Lang, due), due.UTC().Format(time.RFC3339)
		d.Risk, d.Left = risk(s.c.Now(), due, c.GetOverdue())
	}
	if dl := c.GetAcknowledgement(); dl.GetDueAt() != nil {
		d.Ack = legalTimeOf(v.Lang, dl.GetDueAt().AsTime()) + " (" + dl.GetStatus() + ")"
	}
	d.Deletions, d.Escalations = s.linked(r, v, c.GetId())
	var err2 error
	if d.Messages, err2 = s.messages(r.Context(), c.GetId(), v.Can(string(access.CaseReveal))); err2 != nil {
		s.fail(w, r, v, err2)
		return nil, false
	}
	recs, err := audit.ForObject(r.Context(), s.c.DB, "case", c.GetId())
	if err != nil {
		s.fail(w, r, v, err)
		return nil, false
	}
	for i := len(recs) - 1; i >= 0; i-- {
		rec := recs[i]
		det, _ := json.Marshal(rec.Details)
		if string(det) == "null" || string(det) == "{}" {
			det = nil
		}
		d.Timeline = append(d.Timeline, timelineRow{At: rec.At, Actor: rec.Actor, Action: rec.Action, Details: string(det)})
	}
	return d, true
}

// allows maps a case state to the lifecycle forms that make sense in it.
func allows(st intakev1.CaseState) map[string]bool {
	m := map[string]bool{"note": true}
	set := func(names ...string) {
		for _, n := range names {
			m[n] = true
		}
	}
	switch st {
	case intakev1.CaseState_CASE_STATE_RECEIVED:
		set("accept", "reject", "merge", "assign")
	case intakev1.CaseState_CASE_STATE_ACCEPTED, intakev1.CaseState_CASE_STATE_IN_PROGRESS, intakev1.CaseState_CASE_STATE_REOPENED:
		set("assign", "request_info", "reply", "resolve")
	case intakev1.CaseState_CASE_STATE_AWAITING_COMPLAINANT:
		set("record_response", "reply", "assign")
	case intakev1.CaseState_CASE_STATE_RESOLVED:
		set("close", "reopen")
	case intakev1.CaseState_CASE_STATE_CLOSED, intakev1.CaseState_CASE_STATE_REJECTED:
		set("reopen")
	}
	return m
}

func (s *Server) casePage(w http.ResponseWriter, r *http.Request, v *view) {
	d, ok := s.loadCase(w, r, v)
	if !ok {
		return
	}
	v.Title, v.Data = d.Case.GetCaseNumber(), d
	v.Flash = flash(r, v.Lang)
	s.render(w, http.StatusOK, "case", v, "")
}

func flash(r *http.Request, lang string) string {
	if r.URL.Query().Get("done") != "" {
		return translate(lang, "done")
	}
	return ""
}

// reveal shows the complainant's personal data unmasked, once, to a role
// holding case.reveal, with a reason code; the audit entry is written in the
// same transaction that reads the data, so no reveal goes unrecorded.
func (s *Server) reveal(w http.ResponseWriter, r *http.Request, v *view) {
	if !v.Can(string(access.CaseReveal)) {
		s.render(w, http.StatusForbidden, "message", v, "forbidden")
		return
	}
	reason := r.PostFormValue("reason")
	if !slices.Contains(revealReasons, reason) {
		v.Error = translate(v.Lang, "bad_request") + ": reason"
		s.render(w, http.StatusBadRequest, "message", v, "")
		return
	}
	d, ok := s.loadCase(w, r, v) // the service checks case.read and that the case exists
	if !ok {
		return
	}
	rv, err := s.openComplainant(r.Context(), d.Case.GetId(), v.User.Username, reason)
	if err != nil {
		s.fail(w, r, v, err)
		return
	}
	d.Revealed = rv
	d.Timeline = append([]timelineRow{{At: s.c.Now(), Actor: v.User.Username, Action: "complainant.revealed", Details: `{"reason":"` + reason + `"}`}}, d.Timeline...)
	v.Title, v.Data = d.Case.GetCaseNumber(), d
	s.render(w, http.StatusOK, "case", v, "")
}

var errErased = errors.New("complainant's data erased")

// messages lists the case's messages, oldest first, decrypting bodies for
// roles that may see personal data.
func (s *Server) messages(ctx context.Context, caseID string, bodies bool) ([]message, error) {
	db := s.c.DB.WithContext(ctx)
	var rows []records.CaseMessage
	if err := db.Where("case_id = ? AND status <> ?", caseID, records.MessageDiscarded).Order("created_at, id").Find(&rows).Error; err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	var open func(ct []byte) string
	if bodies {
		var comp records.Complainant
		if err := db.Where("id = (SELECT complainant_id FROM cases WHERE id = ?)", caseID).Take(&comp).Error; err != nil {
			return nil, err
		}
		if sk, err := s.c.Keys.SubjectKey(db, comp.SubjectKeyID); err == nil {
			open = func(ct []byte) string {
				b, err := sk.Open("message", ct)
				if err != nil {
					return "[unreadable]"
				}
				return string(b)
			}
		}
	}
	out := make([]message, 0, len(rows))
	for _, m := range rows {
		msg := message{At: m.CreatedAt, Kind: m.Kind, Author: m.Author, Hidden: open == nil}
		if open != nil {
			msg.Body = open(m.BodyEnc)
		}
		out = append(out, msg)
	}
	return out, nil
}

func (s *Server) openComplainant(ctx context.Context, caseID, actor, reason string) (*revealed, error) {
	out := &revealed{}
	err := s.c.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var comp records.Complainant
		if err := tx.Where("id = (SELECT complainant_id FROM cases WHERE id = ?)", caseID).Take(&comp).Error; err != nil {
			return err
		}
		sk, err := s.c.Keys.SubjectKey(tx, comp.SubjectKeyID)
		if err != nil {
			return errErased
		}
		open := func(field string, ct []byte) string {
			if len(ct) == 0 {
				return ""
			}
			b, err := sk.Open(field, ct)
			if err != nil {
				return "[unreadable]"
			}
			return string(b)
		}
		out.Name, out.Phone = open("name", comp.NameEnc), open("phone", comp.PhoneEnc)
		out.Email, out.IDNumber = open("email", comp.EmailEnc), open("id_number", comp.IDNumberEnc)
		_, err = audit.Append(tx, audit.Entry{Actor: actor, Action: "complainant.revealed", ObjectType: "case", ObjectID: caseID,
			Details: map[string]any{"reason": reason, "complainant_id": comp.ID}, At: s.c.Now()})
		return err
	})
	return out, err
}

// caseAction runs one lifecycle form through IntakeService; the service's
// access table decides, the console only shows the forms a role may use.
func (s *Server) caseAction(w http.ResponseWriter, r *http.Request, v *view) {
	id, f := r.PathValue("id"), r.PostFormValue
	ctx := v.rpc(r.Context())
	api := s.c.Intake
	var err error
	switch r.PathValue("action") {
	case "note":
		_, err = api.AddNote(ctx, &intakev1.AddNoteRequest{CaseId: id, Body: f("body")})
	case "reply":
		_, err = api.ReplyToComplainant(ctx, &intakev1.ReplyToComplainantRequest{CaseId: id, Body: f("body")})
	case "accept":
		_, err = api.AcceptCase(ctx, &intakev1.AcceptCaseRequest{CaseId: id})
	case "reject":
		_, err = api.RejectCase(ctx, rejectRequest(id, f("reason"), f("body")))
	case "assign":
		_, err = api.AssignCase(ctx, &intakev1.AssignCaseRequest{CaseId: id, Assignee: f("assignee")})
	case "request_info":
		_, err = api.RequestInformation(ctx, &intakev1.RequestInformationRequest{CaseId: id, Question: f("body")})
	case "record_response":
		_, err = api.RecordComplainantResponse(ctx, &intakev1.RecordComplainantResponseRequest{CaseId: id, Body: f("body")})
	case "resolve":
		_, err = api.ResolveCase(ctx, &intakev1.ResolveCaseRequest{CaseId: id, Feedback: f("body")})
	case "close":
		_, err = api.CloseCase(ctx, &intakev1.CloseCaseRequest{CaseId: id})
	case "reopen":
		_, err = api.ReopenCase(ctx, &intakev1.ReopenCaseRequest{CaseId: id, Reason: f("body")})
	case "merge":
		_, err = api.MergeCase(ctx, &intakev1.MergeCaseRequest{CaseId: id, PrimaryCaseId: f("primary")})
	default:
		s.render(w, http.StatusNotFound, "message", v, "not_found")
		return
	}
	s.finish(w, r, v, err, "/cases/"+id)
}

func rejectRequest(id, reason, text string) *intakev1.RejectCaseRequest {
	req := &intakev1.RejectCaseRequest{CaseId: id, Text: text}
	if v, ok := intakev1.RejectionReason_value[reason]; ok {
		req.Reason = intakev1.RejectionReason(v)
	}
	return req
}
