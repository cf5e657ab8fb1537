package main

import (
	"context"
	"time"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/notify"
)

// runCheckpoints signs the audit chain head every REDRESS_CHECKPOINT_EVERY
// entries or REDRESS_CHECKPOINT_INTERVAL, with the key in
// REDRESS_CHECKPOINT_KEY_FILE; off (nil) when no key file is configured.
func (s *stack) runCheckpoints(ctx context.Context) error {
	if s.cfg.CheckpointKeyFile == "" {
		s.log.Warn("audit checkpoints are off: REDRESS_CHECKPOINT_KEY_FILE is not set")
		return nil
	}
	key, err := audit.LoadKeyFile(s.cfg.CheckpointKeyFile)
	if err != nil {
		return err
	}
	cp := &audit.Checkpointer{DB: s.db, Key: key, Dir: s.cfg.CheckpointDir, MailTo: s.cfg.ComplianceEmails,
		Every: s.cfg.CheckpointEvery, Interval: s.cfg.CheckpointInterval, Log: s.log}
	if s.cfg.SMTPAddr != "" {
		cp.Mail = &notify.SMTPSender{Addr: s.cfg.SMTPAddr, From: s.cfg.SMTPFrom, Username: s.cfg.SMTPUser,
			Password: s.cfg.SMTPPassword, Timeout: 60 * time.Second}
	}
	return cp.Run(ctx)
}
