package escalation

import (
	"fmt"
	"time"
)

// Operator classes of the CAC incident reporting measures.
const (
	ClassCriticalInfrastructure = "critical_infrastructure"
	ClassCentralBody            = "central_body"
	ClassOther                  = "other"
)

// IncidentRule is the reporting deadline of an incident by operator class
// (OBLIGATIONS I1; confidence: secondary).
const (
	IncidentRuleID   = "cn/I1"
	IncidentCitation = "CAC Cybersecurity Incident Reporting Measures (2025-11-01) Art. 4"
)

var incidentHours = map[string]int{ClassCriticalInfrastructure: 1, ClassCentralBody: 2, ClassOther: 4}

// ValidOperatorClass tells whether c is an operator class.
func ValidOperatorClass(c string) bool { _, ok := incidentHours[c]; return ok }

// IncidentDeadline is when the incident report is due: 1 h, 2 h or 4 h from
// the moment the incident opened (its clock start), by operator class.
func IncidentDeadline(class string, openedAt time.Time) (time.Time, error) {
	h, ok := incidentHours[class]
	if !ok {
		return time.Time{}, fmt.Errorf("unknown operator class %q", class)
	}
	return openedAt.Add(time.Duration(h) * time.Hour).UTC(), nil
}

// ClusterPolicy says when complaints about the same leak (same leaked data
// type and source) become an incident: Threshold complaints received within
// Window of the first one. A product default, configurable per deployment.
type ClusterPolicy struct {
	Threshold int
	Window    time.Duration
}

// DefaultClusterPolicy: 20 complaints about one leak within 72 hours.
var DefaultClusterPolicy = ClusterPolicy{Threshold: 20, Window: 72 * time.Hour}

// IncidentNoticeCitation is the law that lists the content of the notice to
// individuals (OBLIGATIONS P4).
const IncidentNoticeCitation = "PIPL Art. 57"
