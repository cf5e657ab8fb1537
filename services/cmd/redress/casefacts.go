package main

import (
	"context"
	"errors"

	"google.golang.org/grpc"

	deletionv1 "github.com/redress/redress/proto/redress/deletion/v1"
	intakev1 "github.com/redress/redress/proto/redress/intake/v1"
	"github.com/redress/redress/services/internal/access"
	"github.com/redress/redress/services/internal/mtls"
)

// escalationAccount is the escalation service's own account (role
// escalation_service: intake.case_facts and deletion.facts only).
const escalationAccount = "svc.escalation"

// caseFactsClient reaches intake's CaseFactsService (at REDRESS_INTAKE_ADDR)
// as the escalation service, until ctx ends: the escalation service and its
// worker learn of cases and send incident notices through it. The
// credential is REDRESS_ESCALATION_SERVICE_TOKEN; only a process that also
// hosts intake (serve all) may go without, its account issuing itself a
// day's credential and renewing it.
func (s *stack) caseFactsClient(ctx context.Context) (intakev1.CaseFactsServiceClient, error) {
	conn, err := s.escalationConn(ctx, s.cfg.IntakeAddr)
	if err != nil {
		return nil, err
	}
	return intakev1.NewCaseFactsServiceClient(conn), nil
}

// deletionFactsClient reaches the deletion service's DeletionFactsService
// (at REDRESS_DELETION_ADDR) as the escalation service, until ctx ends: the
// escalation service checks deletion requests and has answers about them
// sealed through it.
func (s *stack) deletionFactsClient(ctx context.Context) (deletionv1.DeletionFactsServiceClient, error) {
	conn, err := s.escalationConn(ctx, s.cfg.DeletionAddr)
	if err != nil {
		return nil, err
	}
	return deletionv1.NewDeletionFactsServiceClient(conn), nil
}

// escalationConn dials addr with the escalation service's credential
// (REDRESS_ESCALATION_SERVICE_TOKEN), closed when ctx ends.
func (s *stack) escalationConn(ctx context.Context, addr string) (*grpc.ClientConn, error) {
	transport, err := mtls.DialOption(s.tlsFiles(), s.cfg.TLSServerName)
	if err != nil {
		return nil, err
	}
	token := staticToken(s.cfg.EscalationServiceToken)
	if token == nil {
		if !s.hostsIntake { // only a process holding identity's tables may issue itself one
			return nil, errors.New("REDRESS_ESCALATION_SERVICE_TOKEN is not set (the escalation service's credential: " +
				"`redress user add " + escalationAccount + " -role escalation_service`, then `redress user token " + escalationAccount + "`)")
		}
		token = (&ownCredential{store: s.identity(), account: escalationAccount, name: "Escalation service",
			role: access.EscalationService, purpose: "case-facts"}).get
	}
	conn, err := grpc.NewClient(addr, transport, grpc.WithPerRPCCredentials(access.Bearer{Token: token}))
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { _ = conn.Close() })
	return conn, nil
}
