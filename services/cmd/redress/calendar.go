package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	calendarv1 "github.com/redress/redress/proto/redress/calendar/v1"
	"github.com/redress/redress/services/internal/config"
)

const calendarUsage = `usage: redress calendar <load FILE | confirm LOAD_ID | reject LOAD_ID -reason TEXT | list> [-addr ADDR] [-token TOKEN]

  load FILE     load a year's official calendar (JSON, as workflows/calendar/data/cn/<year>.json); it waits
                for another administrator's confirmation
  confirm ID    put a load in force (not by the administrator who loaded it); open cases are recomputed
  reject ID     refuse a load, with -reason; it stays on record
  list          every load, and per year whether an official calendar or the statutory holidays count

The call is made with your own API credential (-token or $REDRESS_TOKEN; redress user token ...), so the
load, confirmation or rejection is recorded under your name.
`

// runCalendar calls CalendarService on the intake listener as the person
// whose credential it carries: the service records who loaded and who
// confirmed, and refuses a confirmation by the loader.
func runCalendar(ctx context.Context, cfg config.Config, args []string, out io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, calendarUsage)
		return errors.New("calendar: name a subcommand")
	}
	sub, rest := args[0], args[1:]
	var target string
	if sub != "list" {
		if len(rest) == 0 || rest[0] == "" || rest[0][0] == '-' {
			return fmt.Errorf("calendar %s: name the %s", sub, map[bool]string{true: "file", false: "load id"}[sub == "load"])
		}
		target, rest = rest[0], rest[1:]
	}
	fs := flag.NewFlagSet("calendar "+sub, flag.ContinueOnError)
	addr := fs.String("addr", cfg.IntakeAddr, "gRPC address of the intake listener")
	token := fs.String("token", os.Getenv("REDRESS_TOKEN"), "your API credential (default $REDRESS_TOKEN)")
	reason := fs.String("reason", "", "reject: why the load is refused")
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if *token == "" {
		return errors.New("calendar: no credential: set -token or REDRESS_TOKEN (redress user token ...)")
	}
	conn, err := grpc.NewClient(*addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close() }()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+*token)
	c := calendarv1.NewCalendarServiceClient(conn)

	switch sub {
	case "load":
		b, err := os.ReadFile(target)
		if err != nil {
			return fmt.Errorf("calendar load: %w", err)
		}
		r, err := c.Load(ctx, &calendarv1.LoadRequest{File: b})
		if err != nil {
			return fmt.Errorf("calendar load: %w", err)
		}
		l := r.GetLoad()
		_, err = fmt.Fprintf(out, "loaded %s %d as %s (sha256 %s), waiting for another administrator's confirmation\n",
			l.GetJurisdiction(), l.GetYear(), l.GetId(), l.GetSha256())
		return err
	case "confirm":
		r, err := c.Confirm(ctx, &calendarv1.ConfirmRequest{LoadId: target})
		if err != nil {
			return fmt.Errorf("calendar confirm: %w", err)
		}
		_, err = fmt.Fprintf(out, "confirmed %s %d: in force; %d open cases recomputed, %d not reached\n",
			r.GetLoad().GetJurisdiction(), r.GetLoad().GetYear(), r.GetRecomputed(), r.GetFailed())
		return err
	case "reject":
		r, err := c.Reject(ctx, &calendarv1.RejectRequest{LoadId: target, Reason: *reason})
		if err != nil {
			return fmt.Errorf("calendar reject: %w", err)
		}
		_, err = fmt.Fprintf(out, "rejected %s %d (%s)\n", r.GetLoad().GetJurisdiction(), r.GetLoad().GetYear(), r.GetLoad().GetId())
		return err
	case "list":
		r, err := c.List(ctx, &calendarv1.ListRequest{})
		if err != nil {
			return fmt.Errorf("calendar list: %w", err)
		}
		// Write errors surface at Flush.
		tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		_, _ = fmt.Fprintln(tw, "YEAR\tCOUNTED ON\tSOURCE")
		for _, y := range r.GetYears() {
			_, _ = fmt.Fprintf(tw, "%d\t%s\t%s\n", y.GetYear(), yearBasis(y.GetBasis()), y.GetSource())
		}
		_, _ = fmt.Fprintln(tw, "\nLOAD\tYEAR\tSTATUS\tLOADED BY\tDECIDED BY\tSHA256")
		for _, l := range r.GetLoads() {
			_, _ = fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%.12s\n", l.GetId(), l.GetYear(), loadStatus(l.GetStatus()),
				l.GetLoadedBy(), l.GetDecidedBy(), l.GetSha256())
		}
		return tw.Flush()
	}
	fmt.Fprint(os.Stderr, calendarUsage)
	return fmt.Errorf("calendar: unknown subcommand %q", sub)
}

func yearBasis(b calendarv1.YearBasis) string {
	switch b {
	case calendarv1.YearBasis_YEAR_BASIS_SHIPPED:
		return "official (shipped)"
	case calendarv1.YearBasis_YEAR_BASIS_LOADED:
		return "official (loaded)"
	}
	return "statutory holidays (provisional)"
}

func loadStatus(s calendarv1.LoadStatus) string {
	switch s {
	case calendarv1.LoadStatus_LOAD_STATUS_PENDING:
		return "pending"
	case calendarv1.LoadStatus_LOAD_STATUS_CONFIRMED:
		return "confirmed"
	case calendarv1.LoadStatus_LOAD_STATUS_REJECTED:
		return "rejected"
	}
	return "?"
}
