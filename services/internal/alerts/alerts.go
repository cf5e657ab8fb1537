// Package alerts tells staff what needs them: complaint cases at risk and
// overdue, deletion plans waiting for approval, escalations and incidents
// near or past their due time, a year without an official holiday calendar.
//
// Identity owns the alerts (it knows the people): the recipients of an event
// follow from its kind and the accounts' roles, each person's preferences
// say whether it shows in the console and whether it is mailed. An alert
// names its object by number or id with a console link, never personal
// data. Raising an event twice (an activity's retry) adds nothing: one
// alert per recipient per event key.
package alerts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/notify"
)

// Kind is what an alert is about.
type Kind string

const (
	CaseAtRisk        Kind = "case_at_risk"       // a complaint deadline's reminder
	CaseOverdue       Kind = "case_overdue"       // a complaint deadline passed
	DeletionApproval  Kind = "deletion_approval"  // a deletion plan waits for approval
	EscalationDue     Kind = "escalation_due"     // an escalation's duty is near its due time
	EscalationOverdue Kind = "escalation_overdue" // an escalation's duty passed, or needs a supervisor
	CalendarMissing   Kind = "calendar_missing"   // no official holiday calendar for next year
	// A confirmed calendar brought a case's deadline or a deletion
	// request's due date forward.
	DeadlineMovedEarlier Kind = "deadline_moved_earlier"
	// The complainant wrote to a case (never the text itself).
	ComplainantWrote Kind = "complainant_wrote"
)

// Kinds lists every kind, in the order preferences are shown.
var Kinds = []Kind{CaseAtRisk, CaseOverdue, DeletionApproval, EscalationDue, EscalationOverdue, CalendarMissing,
	DeadlineMovedEarlier, ComplainantWrote}

// Subject types an alert may name.
var subjectTypes = []string{"case", "deletion_request", "escalation", "calendar"}

// Event is one thing to tell people about.
type Event struct {
	Kind Kind
	// Key identifies the event: raised again, it adds no alert.
	Key string
	// SubjectType and SubjectRef name the object: "case" and its number,
	// "deletion_request" or "escalation" and its id, "calendar" and a year.
	SubjectType, SubjectRef string
	// Note is a short text without personal data ("resolution deadline, 80 %").
	Note string
	// Link is the object's console path ("/cases/<id>").
	Link  string
	DueAt *time.Time
	// Assignee is the username of the case's assignee (case kinds), if any.
	Assignee string
}

// audience is who hears of an event besides a case's assignee: the
// supervisors for cases (for a complainant's message only while the case
// has no assignee); for plans waiting for approval, whoever may approve
// one; for deletion requests due earlier, whoever may approve plans or
// complete their manual tasks; for escalations and incidents,
// whoever may file and record them (the compliance officers and the
// supervisors); the administrators for the calendar.
func audience(e Event) []access.Role {
	switch e.Kind {
	case CaseAtRisk, CaseOverdue:
		return []access.Role{access.Supervisor}
	case ComplainantWrote:
		if e.Assignee != "" {
			return nil
		}
		return []access.Role{access.Supervisor}
	case DeadlineMovedEarlier:
		if e.SubjectType == "deletion_request" {
			return holders(access.DeletionApprove, access.DeletionTask)
		}
		return []access.Role{access.Supervisor}
	case DeletionApproval:
		return holders(access.DeletionApprove)
	case EscalationDue, EscalationOverdue:
		return holders(access.EscalationFile)
	case CalendarMissing:
		return []access.Role{access.Admin}
	}
	return nil
}

// holders are the people's roles holding any of ps.
func holders(ps ...access.Permission) []access.Role {
	var rs []access.Role
	for _, r := range access.Roles {
		if !r.IsService() && slices.ContainsFunc(ps, r.Holds) {
			rs = append(rs, r)
		}
	}
	return rs
}

// Preference is how a person wants to hear of one kind.
type Preference struct {
	Kind           Kind
	Console, Email bool
}

// DefaultPreference: every kind shows in the console and is mailed, except
// the early reminders of complaint deadlines, which would mail every
// supervisor twice per case (the console shows them).
func DefaultPreference(k Kind) Preference {
	return Preference{Kind: k, Console: true, Email: k != CaseAtRisk}
}

// Mailer sends a ready message (notify.SMTPSender).
type Mailer interface {
	SendMessage(ctx context.Context, to string, msg []byte) error
	FromAddress() string
}

// Store keeps alerts and preferences in PostgreSQL.
type Store struct {
	DB *gorm.DB
	// Mail sends the alerts people want by email to their account's
	// address (users.email); nil: nobody is mailed.
	Mail Mailer
	// ConsoleURL prefixes the links in mails (REDRESS_CONSOLE_URL); empty:
	// the mails give the console path only.
	ConsoleURL string
	Log        *slog.Logger
	Now        func() time.Time
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Store) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Alert is one person's alert.
type Alert struct {
	ID          int64
	Recipient   string
	EventKey    string
	Kind        Kind
	SubjectType string
	SubjectRef  string
	Note        string
	Link        string
	DueAt       *time.Time
	CreatedAt   time.Time
	InConsole   bool
	EmailWanted bool
	EmailedAt   *time.Time
	ReadAt      *time.Time
}

// TableName is the alerts table.
func (Alert) TableName() string { return "alerts" }

type prefRow struct {
	Username  string
	Kind      string
	Console   bool
	Email     bool
	UpdatedAt time.Time
}

func (prefRow) TableName() string { return "alert_preferences" }

// ErrInvalid wraps a bad event.
var ErrInvalid = errors.New("invalid alert")

func (e Event) check() error {
	switch {
	case !slices.Contains(Kinds, e.Kind):
		return fmt.Errorf("%w: kind %q", ErrInvalid, e.Kind)
	case e.Key == "" || len(e.Key) > 200:
		return fmt.Errorf("%w: event key must be 1-200 bytes", ErrInvalid)
	case !slices.Contains(subjectTypes, e.SubjectType):
		return fmt.Errorf("%w: subject type %q", ErrInvalid, e.SubjectType)
	case e.SubjectRef == "" || len(e.SubjectRef) > 100:
		return fmt.Errorf("%w: subject ref must be 1-100 bytes", ErrInvalid)
	case len(e.Note) > 300:
		return fmt.Errorf("%w: note longer than 300 bytes", ErrInvalid)
	case e.Link != "" && (!strings.HasPrefix(e.Link, "/") || strings.HasPrefix(e.Link, "//") || len(e.Link) > 200):
		return fmt.Errorf("%w: link must be a console path", ErrInvalid)
	}
	return nil
}

// assigneeKinds are the kinds a case's assignee hears of.
var assigneeKinds = []Kind{CaseAtRisk, CaseOverdue, DeadlineMovedEarlier, ComplainantWrote}

type recipient struct {
	Username, Email, Role string
}

// recipients are the enabled people the event goes to: the assignee (case
// kinds) and the accounts of the kind's audience.
func (s *Store) recipients(tx *gorm.DB, e Event) ([]recipient, error) {
	var roles []string
	for _, r := range audience(e) {
		roles = append(roles, string(r))
	}
	q := tx.Table("users").Select("username", "email", "role").Where("NOT disabled")
	if e.Assignee != "" && e.SubjectType == "case" && slices.Contains(assigneeKinds, e.Kind) {
		q = q.Where("role IN ? OR username = ?", roles, e.Assignee)
	} else {
		q = q.Where("role IN ?", roles)
	}
	var rs []recipient
	err := q.Order("username").Scan(&rs).Error
	// A service account is nobody to tell, even when it is a case's assignee.
	return slices.DeleteFunc(rs, func(r recipient) bool { return access.Role(r.Role).IsService() || r.Role == "none" }), err
}

// Raise adds the event's alert for each recipient who has none for it yet,
// and mails those who want it by email and were not mailed yet (so a retry
// after a failed send mails the rest, and nobody twice once it succeeded).
// It answers how many alerts it added.
func (s *Store) Raise(ctx context.Context, e Event) (int, error) {
	if err := e.check(); err != nil {
		return 0, err
	}
	added := 0
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		rs, err := s.recipients(tx, e)
		if err != nil {
			return err
		}
		now := s.now()
		for _, r := range rs {
			p, err := s.preference(tx, r.Username, e.Kind)
			if err != nil {
				return err
			}
			res := tx.Exec(`INSERT INTO alerts (recipient, event_key, kind, subject_type, subject_ref, note, link, due_at, created_at, in_console, email_wanted)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (recipient, event_key) DO NOTHING`,
				r.Username, e.Key, string(e.Kind), e.SubjectType, e.SubjectRef, e.Note, e.Link, e.DueAt, now, p.Console, p.Email && r.Email != "")
			if res.Error != nil {
				return res.Error
			}
			added += int(res.RowsAffected)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return added, s.mailPending(ctx, e.Key)
}

// mailPending mails the event's alerts still waiting for their mail, each
// marked sent once its send succeeded.
func (s *Store) mailPending(ctx context.Context, key string) error {
	if s.Mail == nil {
		return nil
	}
	var pending []struct {
		Alert
		Email string
	}
	err := s.DB.WithContext(ctx).Table("alerts a").Select("a.*, u.email").Joins("JOIN users u ON u.username = a.recipient").
		Where("a.event_key = ? AND a.email_wanted AND a.emailed_at IS NULL AND u.email <> ''", key).Order("a.id").Scan(&pending).Error
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range pending {
		if err := s.Mail.SendMessage(ctx, p.Email, s.message(p.Email, p.Alert)); err != nil {
			s.log().Error("alert mail failed", "alert", p.ID, "kind", string(p.Kind), "err", err)
			errs = append(errs, fmt.Errorf("alert mail: %w", err))
			continue
		}
		if err := s.DB.WithContext(ctx).Model(&Alert{}).Where("id = ?", p.ID).Update("emailed_at", s.now()).Error; err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// subjects of the mails, per kind.
var mailSubject = map[Kind]string{
	CaseAtRisk:        "case %s: deadline near",
	CaseOverdue:       "case %s: deadline missed",
	DeletionApproval:  "deletion request %s waits for approval",
	EscalationDue:     "escalation %s: due soon",
	EscalationOverdue: "escalation %s needs you",
	CalendarMissing:   "no official holiday calendar for %s",
	// %s: a case number or a deletion request's reference.
	DeadlineMovedEarlier: "%s: deadline moved earlier",
	ComplainantWrote:     "case %s: the complainant wrote",
}

// message is the mail of one alert: its kind, reference, note, due time
// and link; the Message-ID is stable per alert, so a resend is recognisably
// the same mail.
func (s *Store) message(to string, a Alert) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: Redress: %s\r\n", s.Mail.FromAddress(), to, fmt.Sprintf(mailSubject[a.Kind], a.SubjectRef))
	fmt.Fprintf(&b, "Date: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		s.now().Format(time.RFC1123Z), notify.MessageID(fmt.Sprintf("alert/%d", a.ID)))
	fmt.Fprintf(&b, "%s\r\n", fmt.Sprintf(mailSubject[a.Kind], a.SubjectRef))
	if a.Note != "" {
		fmt.Fprintf(&b, "%s\r\n", a.Note)
	}
	if a.DueAt != nil {
		fmt.Fprintf(&b, "Due: %s\r\n", a.DueAt.UTC().Format(time.RFC3339))
	}
	if a.Link != "" {
		fmt.Fprintf(&b, "Open: %s%s\r\n", strings.TrimRight(s.ConsoleURL, "/"), a.Link)
	}
	b.WriteString("\r\nYou get this mail because of your role in Redress; choose what you are mailed under Alerts > Preferences in the console.\r\n")
	return b.Bytes()
}

func (s *Store) preference(tx *gorm.DB, username string, k Kind) (Preference, error) {
	var rows []prefRow
	if err := tx.Where("username = ? AND kind = ?", username, string(k)).Find(&rows).Error; err != nil {
		return Preference{}, err
	}
	if len(rows) == 0 {
		return DefaultPreference(k), nil
	}
	return Preference{Kind: k, Console: rows[0].Console, Email: rows[0].Email}, nil
}

// Preferences answers a person's preference for every kind.
func (s *Store) Preferences(ctx context.Context, username string) ([]Preference, error) {
	var rows []prefRow
	if err := s.DB.WithContext(ctx).Where("username = ?", username).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Preference, len(Kinds))
	for i, k := range Kinds {
		out[i] = DefaultPreference(k)
		for _, r := range rows {
			if r.Kind == string(k) {
				out[i].Console, out[i].Email = r.Console, r.Email
			}
		}
	}
	return out, nil
}

// SetPreferences stores a person's preferences for the kinds given, all or
// none.
func (s *Store) SetPreferences(ctx context.Context, username string, ps []Preference) error {
	return s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, p := range ps {
			if !slices.Contains(Kinds, p.Kind) {
				return fmt.Errorf("%w: kind %q", ErrInvalid, p.Kind)
			}
			err := tx.Exec(`INSERT INTO alert_preferences (username, kind, console, email, updated_at) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (username, kind) DO UPDATE SET console = EXCLUDED.console, email = EXCLUDED.email, updated_at = EXCLUDED.updated_at`,
				username, string(p.Kind), p.Console, p.Email, s.now()).Error
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// List answers a person's console alerts, newest first: at most limit,
// older than the id before (0: from the newest).
func (s *Store) List(ctx context.Context, username string, unreadOnly bool, before int64, limit int) ([]Alert, error) {
	q := s.DB.WithContext(ctx).Where("recipient = ? AND in_console", username)
	if unreadOnly {
		q = q.Where("read_at IS NULL")
	}
	if before > 0 {
		q = q.Where("id < ?", before)
	}
	var as []Alert
	return as, q.Order("id DESC").Limit(limit).Find(&as).Error
}

// CountUnread answers how many of a person's console alerts are unread.
func (s *Store) CountUnread(ctx context.Context, username string) (int64, error) {
	var n int64
	err := s.DB.WithContext(ctx).Model(&Alert{}).Where("recipient = ? AND in_console AND read_at IS NULL", username).Count(&n).Error
	return n, err
}

// ErrNotFound: an alert that is not the person's (or none).
var ErrNotFound = errors.New("alert not found")

// MarkRead marks a person's alerts read: those of ids, or all of them when
// ids is nil. An id that is not the person's marks nothing (ErrNotFound).
func (s *Store) MarkRead(ctx context.Context, username string, ids []int64) (int64, error) {
	var marked int64
	err := s.DB.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		q := tx.Model(&Alert{}).Where("recipient = ?", username)
		if ids != nil {
			var own int64
			if err := tx.Model(&Alert{}).Where("recipient = ? AND id IN ?", username, ids).Count(&own).Error; err != nil {
				return err
			}
			if int(own) != len(slices.Compact(slices.Sorted(slices.Values(ids)))) {
				return ErrNotFound
			}
			q = q.Where("id IN ?", ids)
		}
		res := q.Where("read_at IS NULL").Update("read_at", s.now())
		marked = res.RowsAffected
		return res.Error
	})
	return marked, err
}
