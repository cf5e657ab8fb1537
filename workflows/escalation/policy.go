package escalation

import (
	"fmt"
	"slices"
	"time"
)

// Operator classes of the CAC incident reporting measures.
const (
	ClassCriticalInfrastructure = "critical_infrastructure"
	ClassCentralBody            = "central_body"
	ClassOther                  = "other"
)

// Severity grades of a cybersecurity incident (CAC Cybersecurity Incident
// Reporting Measures): 特别重大, 重大, 较大, 一般. The duty to report
// applies from "relatively serious" (较大) up (OBLIGATIONS I1); an incident
// graded "general" is recorded, not filed.
const (
	SeverityEspeciallySerious = "especially_serious" // 特别重大
	SeveritySerious           = "serious"            // 重大
	SeverityRelativelySerious = "relatively_serious" // 较大: the reporting threshold
	SeverityGeneral           = "general"            // 一般
)

// Severities lists the grades, most serious first.
var Severities = []string{SeverityEspeciallySerious, SeveritySerious, SeverityRelativelySerious, SeverityGeneral}

// ValidSeverity tells whether s is a severity grade.
func ValidSeverity(s string) bool { return slices.Contains(Severities, s) }

// BelowReportThreshold tells whether an incident graded s carries no duty to
// report. Empty (not graded yet, or graded before grades were recorded) is
// not below: the clock runs.
func BelowReportThreshold(s string) bool { return s == SeverityGeneral }

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
const IncidentNoticeCitation = "PIPL 2021 Art. 57"
