// Package temporaldev runs a real Temporal server inside the process, for the
// dev stack and for end-to-end tests — what `temporal server start-dev` runs,
// built the same way as the Temporal CLI's devserver package: frontend,
// history, matching and worker services in one process, static membership
// (no ringpop), namespaces written straight into the database before the
// services start, and optionally the Temporal Web UI (ui-server v2, with its
// embedded assets).
//
// Its state lives in PostgreSQL (Options.PostgresURL: the persistence a
// production Temporal cluster uses, schema set up and upgraded by Start from
// the server module's embedded schema), in a SQLite file
// (Options.DatabaseFile), or in memory.
//
// A server started on PostgreSQL or a DatabaseFile keeps its workflows across
// Stop and a new Start on the same databases; starting again on the same
// FrontendPort after Stop is supported, so tests can simulate a Temporal
// outage and its recovery.
package temporaldev

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	uiserver "github.com/temporalio/ui-server/v2/server"
	uiconfig "github.com/temporalio/ui-server/v2/server/config"
	uiserveroptions "github.com/temporalio/ui-server/v2/server/server_options"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"go.temporal.io/server/common/authorization"
	"go.temporal.io/server/common/cluster"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/dynamicconfig"
	"go.temporal.io/server/common/membership/static"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	"go.temporal.io/server/common/primitives"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"go.temporal.io/server/temporal"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/redress/redress/services/internal/freeport"
)

// DefaultFrontendPort is Temporal's conventional frontend port, the one
// `temporal server start-dev` uses.
const DefaultFrontendPort = 7233

const (
	defaultIP        = "127.0.0.1"
	defaultNamespace = "default"
	defaultRetention = 72 * time.Hour
	clusterName      = "active"
	// startTimeout bounds the readiness wait when the caller's ctx has no deadline.
	startTimeout = time.Minute
)

// Options configures Start. The zero value is a usable in-memory server on
// 127.0.0.1 and a free port, with namespace "default" and no UI.
type Options struct {
	// PostgresURL keeps the server's state in PostgreSQL
	// (postgres://user:password@host:port/NAME?sslmode=disable): persistence
	// in database NAME, visibility in NAME_visibility. Both must exist and
	// the URL's role must be able to create tables in them (deploy/dev/pg.sh
	// makes them, owned by the role temporal); Start sets up an empty
	// database's schema and upgrades an older one to the server's version.
	PostgresURL string
	// DatabaseFile is the SQLite file, when PostgresURL is empty; "" keeps
	// everything in memory. With a file, workflows survive Stop and a later
	// Start on the same file. The file is created, with its schema, when
	// missing; its directory must exist.
	DatabaseFile string
	// IP the frontend (and the UI) bind to; default 127.0.0.1. History,
	// matching and worker always bind to 127.0.0.1.
	IP string
	// FrontendPort is the frontend gRPC port; 0 picks a free port (tests).
	// The dev stack passes DefaultFrontendPort (7233), Temporal's usual port.
	FrontendPort int
	// UIPort serves the Temporal Web UI on IP:UIPort; 0 = no UI, negative =
	// a free port.
	UIPort int
	// Namespace is registered before the services start (if missing);
	// default "default".
	Namespace string
	// Retention of the namespace when it is created; default 72h.
	Retention time.Duration
	// SearchAttributes are custom search attributes of the namespace:
	// pre-registered when the namespace is created, added through the
	// operator API when an existing namespace lacks them.
	SearchAttributes map[string]enumspb.IndexedValueType
	// DynamicConfig overrides server dynamic config keys (e.g.
	// "history.shutdownDrainDuration"), as the CLI's --dynamic-config-value.
	DynamicConfig map[string]any
	// LogLevel is debug, info, warn (default) or error; it filters the
	// server's logs before they reach Logger.
	LogLevel string
	// Logger receives the server's logs. When nil, logs are written as text to
	// LogOutput, or to os.Stderr. Nothing is written to stdout.
	Logger *slog.Logger
	// LogOutput is used when Logger is nil; default os.Stderr.
	LogOutput io.Writer
}

// Server is a running embedded Temporal server.
type Server struct {
	srv          temporal.Server
	ui           *uiserver.Server
	uiDone       chan struct{}
	bindIP       string
	frontendPort int
	frontendAddr string
	uiAddr       string
	namespace    string
	log          *slog.Logger

	stopOnce sync.Once
	stopErr  error
}

// FrontendAddress is the frontend's gRPC host:port, for client.Options.HostPort.
func (s *Server) FrontendAddress() string { return s.frontendAddr }

// UIAddress is the Web UI's host:port ("http://" + UIAddress() in a browser),
// or "" when the server runs without UI.
func (s *Server) UIAddress() string { return s.uiAddr }

// Namespace is the namespace registered by Start.
func (s *Server) Namespace() string { return s.namespace }

// memDBSeq keeps in-memory database names unique within the process: the
// SQLite plugin pools connections by DSN for the whole process lifetime, so a
// reused name would bring back an earlier server's data.
var memDBSeq atomic.Int64

// Start starts the server and returns once the frontend answers its health
// check and the namespace can be described. On error nothing is left running.
func Start(ctx context.Context, o Options) (_ *Server, err error) {
	lv, err := parseLevel(o.LogLevel)
	if err != nil {
		return nil, err
	}
	base := o.Logger
	if base == nil {
		w := o.LogOutput
		if w == nil {
			w = os.Stderr
		}
		base = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	logger := slog.New(levelHandler{min: lv, h: base.Handler()}).With("component", "temporal-server")

	if o.IP == "" {
		o.IP = defaultIP
	}
	ip := net.ParseIP(o.IP)
	if ip == nil {
		return nil, fmt.Errorf("temporaldev: invalid IP %q", o.IP)
	}
	// The address clients (and the server itself) dial: a wildcard bind is
	// reached through the loopback.
	dialIP := o.IP
	if ip.IsUnspecified() {
		dialIP = "127.0.0.1"
		if ip.To4() == nil {
			dialIP = "::1"
		}
	}
	const internalIP = "127.0.0.1"
	if o.Namespace == "" {
		o.Namespace = defaultNamespace
	}
	if o.Retention <= 0 {
		o.Retention = defaultRetention
	}

	// Ports: the frontend's and the UI's as asked (or free), then the internal
	// ones, always free and never those two.
	if o.FrontendPort <= 0 {
		if o.FrontendPort, err = freeport.Pick(o.IP); err != nil {
			return nil, err
		}
	}
	if err := freeport.Bindable(o.IP, o.FrontendPort); err != nil {
		return nil, err
	}
	freeport.Reserve(o.FrontendPort)
	if o.UIPort < 0 {
		if o.UIPort, err = freeport.Pick(o.IP); err != nil {
			return nil, err
		}
	}
	if o.UIPort > 0 {
		if o.UIPort == o.FrontendPort {
			return nil, fmt.Errorf("temporaldev: UI port %d is the frontend port", o.UIPort)
		}
		if err := freeport.Bindable(o.IP, o.UIPort); err != nil {
			return nil, err
		}
		freeport.Reserve(o.UIPort)
	}
	internalPorts := map[primitives.ServiceName]int{}
	for _, svc := range []primitives.ServiceName{primitives.HistoryService, primitives.MatchingService, primitives.WorkerService} {
		p, err := freeport.Pick(internalIP)
		if err != nil {
			return nil, err
		}
		internalPorts[svc] = p
	}

	frontendAddr := net.JoinHostPort(dialIP, strconv.Itoa(o.FrontendPort))
	tl := serverLogger{l: logger}
	var (
		storeConf, visConf *config.SQL
		shards             int32
	)
	if o.PostgresURL != "" {
		if o.DatabaseFile != "" {
			return nil, errors.New("temporaldev: both PostgresURL and DatabaseFile are set")
		}
		if storeConf, visConf, err = preparePostgres(o, tl); err != nil {
			return nil, err
		}
		shards = postgresHistoryShards
	} else {
		if storeConf, err = prepareSQLite(o, logger); err != nil {
			return nil, err
		}
		// One SQLite database holds both; a single connection serialises
		// everything anyway, and files made so far have one shard (the count
		// is fixed when a cluster is first started).
		visConf, shards = storeConf, 1
	}

	conf := &config.Config{}
	conf.Global.Membership.MaxJoinDuration = 30 * time.Second
	conf.Global.Membership.BroadcastAddress = internalIP
	conf.Persistence.DefaultStore = "default"
	conf.Persistence.VisibilityStore = "visibility"
	conf.Persistence.NumHistoryShards = shards
	conf.Persistence.DataStores = map[string]config.DataStore{"default": {SQL: storeConf}, "visibility": {SQL: visConf}}
	conf.ClusterMetadata = &cluster.Config{
		EnableGlobalNamespace:    false,
		FailoverVersionIncrement: 10,
		MasterClusterName:        clusterName,
		CurrentClusterName:       clusterName,
		ClusterInformation: map[string]cluster.ClusterInformation{
			clusterName: {Enabled: true, InitialFailoverVersion: 1, RPCAddress: frontendAddr},
		},
	}
	conf.DCRedirectionPolicy.Policy = "noop"
	svc := func(bindIP string, port int) config.Service {
		var c config.Service
		c.RPC.BindOnIP = bindIP
		c.RPC.GRPCPort = port // RPC.HTTPPort stays 0: no frontend HTTP API, one port less
		return c
	}
	conf.Services = map[string]config.Service{
		string(primitives.FrontendService): svc(o.IP, o.FrontendPort),
		string(primitives.HistoryService):  svc(internalIP, internalPorts[primitives.HistoryService]),
		string(primitives.MatchingService): svc(internalIP, internalPorts[primitives.MatchingService]),
		string(primitives.WorkerService):   svc(internalIP, internalPorts[primitives.WorkerService]),
	}
	conf.Archival.History.State = "disabled"
	conf.Archival.Visibility.State = "disabled"
	conf.NamespaceDefaults.Archival.History.State = "disabled"
	conf.NamespaceDefaults.Archival.Visibility.State = "disabled"
	conf.PublicClient.HostPort = frontendAddr
	// conf.Global.Metrics stays nil (no-op metrics, no listener); PProf port 0 = off.

	authorizer, err := authorization.GetAuthorizerFromConfig(&conf.Global.Authorization)
	if err != nil {
		return nil, fmt.Errorf("temporaldev: authorizer: %w", err)
	}
	claimMapper, err := authorization.GetClaimMapperFromConfig(&conf.Global.Authorization, tl)
	if err != nil {
		return nil, fmt.Errorf("temporaldev: claim mapper: %w", err)
	}
	dyn := dynamicconfig.StaticClient{
		dynamicconfig.HistoryCacheHostLevelMaxSize.Key(): 8096,
		// One persistence write at a time per history shard (the default)
		// leaves the CPU idle while each waits for its commit: with eight,
		// complaint start-up ran 1.42x the empty workflows instead of 1.57x
		// and a storm of 3,000 drained in 29 s instead of 34 (make bench).
		dynamicconfig.ShardIOConcurrency.Key():                           8,
		dynamicconfig.FrontendMaxNamespaceVisibilityRPSPerInstance.Key(): 100,
		// Redress keeps no payload outside the history (no SDK storage
		// driver), yet with this on the server walks every new event's
		// payloads to count external ones: about 5 % of its CPU in a storm.
		dynamicconfig.ExternalPayloadsEnabled.Key(): false,
		// The worker service starts the parent-close-policy system worker but
		// never stops it (server v1.32.2): its SDK pollers outlive Stop and
		// would poll the next server started on the same port. Off, history
		// applies parent close policies itself, which is the same behaviour.
		dynamicconfig.EnableParentClosePolicyWorker.Key(): false,
		// Same for the scanner's SDK workers ("Nothing is gracefully stopping
		// these workers", scanner.go). They are maintenance scavengers (task
		// queue rows, orphaned history branches) a dev database can do without.
		dynamicconfig.TaskQueueScannerEnabled.Key(): false,
		dynamicconfig.HistoryScannerEnabled.Key():   false,
	}
	for k, v := range o.DynamicConfig {
		dyn[dynamicconfig.MakeKey(k)] = v
	}
	host := func(ip string, port int) static.Hosts {
		return static.SingleLocalHost(net.JoinHostPort(ip, strconv.Itoa(port)))
	}
	srv, err := temporal.NewServer(
		temporal.WithConfig(conf),
		temporal.ForServices(temporal.DefaultServices),
		temporal.WithStaticHosts(map[primitives.ServiceName]static.Hosts{
			primitives.FrontendService: host(dialIP, o.FrontendPort),
			primitives.HistoryService:  host(internalIP, internalPorts[primitives.HistoryService]),
			primitives.MatchingService: host(internalIP, internalPorts[primitives.MatchingService]),
			primitives.WorkerService:   host(internalIP, internalPorts[primitives.WorkerService]),
		}),
		temporal.WithLogger(tl),
		temporal.WithAuthorizer(authorizer),
		temporal.WithClaimMapper(func(*config.Config) authorization.ClaimMapper { return claimMapper }),
		temporal.WithDynamicConfigClient(dyn),
	)
	if err != nil {
		return nil, fmt.Errorf("temporaldev: new server: %w", err)
	}

	s := &Server{
		srv:          srv,
		bindIP:       o.IP,
		frontendPort: o.FrontendPort,
		frontendAddr: frontendAddr,
		namespace:    o.Namespace,
		log:          logger,
	}
	if err := startServer(srv); err != nil {
		_ = stopServer(srv)
		return nil, fmt.Errorf("temporaldev: start server: %w", err)
	}
	defer func() {
		if err != nil {
			_ = s.Stop()
		}
	}()

	if _, has := ctx.Deadline(); !has {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, startTimeout)
		defer cancel()
	}
	if err := s.awaitReady(ctx, o.SearchAttributes); err != nil {
		return nil, err
	}
	if o.UIPort > 0 {
		if err := s.startUI(ctx, o, dialIP); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// prepareSQLite builds the SQLite persistence config, creates the schema of a
// new database file and writes the namespace (a no-op when it exists).
func prepareSQLite(o Options, logger *slog.Logger) (*config.SQL, error) {
	conf := &config.SQL{PluginName: sqliteplugin.PluginName}
	if o.DatabaseFile == "" {
		conf.ConnectAttributes = map[string]string{"mode": "memory", "cache": "shared"}
		conf.DatabaseName = fmt.Sprintf("temporaldev-%d-%d-%d", os.Getpid(), time.Now().UnixNano(), memDBSeq.Add(1))
	} else {
		path, err := filepath.Abs(o.DatabaseFile)
		if err != nil {
			return nil, fmt.Errorf("temporaldev: database file: %w", err)
		}
		// WAL: one sync per commit instead of the rollback journal's several,
		// and readers that do not wait for the writer; FULL keeps every
		// commit durable. One connection: with several, the server's
		// concurrent writers fail with SQLITE_BUSY every minute (task-queue
		// leases, history appends) even with a busy timeout.
		conf.ConnectAttributes = map[string]string{"mode": "rwc", "journal_mode": "wal", "synchronous": "full"}
		conf.MaxConns, conf.MaxIdleConns = 1, 1
		conf.DatabaseName = path
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if _, err := os.Stat(filepath.Dir(path)); err != nil {
				return nil, fmt.Errorf("temporaldev: database directory: %w", err)
			}
			logger.Debug("creating Temporal SQLite schema", "file", path)
			if err := sqliteschema.SetupSchema(conf); err != nil {
				return nil, fmt.Errorf("temporaldev: set up SQLite schema: %w", err)
			}
		} else if err != nil {
			return nil, fmt.Errorf("temporaldev: database file: %w", err)
		}
	}
	if err := createNamespace(conf, o); err != nil {
		return nil, err
	}
	return conf, nil
}

// createNamespace writes o's namespace into the persistence database conf
// unless it exists. The server reads it at start, so the namespace is there
// as soon as the frontend answers (registering it through the API would wait
// for the namespace cache's refresh). sqliteschema's helpers work on any SQL
// plugin's database, PostgreSQL too.
func createNamespace(conf *config.SQL, o Options) error {
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, o.Namespace, false, o.SearchAttributes)
	if err != nil {
		return fmt.Errorf("temporaldev: namespace config: %w", err)
	}
	ns.Detail.Config.Retention = durationpb.New(o.Retention)
	if err := sqliteschema.CreateNamespaces(conf, ns); err != nil {
		return fmt.Errorf("temporaldev: create namespace %q: %w", o.Namespace, err)
	}
	return nil
}

// startServer runs srv.Start, turning a panic in the calling goroutine into
// an error.
func startServer(srv temporal.Server) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return srv.Start()
}

func stopServer(srv temporal.Server) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("temporaldev: stop server: panic: %v", r)
		}
	}()
	return srv.Stop()
}

// awaitReady waits for the frontend's health check and the namespace, then
// adds missing search attributes.
func (s *Server) awaitReady(ctx context.Context, searchAttrs map[string]enumspb.IndexedValueType) error {
	var (
		c       client.Client
		lastErr error
	)
	for c == nil {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		// DialContext runs the gRPC health check of the frontend.
		cl, err := client.DialContext(dctx, client.Options{
			HostPort:  s.frontendAddr,
			Namespace: s.namespace,
			Logger:    sdklog.NewStructuredLogger(s.log.With("component", "temporal-sdk")),
		})
		cancel()
		if err == nil {
			c = cl
			break
		}
		lastErr = err
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return fmt.Errorf("temporaldev: frontend %s not healthy: %w", s.frontendAddr, errors.Join(err, lastErr))
		}
	}
	defer c.Close()

	for {
		_, err := c.WorkflowService().DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: s.namespace})
		if err == nil {
			break
		}
		lastErr = err
		if err := sleepCtx(ctx, 50*time.Millisecond); err != nil {
			return fmt.Errorf("temporaldev: namespace %q not ready: %w", s.namespace, errors.Join(err, lastErr))
		}
	}

	if len(searchAttrs) == 0 {
		return nil
	}
	have, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: s.namespace})
	if err != nil {
		return fmt.Errorf("temporaldev: list search attributes: %w", err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, typ := range searchAttrs {
		if _, ok := have.GetCustomAttributes()[name]; !ok {
			missing[name] = typ
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if _, err := c.OperatorService().AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace: s.namespace, SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("temporaldev: add search attributes: %w", err)
	}
	return nil
}

// startUI serves the Web UI with the assets embedded in ui-server, pointed at
// this server's frontend, and waits until it answers /healthz.
func (s *Server) startUI(ctx context.Context, o Options, dialIP string) (err error) {
	defer func() {
		if r := recover(); r != nil { // uiserver.NewServer panics on bad config
			err = fmt.Errorf("temporaldev: UI server: %v", r)
		}
	}()
	uiHost := o.IP
	if strings.Contains(uiHost, ":") {
		uiHost = "[" + uiHost + "]" // ui-server joins host and port with "%s:%d"
	}
	s.ui = uiserver.NewServer(uiserveroptions.WithConfigProvider(&uiconfig.Config{
		Host:                uiHost,
		Port:                o.UIPort,
		TemporalGRPCAddress: s.frontendAddr,
		EnableUI:            true,
		DefaultNamespace:    s.namespace,
		CORS:                uiconfig.CORS{CookieInsecure: true},
		HideLogs:            true,
		DisableNewsFetch:    true,
	}))
	s.uiDone = make(chan struct{})
	go func() {
		defer close(s.uiDone)
		// Returns nil once Stop closes it. A failed listen would make echo
		// exit the process, which is why Start checked the port beforehand.
		_ = s.ui.Start()
	}()
	s.uiAddr = net.JoinHostPort(dialIP, strconv.Itoa(o.UIPort))
	hc := &http.Client{Timeout: 2 * time.Second}
	url := "http://" + s.uiAddr + "/healthz"
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if serr := sleepCtx(ctx, 20*time.Millisecond); serr != nil {
			return fmt.Errorf("temporaldev: UI on %s not ready: %w", s.uiAddr, errors.Join(serr, err))
		}
	}
}

// Stop stops the UI and the server and waits (up to 5 s) for the frontend
// port to be free again, so a new Start on the same port can follow at once.
// It is safe to call more than once; later calls return the first result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.ui != nil {
			s.ui.Stop()
			select {
			case <-s.uiDone:
			case <-time.After(5 * time.Second):
			}
		}
		s.stopErr = stopServer(s.srv)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := waitBindable(ctx, s.bindIP, s.frontendPort); err != nil {
			s.log.Warn("frontend port still busy after stop", "port", s.frontendPort, "error", err)
		}
	})
	return s.stopErr
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
