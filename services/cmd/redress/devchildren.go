//go:build dev

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redress/redress/services/internal/config"
)

// `redress dev` runs every service as its own OS process, `redress serve
// <name>` of this same binary, so the boundaries between them are crossed
// over the network every day. A child that exits is reported and started
// again after a backoff (1 s, doubling up to 30 s; back to 1 s once it ran a
// minute); one that exits five times in a row within a minute of starting
// stops everything, since it will not come up by itself (a port in use, a
// bad setting). Ctrl-C stops every child, then dev.

// supervisor runs the children and remembers their pids.
type supervisor struct {
	bin string
	env func(name string) []string
	out *lockedWriter // dev's stdout and stderr, one line at a time
	err *lockedWriter

	mu   sync.Mutex
	pids map[string]int
}

// lockedWriter lets many children write whole lines to one stream.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) line(prefix string, b []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = fmt.Fprintf(l.w, "%-12s| %s\n", prefix, b) // a lost line of a child's output is not worth stopping for
}

// prefixWriter writes a child's output line by line, each line prefixed
// with the child's name.
type prefixWriter struct {
	name    string
	to      *lockedWriter
	partial []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.partial = append(p.partial, b...)
	for {
		i := bytes.IndexByte(p.partial, '\n')
		if i < 0 {
			return len(b), nil
		}
		p.to.line(p.name, p.partial[:i])
		p.partial = p.partial[i+1:]
	}
}

func (p *prefixWriter) flush() {
	if len(p.partial) > 0 {
		p.to.line(p.name, p.partial)
		p.partial = nil
	}
}

func (sv *supervisor) pid(name string) int {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return sv.pids[name]
}

func (sv *supervisor) setPID(name string, pid int) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.pids[name] = pid
}

// run keeps `redress serve name` running until ctx ends, then stops it
// with SIGINT (SIGKILL after 20 s).
func (sv *supervisor) run(ctx context.Context, name string) error {
	// The kernel's parent-death signal follows the thread that started
	// the child: keep this goroutine on one thread while it supervises.
	runtime.LockOSThread()
	const quick, maxBackoff = time.Minute, 30 * time.Second
	backoff, quickExits := time.Second, 0
	for {
		stdout, stderr := &prefixWriter{name: name, to: sv.out}, &prefixWriter{name: name, to: sv.err}
		cmd := exec.Command(sv.bin, "serve", name)
		cmd.Env = sv.env(name)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		// Its own process group: Ctrl-C reaches dev, which stops the
		// children itself (and does not take their exit for a crash).
		cmd.SysProcAttr = childProcAttr()
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
		if sv.pid(name) != 0 {
			sv.err.line(name, fmt.Appendf(nil, "started again: pid %d", cmd.Process.Pid))
		}
		sv.setPID(name, cmd.Process.Pid)
		started := time.Now()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
		select {
		case <-ctx.Done():
			_ = cmd.Process.Signal(os.Interrupt)
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				err = <-done
			}
			stdout.flush()
			stderr.flush()
			if err != nil { // a clean stop exits 0
				sv.err.line(name, fmt.Appendf(nil, "stopped: %s", exitText(err)))
			}
			return nil
		case err = <-done:
		}
		stdout.flush()
		stderr.flush()
		if time.Since(started) >= quick {
			backoff, quickExits = time.Second, 0
		}
		quickExits++
		if quickExits >= 5 {
			return fmt.Errorf("%s exited %d times in a row within a minute of starting (last: %v)", name, quickExits, exitText(err))
		}
		sv.err.line(name, fmt.Appendf(nil, "process %d exited (%s) after %s; starting it again in %s",
			cmd.Process.Pid, exitText(err), time.Since(started).Round(time.Second), backoff))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func exitText(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

// probe is where dev sees that a child is ready: the services, the worker
// and the checkpoint signer answer /readyz on their metrics address, the
// console /healthz, the public pages their front page.
func probe(cfg config.Config, name string) string {
	switch name {
	case "console":
		return "http://" + cfg.ConsoleAddr + "/healthz"
	case "public":
		return "http://" + cfg.PublicAddr + "/"
	case "inbound":
		return "http://" + cfg.InboundAddr + "/readyz"
	}
	return "http://" + metricsAddr(cfg, name) + "/readyz"
}

// grpcAddr and metricsAddr are a process's addresses ("" when it has none).
func grpcAddr(cfg config.Config, name string) string {
	return map[string]string{"intake": cfg.IntakeAddr, "deletion": cfg.DeletionAddr,
		"escalation": cfg.EscalationAddr, "reporting": cfg.ReportingAddr}[name]
}

func metricsAddr(cfg config.Config, name string) string {
	return map[string]string{"intake": cfg.IntakeMetricsAddr, "deletion": cfg.DeletionMetricsAddr,
		"escalation": cfg.EscalationMetricsAddr, "reporting": cfg.ReportingMetricsAddr,
		"worker": cfg.WorkerMetricsAddr, "checkpoints": cfg.CheckpointsMetricsAddr}[name]
}

// waitReady polls every child's probe until all answer 200.
func waitReady(ctx context.Context, cfg config.Config, names []string) error {
	client := &http.Client{Timeout: 2 * time.Second}
	for _, name := range names {
		url := probe(cfg, name)
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			resp, err := client.Do(req)
			if err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}

// secretVars are the variables a child gets only when its needs name them
// (the owner's database URL and dev's own profiler address never).
var secretVars = []string{"DATABASE_URL", "DATABASE_URL_INTAKE", "DATABASE_URL_DELETION", "DATABASE_URL_ESCALATION", "DATABASE_URL_REPORTING",
	"DATABASE_URL_CHECKPOINTS", "REDRESS_MIGRATE_DATABASE_URL", "TEMPORAL_ADDRESS", "REDRESS_MASTER_KEY",
	"REDRESS_MASTER_KEYS_PREVIOUS", "REDRESS_MASTER_KEY_ROOT", "REDRESS_COMMAND_KEY", "REDRESS_CHECKPOINT_KEY_FILE", "REDRESS_PPROF_ADDR", "REDRESS_WORKER_PPROF_ADDR",
	"REDRESS_PUBLIC_TOKEN", "REDRESS_CONSOLE_TOKEN", "REDRESS_ESCALATION_SERVICE_TOKEN", "REDRESS_DELETION_SERVICE_TOKEN",
	"REDRESS_INBOUND_SERVICE_TOKEN", "REDRESS_IMAP_PASSWORD", "REDRESS_SMS_WEBHOOK_SECRET"}

// childEnv is the environment of child name: dev's own without the
// secrets, plus what that process needs, and its own database connection
// (Config.DatabaseURLOf).
func childEnv(base []string, cfg config.Config, name string) []string {
	env := make([]string, 0, len(base)+8)
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		secret := false
		for _, s := range secretVars {
			secret = secret || k == s
		}
		if !secret {
			env = append(env, kv)
		}
	}
	n := processes[name].needs
	if n&needDB != 0 {
		env = append(env, "DATABASE_URL="+cfg.DatabaseURLOf(name)) // its own role, where it has one
	}
	if name == "worker" { // each service's activities as that service's role (stack.asService)
		for _, kv := range []string{"DATABASE_URL_INTAKE=" + cfg.IntakeDatabaseURL, "DATABASE_URL_DELETION=" + cfg.DeletionDatabaseURL,
			"DATABASE_URL_ESCALATION=" + cfg.EscalationDatabaseURL, "DATABASE_URL_REPORTING=" + cfg.ReportingDatabaseURL} {
			if !strings.HasSuffix(kv, "=") {
				env = append(env, kv)
			}
		}
	}
	if n&needTemporal != 0 {
		env = append(env, "TEMPORAL_ADDRESS="+cfg.TemporalAddress)
	}
	if n&needMasterKey != 0 {
		env = append(env, "REDRESS_MASTER_KEY="+cfg.MasterKey)
		if len(cfg.MasterKeysPrevious) > 0 {
			env = append(env, "REDRESS_MASTER_KEYS_PREVIOUS="+strings.Join(cfg.MasterKeysPrevious, ","))
		}
		if cfg.MasterKeyRoot != "" {
			env = append(env, "REDRESS_MASTER_KEY_ROOT="+cfg.MasterKeyRoot)
		}
	}
	if n&needCommandKey != 0 {
		env = append(env, "REDRESS_COMMAND_KEY="+cfg.CommandKey)
	}
	if name == "console" {
		env = append(env, "REDRESS_CONSOLE_TOKEN="+cfg.ConsoleToken)
	}
	if name == "public" {
		env = append(env, "REDRESS_PUBLIC_TOKEN="+cfg.PublicToken)
	}
	if name == "escalation" || name == "worker" { // they reach intake's CaseFactsService
		env = append(env, "REDRESS_ESCALATION_SERVICE_TOKEN="+cfg.EscalationServiceToken)
	}
	if name == "deletion" || name == "worker" { // they erase through intake's ErasureService
		env = append(env, "REDRESS_DELETION_SERVICE_TOKEN="+cfg.DeletionServiceToken)
	}
	if name == "checkpoints" {
		env = append(env, "REDRESS_CHECKPOINT_KEY_FILE="+cfg.CheckpointKeyFile)
	}
	if cfg.SMTPAddr != "" { // the development mailbox, when dev started it
		env = append(env, "REDRESS_SMTP_ADDR="+cfg.SMTPAddr, "REDRESS_SMTP_FROM="+cfg.SMTPFrom)
	}
	if name == "inbound" {
		env = append(env, "REDRESS_INBOUND_SERVICE_TOKEN="+cfg.InboundServiceToken, "REDRESS_SMS_WEBHOOK_SECRET="+cfg.SMSWebhookSecret,
			"REDRESS_IMAP_ADDR="+cfg.IMAPAddr, "REDRESS_IMAP_USER="+cfg.IMAPUser, "REDRESS_IMAP_PASSWORD="+cfg.IMAPPassword,
			"REDRESS_IMAP_SECURITY="+cfg.IMAPSecurity, "REDRESS_IMAP_POLL="+cfg.IMAPPoll.String())
	}
	if name == "intake" && os.Getenv("REDRESS_PPROF_ADDR") != "" { // make bench profiles the intake service
		env = append(env, "REDRESS_PPROF_ADDR="+os.Getenv("REDRESS_PPROF_ADDR"))
	}
	if name == "worker" && os.Getenv("REDRESS_WORKER_PPROF_ADDR") != "" { // and the worker
		env = append(env, "REDRESS_PPROF_ADDR="+os.Getenv("REDRESS_WORKER_PPROF_ADDR"))
	}
	return append(env, "REDRESS_CHECKPOINT_DIR="+cfg.CheckpointDir, "REDRESS_CONSOLE_TLS="+strconv.FormatBool(cfg.ConsoleTLS),
		"REDRESS_DATA_DIR="+cfg.DataDir)
}
