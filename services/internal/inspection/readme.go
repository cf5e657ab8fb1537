package inspection

import (
	"io"
	"text/template"
)

var readme = template.Must(template.New("readme").Parse(`# Redress inspection package

Complaint and report handling records for {{.From.Format "2006-01-02T15:04:05Z07:00"}} to
{{.To.Format "2006-01-02T15:04:05Z07:00"}} (the end excluded), built {{.CreatedAt.Format "2006-01-02T15:04:05Z07:00"}}.
Prepared for an inspection under CSL 2016 Art. 49 (CSL 2026 Art. 51).

## What is in it

| file | content |
|---|---|
| registers/cases.csv | every case received in the period: category, channel, state, deadlines, the rule and citation that set them, when each was met |
| registers/deletions.csv | personal-information deletion requests of the period |
| registers/escalations.csv | escalations (SLA breaches, mandatory reports, incidents, regulator inquiries) |
| statistics/sla_by_*.csv | on-time acknowledgement and resolution rates; median and p90 handling time in working days |
| audit/extract.csv | the audit entries of the period, in chain order, with their hashes |
| audit/proof.json | where the extract sits in the audit chain and the chain's head when the package was built |
| policy/cn.json | the deadline rules in force, with their citations |
| calendars/cn/*.json | the official working-day calendars used, with their sources |
| manifest.json | the SHA-256 and size of every other file |

Registers hold no personal information: complainants, descriptions and the
reported content stay in the operator's system.

## How the statistics count

- A deadline met at or before its due time is on time; met after it, breached,
  or still open past it when the report was built is late; open and not yet due
  (or paused while awaiting the complainant) is pending.
  Rate = on time / (on time + late).
- Merged (duplicate) cases are left out; rejected cases count for acknowledgement only.
- Handling time = working days from receipt to the resolution (the day of receipt
  not counted, Civil Code Art. 201), on the official calendar of the case's policy.
  The median of an even count is the mean of the two middle values; p90 is the
  nearest-rank 90th percentile.

## How to verify it

    redress audit verify --package <this file or folder>

checks that every file listed in manifest.json is present, unaltered (SHA-256 and
size) and that nothing was added; then recomputes the hash of every entry of
audit/extract.csv (hash = SHA-256(prev_hash || canonical entry), see audit/proof.json)
and checks that each entry links to the one before it, from the proof's
anchor_prev_hash to its last_hash. It answers "package intact" (exit status 0) or
names the first file or entry that does not verify (exit status 1).

Without the tool: compute SHA-256 of each file (e.g. sha256sum) and compare with
manifest.json. The manifest's own SHA-256 was written into the operator's audit
chain (action "inspection.manifest"); ask the operator to show that entry and to
run "redress audit verify" on the live chain, whose head at build time is in
audit/proof.json.
`))

func writeReadme(w io.Writer, m Manifest) error { return readme.Execute(w, m) }
