//go:build dev

package main

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
	"os"
)

// REDRESS_PPROF_ADDR serves the Go profiler on its own address (never the
// public one) in `serve`, so `make bench` can profile the stack under load
// (`redress dev` hands it to its intake process); REDRESS_DEV_PPROF_ADDR
// does the same for `redress dev` itself, which hosts the embedded Temporal
// server.
func init() {
	if len(os.Args) < 2 {
		return
	}
	addr := map[string]string{"serve": os.Getenv("REDRESS_PPROF_ADDR"), "dev": os.Getenv("REDRESS_DEV_PPROF_ADDR")}[os.Args[1]]
	if addr == "" {
		return
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		if err := http.ListenAndServe(addr, mux); err != nil {
			slog.Warn("pprof listener stopped", "err", err)
		}
	}()
}
