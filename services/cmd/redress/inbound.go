package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/grpcserver"
	"github.com/redress/redress/services/internal/inbound"
	"github.com/redress/redress/services/internal/mtls"
)

// inboundAccount is the inbound gateway's own account (role
// inbound_gateway: mail and SMS submissions and intake.inbound only).
const inboundAccount = "svc.inbound"

// serveInbound runs the inbound gateway: the complaints mailbox's reader
// (when REDRESS_IMAP_ADDR is set) and the SMS webhook with the probes on
// REDRESS_INBOUND_ADDR. It reaches intake over gRPC with its own
// credential and holds no database and no keys.
func (s *stack) serveInbound(ctx context.Context) error {
	conn, err := s.inboundConn(ctx)
	if err != nil {
		return err
	}
	gw := &inbound.Gateway{Intake: intakev1.NewIntakeServiceClient(conn), Inbound: intakev1.NewInboundServiceClient(conn), Log: s.log}
	lis, err := net.Listen("tcp", s.cfg.InboundAddr)
	if err != nil {
		return fmt.Errorf("inbound listen: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle(inbound.SMSPath, &inbound.SMSWebhook{Gateway: gw, Secret: []byte(s.cfg.SMSWebhookSecret)})
	mux.Handle("/", grpcserver.HTTPHandler(grpcserver.NewMetrics(), func(context.Context) error { return nil }))
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return grpcserver.ServeHTTP(ctx, lis, mux) })
	if s.cfg.SMSWebhookSecret == "" {
		s.log.Warn("inbound: REDRESS_SMS_WEBHOOK_SECRET is not set; the SMS webhook refuses every message")
	}
	if s.cfg.IMAPAddr == "" {
		s.log.Warn("inbound: REDRESS_IMAP_ADDR is not set; no complaints mailbox is read")
	} else {
		box, err := s.mailbox()
		if err != nil {
			return err
		}
		g.Go(func() error { return (&inbound.Reader{Mailbox: box, Gateway: gw, Log: s.log}).Run(ctx) })
	}
	s.log.Info("inbound serving", "sms_webhook", "http://"+s.cfg.InboundAddr+inbound.SMSPath, "mailbox", s.cfg.IMAPAddr != "")
	return g.Wait()
}

// mailbox is the complaints mailbox's configuration.
func (s *stack) mailbox() (inbound.Mailbox, error) {
	box := inbound.Mailbox{Addr: s.cfg.IMAPAddr, User: s.cfg.IMAPUser, Password: s.cfg.IMAPPassword,
		Folder: s.cfg.IMAPFolder, Poll: s.cfg.IMAPPoll}
	switch s.cfg.IMAPSecurity {
	case "tls":
		box.TLS = true
	case "starttls":
	case "none":
		host, _, err := net.SplitHostPort(s.cfg.IMAPAddr)
		if ip := net.ParseIP(host); err != nil || (host != "localhost" && (ip == nil || !ip.IsLoopback())) {
			return box, errors.New("REDRESS_IMAP_SECURITY=none is for a mailbox on this machine only")
		}
		box.Insecure = true
	default:
		return box, fmt.Errorf("REDRESS_IMAP_SECURITY=%q: want tls, starttls or none", s.cfg.IMAPSecurity)
	}
	return box, nil
}

// inboundConn dials intake (REDRESS_INTAKE_ADDR) with the gateway's
// credential (REDRESS_INBOUND_SERVICE_TOKEN), closed when ctx ends; only a
// process that also hosts intake (serve all) may go without, its account
// issuing itself a credential.
func (s *stack) inboundConn(ctx context.Context) (*grpc.ClientConn, error) {
	transport, err := mtls.DialOption(s.tlsFiles(), s.cfg.TLSServerName)
	if err != nil {
		return nil, err
	}
	token := staticToken(s.cfg.InboundServiceToken)
	if token == nil {
		if !s.hostsIntake {
			return nil, errors.New("REDRESS_INBOUND_SERVICE_TOKEN is not set (the inbound gateway's credential: " +
				"`redress user add " + inboundAccount + " -role inbound_gateway`, then `redress user token " + inboundAccount + "`)")
		}
		token = (&ownCredential{store: s.identity(), account: inboundAccount, name: "Inbound gateway",
			role: access.InboundGateway, purpose: "inbound"}).get
	}
	conn, err := grpc.NewClient(s.cfg.IntakeAddr, transport, grpc.WithPerRPCCredentials(access.Bearer{Token: token}))
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { _ = conn.Close() })
	return conn, nil
}
