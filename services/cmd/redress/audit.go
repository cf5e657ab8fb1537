package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/redress/redress/services/internal/audit"
	"github.com/redress/redress/services/internal/config"
	"github.com/redress/redress/services/internal/db"
)

// runAudit answers the exit code: 0 intact, 1 broken, 2 could not check.
func runAudit(ctx context.Context, cfg config.Config, args []string) int {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(os.Stderr, "usage: redress audit verify [-from N] [-to N] | --package FILE.zip|DIR")
		return 2
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	from := fs.Int64("from", 0, "first entry to check (0 = the beginning)")
	to := fs.Int64("to", 0, "last entry to check (0 = the end)")
	pkg := fs.String("package", "", "verify an inspection package (zip or folder) offline instead of the database")
	filingPkg := fs.String("filing", "", "verify an escalation filing package's audit proof against the database")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *pkg != "" {
		return verifyPackage(*pkg)
	}
	if cfg.DatabaseURL == "" {
		fmt.Fprintln(os.Stderr, "redress: DATABASE_URL is not set")
		return 2
	}
	gdb, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "redress:", err)
		return 2
	}
	if *filingPkg != "" {
		return verifyFiling(ctx, gdb, *filingPkg)
	}
	res, err := audit.Verify(ctx, gdb, audit.VerifyOptions{FromSeq: *from, ToSeq: *to})
	if err != nil {
		fmt.Fprintln(os.Stderr, "redress: audit verify:", err)
		return 2
	}
	if res.OK {
		fmt.Printf("audit chain intact: %d entries verified\n", res.Entries)
		return 0
	}
	b := res.FirstBroken
	fmt.Printf("audit chain BROKEN at entry %d (%s %s): %s\n", b.Seq, b.ObjectType, b.ObjectID, b.Reason)
	return 1
}
