package escalation

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
	"gorm.io/gorm"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/escalation/store"
	wf "github.com/redress/redress/workflows/escalation"
)

// Triggers open the escalations the escalation service finds itself: an
// incident when enough complaints about the same leak arrive within the
// policy's window. Each is created once (dedupe key); the Starter then starts
// its workflow. Escalations the complaint side calls for (mandatory reports,
// regulator inquiries, SLA breaches) it opens itself through Open.
type Triggers struct {
	DB            *gorm.DB
	Intake        store.Intake // leak complaints and case receipts, from intake
	Cluster       wf.ClusterPolicy
	OperatorClass string
	Now           func() time.Time
}

// Pass runs every trigger once and answers how many escalations it opened.
func (t *Triggers) Pass(ctx context.Context) (int, error) {
	return t.DetectIncidents(ctx)
}

func (t *Triggers) now() time.Time {
	if t.Now != nil {
		return t.Now().UTC()
	}
	return time.Now().UTC()
}

type leakCase struct {
	ID             string
	LeakedDataType string
	LeakSource     string
	ReceivedAt     time.Time
}

func leakKey(dataType, source string) string {
	return strings.ToLower(strings.TrimSpace(dataType)) + "\x00" + strings.ToLower(strings.TrimSpace(source))
}

// DetectIncidents clusters complaints about the same leak (same leaked data
// type and source). Cases within the window of an open incident of that leak
// join it; otherwise, once Threshold unclustered cases fall within one window,
// an incident opens with them and its reporting clock starts. One detector at
// a time (advisory lock), so concurrent workers never open two incidents.
// A detected incident is not graded: it is filed only once an officer grades
// it, while its report clock runs from its first complaint.
func (t *Triggers) DetectIncidents(ctx context.Context) (int, error) {
	cl := t.Cluster
	if cl.Threshold <= 0 || cl.Window <= 0 {
		cl = wf.DefaultClusterPolicy
	}
	class := t.OperatorClass
	if !wf.ValidOperatorClass(class) {
		class = wf.ClassOther
	}
	opened := 0
	err := t.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Exec("SELECT pg_advisory_xact_lock(hashtext('redress.incident_detector'))").Error; err != nil {
			return err
		}
		// Cases older than two windows can no longer start or join a cluster
		// that a running detector has not already seen; the margin covers an
		// outage of the detector up to one window.
		cs, err := t.unclustered(ctx, tx, t.now().Add(-2*cl.Window))
		if err != nil {
			return err
		}
		groups := map[string][]leakCase{}
		var keys []string
		for _, c := range cs {
			k := leakKey(c.LeakedDataType, c.LeakSource)
			if _, ok := groups[k]; !ok {
				keys = append(keys, k)
			}
			groups[k] = append(groups[k], c)
		}
		sort.Strings(keys)
		for _, k := range keys {
			n, err := t.cluster(ctx, tx, groups[k], cl, class)
			if err != nil {
				return err
			}
			opened += n
		}
		return nil
	})
	return opened, err
}

// maxLeakCases bounds the complaints one pass clusters.
const maxLeakCases = 10000

// unclustered answers the leak complaints received after since that belong
// to no incident yet, in order of receipt, as intake lists them.
func (t *Triggers) unclustered(ctx context.Context, tx *gorm.DB, since time.Time) ([]leakCase, error) {
	var cs []leakCase
	req := &intakev1.ListLeakComplaintsRequest{ReceivedAfter: timestamppb.New(since), PageSize: 1000}
	for len(cs) < maxLeakCases {
		res, err := t.Intake.ListLeakComplaints(ctx, req)
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(res.Complaints))
		for i, c := range res.Complaints {
			ids[i] = c.CaseId
		}
		var linked []string
		if err := tx.Model(&store.IncidentCase{}).Where("case_id IN ?", ids).Pluck("case_id", &linked).Error; err != nil {
			return nil, err
		}
		for _, c := range res.Complaints {
			if !slices.Contains(linked, c.CaseId) {
				cs = append(cs, leakCase{ID: c.CaseId, LeakedDataType: c.LeakedDataType, LeakSource: c.LeakSource,
					ReceivedAt: c.ReceivedAt.AsTime().UTC()})
			}
		}
		if res.NextCursor == "" {
			break
		}
		req.Cursor = res.NextCursor
	}
	return cs, nil
}

func (t *Triggers) cluster(ctx context.Context, tx *gorm.DB, cs []leakCase, cl wf.ClusterPolicy, class string) (int, error) {
	first := cs[0]
	// Join open incidents of the same leak whose window covers the case.
	var open []store.Escalation
	if err := tx.Where("kind = ? AND status <> ? AND lower(leaked_data_type) = lower(?) AND lower(leak_source) = lower(?)",
		wf.KindIncident, wf.StatusClosed, strings.TrimSpace(first.LeakedDataType), strings.TrimSpace(first.LeakSource)).
		Order("created_at").Find(&open).Error; err != nil {
		return 0, err
	}
	starts := make([]time.Time, len(open)) // each incident's window starts at its first case
	for i, inc := range open {
		var linked []string
		if err := tx.Model(&store.IncidentCase{}).Where("escalation_id = ?", inc.ID).Pluck("case_id", &linked).Error; err != nil {
			return 0, err
		}
		first, err := store.FirstReceived(ctx, t.Intake, linked)
		if err != nil {
			return 0, err
		}
		if first != nil {
			starts[i] = *first
		}
	}
	var rest []leakCase
	joins := make([][]string, len(open))
	for _, c := range cs {
		joined := false
		for i := range open {
			if start := starts[i]; !c.ReceivedAt.Before(start) && c.ReceivedAt.Sub(start) <= cl.Window {
				joins[i] = append(joins[i], c.ID)
				joined = true
				break
			}
		}
		if !joined {
			rest = append(rest, c)
		}
	}
	for i, inc := range open {
		if err := store.LinkCases(tx, inc.ID, joins[i], store.SystemActor, t.now()); err != nil {
			return 0, err
		}
	}
	// Sliding window over the rest: the first window holding Threshold cases opens an incident.
	for i := 0; i+cl.Threshold <= len(rest); i++ {
		j := i
		for j < len(rest) && rest[j].ReceivedAt.Sub(rest[i].ReceivedAt) <= cl.Window {
			j++
		}
		if j-i < cl.Threshold {
			continue
		}
		// The report clock runs from discovery: the first complaint about
		// the leak reached the operator then, not when this pass ran.
		now, discovered := t.now(), rest[i].ReceivedAt.UTC()
		due, err := wf.IncidentDeadline(class, discovered)
		if err != nil {
			return 0, err
		}
		ids := make([]string, 0, j-i)
		for _, c := range rest[i:j] {
			ids = append(ids, c.ID)
		}
		e := store.Escalation{
			Kind: wf.KindIncident, DedupeKey: "incident/" + rest[i].ID, OperatorClass: class, DueAt: &due, DiscoveredAt: &discovered,
			DueRule: wf.IncidentRuleID, DueCitation: wf.IncidentCitation, Regulator: "cac",
			LeakedDataType: strings.TrimSpace(rest[i].LeakedDataType), LeakSource: strings.TrimSpace(rest[i].LeakSource),
			Reason: fmt.Sprintf("%d complaints about the same leak within %s", len(ids), cl.Window), CreatedAt: now,
		}
		if _, _, err := store.Create(tx, e, store.SystemActor, ids); err != nil {
			return 0, err
		}
		return 1, nil // later cases join it on the next pass
	}
	return 0, nil
}
