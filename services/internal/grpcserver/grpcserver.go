// Package grpcserver builds the gRPC server every Redress service runs:
// panic recovery, access control, metrics and request logs (method, code and
// duration only: never payloads, which carry personal information), health
// and reflection; and the HTTP side for metrics and probes.
package grpcserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/recovery"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"

	"github.com/redress/redress/services/internal/access"
)

// Metrics are the RPC metrics of one process.
type Metrics struct {
	Registry *prometheus.Registry
	handled  *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

// NewMetrics registers the RPC metrics and the Go runtime collectors.
func NewMetrics() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		handled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "redress_grpc_handled_total", Help: "RPCs completed, by method and status code.",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "redress_grpc_handling_seconds", Help: "RPC handling time.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"method"}),
	}
	reg.MustRegister(m.handled, m.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *Metrics) unary(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		code := status.Code(err)
		elapsed := time.Since(start)
		m.handled.WithLabelValues(info.FullMethod, code.String()).Inc()
		m.latency.WithLabelValues(info.FullMethod).Observe(elapsed.Seconds())
		if code == codes.Internal || code == codes.Unknown {
			log.Error("rpc failed", "method", info.FullMethod, "code", code.String(), "ms", elapsed.Milliseconds())
		} else {
			log.Debug("rpc", "method", info.FullMethod, "code", code.String(), "ms", elapsed.Milliseconds())
		}
		return resp, err
	}
}

// MaxRequestBytes bounds one request message. The largest legitimate one
// is a complaint with its attachments (8 MiB together, see intake) plus its
// text; a deletion batch of 1000 requests is under 5 MiB. gRPC refuses a
// larger message from its length prefix, before reading it.
const MaxRequestBytes = 9 << 20

// credentialTap refuses, as the stream opens and before its message is
// read, a call to a non-public RPC that carries no credential at all: an
// anonymous client cannot make the server buffer 9 MiB per call. Checking the
// credential itself needs the database, which the transport goroutine must
// not wait on: the guard does that once the message is in, bounded by
// MaxRequestBytes.
func credentialTap(g access.Guard) tap.ServerInHandle {
	return func(ctx context.Context, info *tap.Info) (context.Context, error) {
		perm, ok := access.Table[info.FullMethodName]
		if !ok || perm == access.Public || g.TrustActorHeader || len(info.Header.Get("authorization")) > 0 {
			return ctx, nil // the guard answers unknown methods and the rest
		}
		return nil, status.Error(codes.Unauthenticated, "no credential: send authorization: Bearer <token>")
	}
}

// Server is a gRPC server with its health service.
type Server struct {
	GRPC    *grpc.Server
	Health  *health.Server
	Metrics *Metrics
	log     *slog.Logger
}

// New builds the server; guard authenticates and authorizes every RPC.
// Register services on s.GRPC, then Serve.
func New(log *slog.Logger, metrics *Metrics, guard access.Guard, extra ...grpc.ServerOption) *Server {
	onPanic := recovery.WithRecoveryHandler(func(p any) error {
		log.Error("rpc panic", "panic", p, "stack", string(debug.Stack()))
		return status.Error(codes.Internal, "internal error")
	})
	opts := append([]grpc.ServerOption{
		grpc.ChainUnaryInterceptor(recovery.UnaryServerInterceptor(onPanic), metrics.unary(log), guard.Unary),
		grpc.ChainStreamInterceptor(recovery.StreamServerInterceptor(onPanic), guard.Stream),
		grpc.MaxRecvMsgSize(MaxRequestBytes),
		grpc.InTapHandle(credentialTap(guard)),
	}, extra...)
	s := &Server{GRPC: grpc.NewServer(opts...), Health: health.NewServer(), Metrics: metrics, log: log}
	healthpb.RegisterHealthServer(s.GRPC, s.Health)
	reflection.Register(s.GRPC)
	return s
}

// Serve serves on lis until ctx ends, then drains in-flight RPCs (up to 10 s).
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	errc := make(chan error, 1)
	go func() { errc <- s.GRPC.Serve(lis) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.Health.Shutdown()
	done := make(chan struct{})
	go func() { s.GRPC.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.GRPC.Stop()
	}
	return nil
}

// HTTPHandler serves /metrics, /healthz (alive) and /readyz (ready checks pass).
func HTTPHandler(metrics *Metrics, ready func(context.Context) error) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(metrics.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := ready(ctx); err != nil {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}

// ServeHTTP serves h on lis until ctx ends.
func ServeHTTP(ctx context.Context, lis net.Listener, h http.Handler) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
