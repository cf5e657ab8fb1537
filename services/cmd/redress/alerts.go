package main

import (
	"context"
	"time"

	"google.golang.org/grpc"

	identityv1 "github.com/redress/redress/proto/redress/identity/v1"
	"github.com/redress/redress/services/internal/alerts"
	"github.com/redress/redress/services/internal/notify"
	"github.com/redress/redress/services/worker"
)

// alertStore keeps the staff's alerts (identity's tables): the intake
// process serves it as AlertService; the complaint worker, whose pool is
// intake's role (a member of identity's), raises on it directly. Alerts are
// mailed to the accounts' addresses when mail is configured.
func (s *stack) alertStore() *alerts.Store {
	st := &alerts.Store{DB: s.db, Log: s.log, ConsoleURL: s.cfg.ConsoleURL}
	if s.cfg.SMTPAddr != "" {
		st.Mail = &notify.SMTPSender{Addr: s.cfg.SMTPAddr, From: s.cfg.SMTPFrom, Username: s.cfg.SMTPUser, Password: s.cfg.SMTPPassword,
			PlainText: !s.cfg.SMTPTLS, Timeout: 20 * time.Second}
	}
	return st
}

// remoteAlerts raises alerts through intake's AlertService over conn, a
// connection carrying a service's own credential (the deletion and
// escalation workers: their database roles do not reach identity's tables).
func remoteAlerts(conn *grpc.ClientConn) alerts.Raiser {
	return alerts.Remote{Client: identityv1.NewAlertServiceClient(conn)}
}

// calendarCheckEvery is how often the worker looks for next year's official
// holiday calendar (the warning is raised once per year).
const calendarCheckEvery = 6 * time.Hour

// calendarCheckLoop warns the administrators from 1 October when next
// year's official holiday calendar is missing; it runs beside the complaint
// worker, raising on the complaint pool's alert store.
func (s *stack) calendarCheckLoop() worker.Loop {
	c := alerts.CalendarCheck{Alerts: alerts.Local{Store: s.alertStore()}, Official: alerts.OfficialIn(s.calendars), Log: s.log}
	return worker.LoopFunc("calendar check", func(ctx context.Context) { c.Run(ctx, calendarCheckEvery) })
}
