//go:build dev

package main

import (
	"context"
	"log/slog"

	"github.com/redress/redress/services/internal/config"
)

func init() {
	devCommands["dev"] = func(ctx context.Context, cfg config.Config, log *slog.Logger, _ []string) error {
		return runDev(ctx, cfg, log)
	}
	devCommands["bench"] = func(ctx context.Context, cfg config.Config, _ *slog.Logger, args []string) error {
		return runBench(ctx, cfg, args)
	}
	devCommands["bench-export"] = func(ctx context.Context, cfg config.Config, _ *slog.Logger, args []string) error {
		return runBenchExport(ctx, cfg, args)
	}
}
