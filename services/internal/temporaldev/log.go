package temporaldev

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	tlog "go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// parseLevel maps Options.LogLevel to a slog level. "" means warn.
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "warn", "warning":
		return slog.LevelWarn, nil
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "error", "fatal", "panic", "dpanic":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("temporaldev: unknown log level %q (want debug, info, warn or error)", s)
}

// levelHandler drops records below min before they reach the wrapped handler,
// whatever that handler's own level is.
type levelHandler struct {
	min slog.Level
	h   slog.Handler
}

func (l levelHandler) Enabled(ctx context.Context, lv slog.Level) bool {
	return lv >= l.min && l.h.Enabled(ctx, lv)
}
func (l levelHandler) Handle(ctx context.Context, r slog.Record) error { return l.h.Handle(ctx, r) }
func (l levelHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return levelHandler{min: l.min, h: l.h.WithAttrs(a)}
}
func (l levelHandler) WithGroup(g string) slog.Handler {
	return levelHandler{min: l.min, h: l.h.WithGroup(g)}
}

// serverLogger adapts a (level-filtered) slog.Logger to Temporal's server
// logger interface. Like the Temporal CLI's dev server, DPanic/Panic/Fatal are
// logged as errors and do not panic or exit: an embedded server must never take
// the host process down through its logger.
type serverLogger struct{ l *slog.Logger }

var (
	_ tlog.Logger      = serverLogger{}
	_ tlog.WithLogger  = serverLogger{}
	_ tlog.SLogWrapper = serverLogger{}
)

func (s serverLogger) Debug(msg string, tags ...tag.Tag)  { s.log(slog.LevelDebug, msg, tags) }
func (s serverLogger) Info(msg string, tags ...tag.Tag)   { s.log(slog.LevelInfo, msg, tags) }
func (s serverLogger) Warn(msg string, tags ...tag.Tag)   { s.log(slog.LevelWarn, msg, tags) }
func (s serverLogger) Error(msg string, tags ...tag.Tag)  { s.log(slog.LevelError, msg, tags) }
func (s serverLogger) DPanic(msg string, tags ...tag.Tag) { s.log(slog.LevelError, msg, tags) }
func (s serverLogger) Panic(msg string, tags ...tag.Tag)  { s.log(slog.LevelError, msg, tags) }
func (s serverLogger) Fatal(msg string, tags ...tag.Tag)  { s.log(slog.LevelError, msg, tags) }

// With implements tlog.WithLogger.
func (s serverLogger) With(tags ...tag.Tag) tlog.Logger {
	return serverLogger{l: slog.New(s.l.Handler().WithAttrs(tagsToAttrs(tags)))}
}

// SLog implements tlog.SLogWrapper: code that asks the server for a
// *slog.Logger gets the same filtered logger.
func (s serverLogger) SLog() *slog.Logger { return s.l }

func (s serverLogger) log(lv slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if !s.l.Enabled(ctx, lv) {
		return
	}
	s.l.LogAttrs(ctx, lv, msg, tagsToAttrs(tags)...)
}

func tagsToAttrs(tags []tag.Tag) []slog.Attr {
	attrs := make([]slog.Attr, 0, len(tags))
	for _, t := range tags {
		if t == nil {
			continue
		}
		attrs = append(attrs, slog.Any(t.Key(), t.Value()))
	}
	return attrs
}
