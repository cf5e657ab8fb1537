package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"
	"gorm.io/gorm"

	escalationv1 "github.com/redress/redress/proto/redress/escalation/v1"
	"github.com/redress/redress/services/internal/config"
	esc "github.com/redress/redress/services/internal/escalation"
	"github.com/redress/redress/services/internal/filing"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/internal/regulator"
	"github.com/redress/redress/services/internal/signed"
	"github.com/redress/redress/services/worker"
	escworker "github.com/redress/redress/services/worker/escalation"
	wf "github.com/redress/redress/workflows/escalation"
)

// operatorClass checks the operator profile's class (REDRESS_OPERATOR_CLASS):
// a misspelt class is refused at start rather than taken for "other", whose
// 4 h incident deadline is the longest. Empty (a Config not read from the
// environment) is "other", the variable's default.
func operatorClass(c string) (string, error) {
	if c == "" {
		return wf.ClassOther, nil
	}
	if !wf.ValidOperatorClass(c) {
		return "", fmt.Errorf("REDRESS_OPERATOR_CLASS %q: one of %s, %s, %s", c, wf.ClassCriticalInfrastructure, wf.ClassCentralBody, wf.ClassOther)
	}
	return c, nil
}

func (s *stack) escalationTiming() wf.Timing {
	return wf.Timing{AckWait: s.cfg.EscalationAckWait, FilingWait: s.cfg.EscalationFilingWait}
}

// serveEscalation runs the escalation process: EscalationService on its
// own address, once follow-up answers from before sealing are sealed.
func (s *stack) serveEscalation(ctx context.Context) error {
	own, err := s.escalationOwners(ctx)
	if err != nil {
		return err
	}
	if n, err := esc.SealClearAnswers(ctx, s.db, own); err != nil {
		s.log.Error("escalation: clear follow-up answers not sealed", "err", err)
	} else if n > 0 {
		s.log.Info("escalation: clear follow-up answers sealed", "rows", n)
	}
	return s.serveGRPC(ctx, "escalation", s.cfg.EscalationAddr, s.cfg.EscalationMetricsAddr,
		func(gs *grpc.Server) { escalationv1.RegisterEscalationServiceServer(gs, s.escalationServer(own)) })
}

// escalationOwners reaches intake's CaseFactsService and the deletion
// service's DeletionFactsService as the escalation service.
func (s *stack) escalationOwners(ctx context.Context) (esc.Owners, error) {
	in, err := s.caseFactsClient(ctx)
	if err != nil {
		return esc.Owners{}, err
	}
	del, err := s.deletionFactsClient(ctx)
	if err != nil {
		return esc.Owners{}, err
	}
	return esc.Owners{Intake: in, Deletion: del}, nil
}

// escalationServer builds EscalationService; its starter starts the
// workflow of a new escalation at once. It learns of cases from intake and
// of deletion requests from the deletion service.
func (s *stack) escalationServer(own esc.Owners) *esc.Server {
	starter := &esc.Starter{Temporal: s.temporal, DB: s.db, Log: s.log, Timing: s.escalationTiming()}
	return esc.New(esc.Config{DB: s.db, Temporal: s.temporal, Starter: starter, Commands: s.signer, Log: s.log,
		Intake: own.Intake, Deletion: own.Deletion, OperatorClass: s.cfg.OperatorClass})
}

// runEscalationWorker runs the escalation worker with its triggers and
// starter. The regulator directory comes from REDRESS_REGULATORS_FILE.
func (s *stack) runEscalationWorker(ctx context.Context) error {
	var mail regulator.MailSender
	if s.cfg.SMTPAddr != "" {
		mail = &notify.SMTPSender{Addr: s.cfg.SMTPAddr, From: s.cfg.SMTPFrom, Username: s.cfg.SMTPUser,
			Password: s.cfg.SMTPPassword, PlainText: !s.cfg.SMTPTLS, Timeout: 60 * time.Second}
	}
	dir, err := regulator.LoadDirectory(s.cfg.RegulatorsFile, mail)
	if err != nil {
		return err
	}
	own, err := s.escalationOwners(ctx)
	if err != nil {
		return err
	}
	facts := own.Intake
	conn, err := s.escalationConn(ctx, s.cfg.IntakeAddr)
	if err != nil {
		return err
	}
	acts := &escworker.Activities{DB: s.db, Keys: s.keys, Regulators: dir, Intake: facts, Log: s.log,
		Contact: s.cfg.OperatorContact, Alerts: remoteAlerts(conn), Alert: mail, AlertTo: s.cfg.ComplianceEmails}
	trig := &esc.Triggers{DB: s.db, Intake: facts, OperatorClass: s.cfg.OperatorClass}
	var loops []worker.Loop
	if s.cfg.RegulatorCallbackAddr != "" {
		lis, err := net.Listen("tcp", s.cfg.RegulatorCallbackAddr)
		if err != nil {
			return fmt.Errorf("regulator callback listen: %w", err)
		}
		cb := &regulator.Callback{Keys: dir.CallbackKeys, Acknowledge: s.escalationServer(own).AcknowledgeFromRegulator}
		loops = append(loops, worker.HTTPLoop("regulator callbacks", &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second}, lis))
		s.log.Info("regulator callbacks", "http", s.cfg.RegulatorCallbackAddr)
	}
	return escworker.Run(ctx, s.temporal, escworker.Deps{Activities: acts, Triggers: trig, Timing: s.escalationTiming(), Commands: s.commands}, loops...)
}

// verifyFiling checks an escalation filing package's audit proof against the
// database (`redress audit verify -filing FILE.zip`): 0 intact, 1 broken, 2
// could not check.
func verifyFiling(ctx context.Context, cfg config.Config, gdb *gorm.DB, path, keyText string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "redress:", err)
		return 2
	}
	v, err := filing.VerifyPackage(ctx, gdb, b)
	if err != nil {
		fmt.Fprintln(os.Stderr, "redress: audit verify -filing:", err)
		return 2
	}
	if !v.OK {
		fmt.Printf("filing package proof BROKEN at entry %d: %s\n", v.BrokenSeq, v.Reason)
		return 1
	}
	fmt.Printf("filing package proof intact: %d included entries match the database; chain %d..%d verified\n", v.Entries, v.FromSeq, v.ToSeq)
	docs, err := filing.ReadCheckpoints(b)
	if err != nil {
		fmt.Fprintln(os.Stderr, "redress: audit verify -filing:", err)
		return 2
	}
	if len(docs) == 0 {
		fmt.Println("the package carries no signed checkpoint")
		return 0
	}
	cres, pub, code := checkCheckpoints(ctx, cfg, gdb, docs, keyText, "audit verify -filing")
	if code >= 0 {
		return code
	}
	if m := cres.FirstMismatch; m != nil {
		fmt.Printf("filing package checkpoint at entry %d no longer matches the chain: %s\n", m.Seq, m.Reason)
		return 1
	}
	fmt.Printf("its %d signed checkpoint(s) match the chain (key %s)\n", cres.Checked, signed.Fingerprint(pub))
	return 0
}
