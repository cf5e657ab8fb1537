package temporaldev

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/server/common/config"
	tlog "go.temporal.io/server/common/log"
	pgplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"
)

// The server module's embedded PostgreSQL schema (go.temporal.io/server/schema),
// the one temporal-sql-tool applies: a versioned folder per release.
const (
	postgresSchema           = "postgresql/v12/temporal"
	postgresVisibilitySchema = "postgresql/v12/visibility"
	visibilitySuffix         = "_visibility"
)

// postgresHistoryShards is the number of history shards of a PostgreSQL
// store, fixed when its cluster metadata is first written. Workflow updates
// of one shard take its lock in turn; several let the history service write
// in parallel, as PostgreSQL allows (Temporal's own development config uses 4).
const postgresHistoryShards = 4

// Connection pools per server service (frontend, history, matching and
// worker each open their own): 4 × (10 + 4) connections at most, well
// inside a cluster's default 100 beside Redress's own pools.
const (
	postgresMaxConns           = 10
	postgresVisibilityMaxConns = 4
)

// preparePostgres builds the persistence and visibility configs of
// o.PostgresURL, sets up or upgrades both schemas and writes the namespace.
func preparePostgres(o Options, logger tlog.Logger) (store, vis *config.SQL, err error) {
	store, err = postgresConfig(o.PostgresURL)
	if err != nil {
		return nil, nil, err
	}
	store.MaxConns, store.MaxIdleConns = postgresMaxConns, postgresMaxConns
	v := *store
	vis = &v
	vis.DatabaseName = store.DatabaseName + visibilitySuffix
	vis.MaxConns, vis.MaxIdleConns = postgresVisibilityMaxConns, postgresVisibilityMaxConns
	if err := upgradeSchema(store, postgresSchema, "", logger); err != nil {
		return nil, nil, err
	}
	if err := upgradeSchema(vis, postgresVisibilitySchema, "", logger); err != nil {
		return nil, nil, err
	}
	if err := skipUnsetColumnsInVisibilityIndexes(vis, logger); err != nil {
		return nil, nil, err
	}
	if err := createNamespace(store, o); err != nil {
		return nil, nil, err
	}
	return store, vis, nil
}

// postgresConfig turns a postgres:// URL into the server's SQL config; the
// URL's query parameters (sslmode, …) are passed on to the driver.
func postgresConfig(raw string) (*config.SQL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("temporaldev: PostgreSQL URL: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("temporaldev: PostgreSQL URL: scheme %q, want postgres://", u.Scheme)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if u.Hostname() == "" || name == "" || strings.Contains(name, "/") {
		return nil, errors.New("temporaldev: PostgreSQL URL: want postgres://user:password@host:port/database")
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	password, _ := u.User.Password()
	attrs := map[string]string{}
	for k, vs := range u.Query() {
		if len(vs) != 1 {
			return nil, fmt.Errorf("temporaldev: PostgreSQL URL: parameter %q given %d times", k, len(vs))
		}
		attrs[k] = vs[0]
	}
	return &config.SQL{
		PluginName:        pgplugin.PluginNamePGX,
		ConnectAddr:       net.JoinHostPort(u.Hostname(), port),
		User:              u.User.Username(),
		Password:          password,
		DatabaseName:      name,
		ConnectAttributes: attrs,
		MaxConnLifetime:   time.Hour,
	}, nil
}

// upgradeSchema brings the database of conf to the schema version target
// ("" = the newest the server module embeds) the way `temporal-sql-tool
// setup-schema -v 0.0` and `update-schema` do: an empty database gets the
// version tables at 0.0, then every versioned step above the database's
// version runs in order. On a database already at target it changes nothing.
func upgradeSchema(conf *config.SQL, schemaName, target string, logger tlog.Logger) error {
	conn, err := sqltool.NewConnection(conf, logger)
	if err != nil {
		return fmt.Errorf("temporaldev: connect to database %s: %w", conf.DatabaseName, err)
	}
	defer conn.Close()
	if err := schema.NewSetupSchemaTask(conn, &schema.SetupConfig{InitialVersion: "0.0"}, logger).Run(); err != nil {
		return fmt.Errorf("temporaldev: schema version of database %s: %w", conf.DatabaseName, err)
	}
	if err := schema.NewUpdateSchemaTask(conn, &schema.UpdateConfig{
		DBName: conf.DatabaseName, SchemaName: schemaName, TargetVersion: target,
	}, logger).Run(); err != nil {
		return fmt.Errorf("temporaldev: upgrade the schema of database %s: %w", conf.DatabaseName, err)
	}
	return nil
}

// visibilityPartialIndexes rewrites every index of the visibility table led
// (after namespace_id) by a nullable column as a partial index of the rows
// that set it. The schema indexes each of its ~60 search-attribute columns
// (system and pre-allocated custom ones), and a NULL is indexed like any
// value: both writes of a new workflow's row (its start, then its first
// task's build ids, an update that changes indexed columns) went into all
// 73 indexes, most of them for columns no Redress workflow sets: the
// largest share of the engine's statement time and WAL in a complaint
// storm. A query on such a column (=, <>, <, @>, @@ are strict) implies it
// is not NULL, so the partial index still serves it; only IS NULL queries
// lose it. It runs after every schema upgrade, so indexes an upgrade adds
// or recreates are rewritten too; an index already partial is left alone.
const visibilityPartialIndexes = `DO $$
DECLARE r record;
BEGIN
  FOR r IN
    SELECT i.relname AS name, pg_get_indexdef(i.oid) AS def, a.attname AS col
    FROM pg_index x
    JOIN pg_class i ON i.oid = x.indexrelid
    JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[1]
    WHERE x.indrelid = 'executions_visibility'::regclass
      AND x.indpred IS NULL AND NOT x.indisunique AND NOT a.attnotnull
  LOOP
    EXECUTE format('DROP INDEX %I', r.name);
    EXECUTE r.def || format(' WHERE %I IS NOT NULL', r.col);
  END LOOP;
END $$`

// skipUnsetColumnsInVisibilityIndexes applies visibilityPartialIndexes to
// the visibility database of conf, in one transaction.
func skipUnsetColumnsInVisibilityIndexes(conf *config.SQL, logger tlog.Logger) error {
	conn, err := sqltool.NewConnection(conf, logger)
	if err != nil {
		return fmt.Errorf("temporaldev: connect to database %s: %w", conf.DatabaseName, err)
	}
	defer conn.Close()
	if err := conn.Exec(visibilityPartialIndexes); err != nil {
		return fmt.Errorf("temporaldev: partial indexes in database %s: %w", conf.DatabaseName, err)
	}
	return nil
}
