package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/hibiken/asynq"
)

// asynqLogLevel keeps asynq's own chatter (start-up banners, "all queues are empty" on every
// poll) out of the log; this package logs the lifecycle and every task failure itself.
const asynqLogLevel = asynq.WarnLevel

// asynqLogger sends asynq's internal log lines to slog, so a process has one log stream.
type asynqLogger struct{ log *slog.Logger }

func newAsynqLogger(log *slog.Logger) asynqLogger {
	return asynqLogger{log: log.With(slog.String("component", "asynq"))}
}

func (l asynqLogger) Debug(args ...any) { l.emit(slog.LevelDebug, args) }
func (l asynqLogger) Info(args ...any)  { l.emit(slog.LevelInfo, args) }
func (l asynqLogger) Warn(args ...any)  { l.emit(slog.LevelWarn, args) }
func (l asynqLogger) Error(args ...any) { l.emit(slog.LevelError, args) }

// Fatal honours asynq's Logger contract, which says the process exits.
func (l asynqLogger) Fatal(args ...any) {
	l.emit(slog.LevelError, args)
	os.Exit(1)
}

func (l asynqLogger) emit(level slog.Level, args []any) {
	l.log.Log(context.Background(), level, fmt.Sprint(args...))
}
