package deletion

import (
	"time"

	"github.com/google/uuid"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	"github.com/redress/redress/services/internal/validation"
)

func validateSubmit(req *deletionv1.SubmitDeletionRequest, now time.Time) error {
	var e validation.Errors
	e.IdempotencyKey("idempotency_key", req.GetIdempotencyKey())
	if req.GetType() != deletionv1.RequestType_REQUEST_TYPE_ERASURE {
		e.Add("type", "must be ERASURE (the only type supported yet)")
	}
	if _, ok := deletionv1.Source_name[int32(req.GetSource())]; !ok || req.GetSource() == deletionv1.Source_SOURCE_UNSPECIFIED {
		e.Add("source", "is required")
	}
	if req.GetCaseId() != "" {
		if _, err := uuid.Parse(req.GetCaseId()); err != nil {
			e.Add("case_id", "must be a case id (UUID)")
		}
	}
	if req.GetSource() == deletionv1.Source_SOURCE_CASE && req.GetCaseId() == "" {
		e.Add("case_id", "is required when the source is CASE")
	}
	phone := req.GetPhone()
	if phone.GetNumber() == "" && req.GetEmail() == "" {
		e.Add("phone", "a phone number or an email address is required")
	}
	if phone != nil {
		if phone.GetNumber() == "" {
			e.Add("phone.number", "is required when phone is given")
		} else {
			e.Phone("phone.number", phone.GetNumber())
		}
		if phone.GetHeldFrom() == nil {
			e.Add("phone.held_from", "is required: a number is searched only for the period the requester held it")
		} else if phone.GetHeldFrom().AsTime().After(now) {
			e.Add("phone.held_from", "must not be in the future")
		}
		if phone.GetHeldUntil() != nil && phone.GetHeldFrom() != nil && !phone.GetHeldUntil().AsTime().After(phone.GetHeldFrom().AsTime()) {
			e.Add("phone.held_until", "must be after held_from")
		}
	}
	if req.GetEmail() != "" {
		e.Email("email", req.GetEmail())
	}
	if l := req.GetLanguage(); l != "" && l != "zh" && l != "en" {
		e.Add("language", `must be "zh" or "en"`)
	}
	if r := req.GetAttestationReason(); r != "" {
		if req.GetSource() == deletionv1.Source_SOURCE_SELF {
			e.Add("attestation_reason", "must be empty for a SELF request: the requester is verified by a one-time code, not by attestation")
		} else {
			e.Text("attestation_reason", r, 10, 1000)
		}
	}
	return e.Err()
}
