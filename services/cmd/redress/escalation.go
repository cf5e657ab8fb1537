package main

import (
	"context"
	"time"

	esc "github.com/redress/redress/services/internal/escalation"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/regulator"
	escworker "github.com/redress/redress/services/worker/escalation"
	wf "github.com/redress/redress/workflows/escalation"
)

func (s *stack) escalationTiming() wf.Timing {
	return wf.Timing{AckWait: s.cfg.EscalationAckWait}
}

// escalationServer builds EscalationService; its starter starts the
// workflow of a new escalation at once.
func (s *stack) escalationServer() *esc.Server {
	starter := &esc.Starter{Temporal: s.temporal, DB: s.db, Log: s.log, Timing: s.escalationTiming()}
	return esc.New(esc.Config{DB: s.db, Temporal: s.temporal, Starter: starter, Log: s.log, OperatorClass: s.cfg.OperatorClass})
}

// runEscalationWorker runs the escalation worker with its triggers and
// starter. The regulator directory comes from REDRESS_REGULATORS_FILE.
func (s *stack) runEscalationWorker(ctx context.Context) error {
	var mail regulator.MailSender
	if s.cfg.SMTPAddr != "" {
		mail = &notify.SMTPSender{Addr: s.cfg.SMTPAddr, From: s.cfg.SMTPFrom, Username: s.cfg.SMTPUser,
			Password: s.cfg.SMTPPassword, Timeout: 60 * time.Second}
	}
	dir, err := regulator.LoadDirectory(s.cfg.RegulatorsFile, mail)
	if err != nil {
		return err
	}
	acts := &escworker.Activities{DB: s.db, Keys: s.keys, Regulators: dir, Sender: s.sender(), Log: s.log,
		Contact: s.cfg.OperatorContact}
	trig := &esc.Triggers{DB: s.db, Policy: s.policy, OperatorClass: s.cfg.OperatorClass}
	return escworker.Run(ctx, s.temporal, escworker.Deps{Activities: acts, Triggers: trig, Timing: s.escalationTiming()})
}
