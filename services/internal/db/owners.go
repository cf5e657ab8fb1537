package db

import "sort"

// Service names a service that owns tables of the record.
type Service string

// The owning services. Only the owner writes its tables; every other service
// goes through the owner's API (gRPC) or Temporal. Two deliberate exceptions:
// every service appends to the audit chain (audit_entries through package
// audit, in the same transaction as the change it records), and reporting
// reads the other services' tables as its read model (read-only).
const (
	Intake     Service = "intake"     // cases, complainants, their messages, deadlines and notices
	Deletion   Service = "deletion"   // deletion requests, plans, evidence, suppression
	Escalation Service = "escalation" // escalations to regulators and incidents
	Reporting  Service = "reporting"  // statutory reports
	Identity   Service = "identity"   // users, sessions, tokens, grants, staff alerts
	Audit      Service = "audit"      // the hash-chained audit log
	Crypto     Service = "crypto"     // per-subject keys (crypto-shredding)
	Migrations Service = "migrations" // the migration tool's own bookkeeping
)

// Owners names the owning service of every table in the migrated schema.
// TestEveryTableHasOneOwner fails when a migration adds a table not listed
// here, so no table is created without an owner.
var Owners = map[string]Service{
	"cases":              Intake,
	"complainants":       Intake,
	"case_actions":       Intake,
	"case_messages":      Intake,
	"case_search_tokens": Intake,
	"attachments":        Intake,
	"deadlines":          Intake,
	"deadline_reminders": Intake,
	"intake_idempotency": Intake,
	"notifications":      Intake, // notices to complainants
	"calendar_loads":     Intake, // official calendars, loaded and confirmed through CalendarService
	"inbound_messages":   Intake, // mail and SMS from complainants, recorded once

	"deletion_requests":          Deletion,
	"deletion_batches":           Deletion,
	"deletion_plans":             Deletion,
	"deletion_receipts":          Deletion,
	"deletion_evidence":          Deletion,
	"deletion_certificates":      Deletion,
	"deletion_challenges":        Deletion,
	"deletion_code_events":       Deletion,
	"deletion_connectors":        Deletion,
	"deletion_idempotency":       Deletion,
	"deletion_manual_tasks":      Deletion,
	"deletion_reason_texts":      Deletion,
	"deletion_webhook_callbacks": Deletion,
	"suppression_entries":        Deletion,

	"escalations":          Escalation,
	"escalation_actions":   Escalation,
	"escalation_breaches":  Escalation,
	"escalation_filings":   Escalation,
	"escalation_followups": Escalation,
	"escalation_packages":  Escalation,
	"escalation_steps":     Escalation,
	"incident_cases":       Escalation,

	"report_documents": Reporting,

	"users":       Identity,
	"sessions":    Identity,
	"api_tokens":  Identity,
	"role_grants": Identity,
	// What staff are told and how they want to be told: identity knows the people.
	"alerts":            Identity,
	"alert_preferences": Identity,

	"audit_entries":     Audit,
	"audit_head":        Audit,
	"audit_counts":      Audit,
	"audit_checkpoints": Audit,

	"subject_keys": Crypto,

	"goose_db_version": Migrations,
}

// TablesOf lists the tables svc owns, sorted.
func TablesOf(svc Service) []string {
	var ts []string
	for t, s := range Owners {
		if s == svc {
			ts = append(ts, t)
		}
	}
	sort.Strings(ts)
	return ts
}
