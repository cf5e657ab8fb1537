package store

import (
	"context"
	"time"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
)

// Intake is intake's CaseFactsService, called with the escalation service's
// credential: the escalation service learns of cases through it, never
// from intake's tables.
type Intake = intakev1.CaseFactsServiceClient

// factsPage is the most case ids CaseFactsService takes at a time.
const factsPage = 500

// CaseFacts answers the facts of the cases (an unknown one answers
// NOT_FOUND), asking in pages.
func CaseFacts(ctx context.Context, in Intake, ids []string) ([]*intakev1.CaseFacts, error) {
	var out []*intakev1.CaseFacts
	for len(ids) > 0 {
		page := ids[:min(factsPage, len(ids))]
		ids = ids[len(page):]
		res, err := in.GetCaseFacts(ctx, &intakev1.GetCaseFactsRequest{CaseIds: page})
		if err != nil {
			return nil, err
		}
		out = append(out, res.Cases...)
	}
	return out, nil
}

// FirstReceived answers the earliest receipt among the cases (nil for none).
func FirstReceived(ctx context.Context, in Intake, ids []string) (*time.Time, error) {
	cs, err := CaseFacts(ctx, in, ids)
	if err != nil {
		return nil, err
	}
	var first *time.Time
	for _, c := range cs {
		if t := c.ReceivedAt.AsTime().UTC(); first == nil || t.Before(*first) {
			first = &t
		}
	}
	return first, nil
}
