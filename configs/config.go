// Package configs holds the process configuration: its defaults, read from the environment.
package configs

import (
	"fmt"
	"os"
	"time"

	"github.com/caarlos0/env/v11"
)

// Config is everything a process reads at start. Unset DATABASE_URL / REDIS_URL select the
// embedded database and broker, so a bare machine needs nothing installed.
type Config struct {
	HTTPAddr string `env:"HTTP_ADDR" envDefault:"127.0.0.1:8080"`
	// MetricsAddr is where `serve` answers GET /metrics (Prometheus), apart from the API port:
	// DefaultMetricsAddr when unset, disabled when set empty.
	MetricsAddr string `env:"METRICS_ADDR"`
	DatabaseURL string `env:"DATABASE_URL"`
	RedisURL    string `env:"REDIS_URL"`
	DataDir     string `env:"DATA_DIR" envDefault:"./data"`
	// DBMaxConns bounds the PostgreSQL pool of one process. A request or task holds at most one.
	DBMaxConns    int    `env:"DB_MAX_CONNS" envDefault:"20"`
	JWTSecret     string `env:"JWT_SECRET"`
	SignupEnabled bool   `env:"SIGNUP_ENABLED" envDefault:"true"`

	LogLevel  string `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat string `env:"LOG_FORMAT" envDefault:"json"`

	AccessTokenTTL  time.Duration `env:"ACCESS_TOKEN_TTL" envDefault:"15m"`
	RefreshTokenTTL time.Duration `env:"REFRESH_TOKEN_TTL" envDefault:"720h"`
	BodyLimitBytes  int           `env:"BODY_LIMIT_BYTES" envDefault:"1048576"`

	// RequestTimeout bounds every request (database and Redis calls included): past it the
	// request answers 503. UploadTimeout replaces it for multipart uploads.
	RequestTimeout time.Duration `env:"REQUEST_TIMEOUT" envDefault:"30s"`
	UploadTimeout  time.Duration `env:"UPLOAD_TIMEOUT" envDefault:"5m"`
	// ShutdownTimeout bounds a graceful stop: requests still running after it are cut off.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"10s"`

	// Image uploads: the largest file, and the largest image in pixels (width × height) and on
	// either side; decompression bombs are refused from the header, before decoding.
	UploadMaxBytes  int64 `env:"UPLOAD_MAX_BYTES" envDefault:"26214400"`
	UploadMaxPixels int64 `env:"UPLOAD_MAX_PIXELS" envDefault:"40000000"`
	UploadMaxSide   int   `env:"UPLOAD_MAX_SIDE" envDefault:"12000"`
	// Decoding is bounded in memory across requests: at most DecodeMaxPixelsInFlight pixels
	// (0: UPLOAD_MAX_PIXELS) and DecodeMaxConcurrent decodes (0: the number of CPUs) at once; a
	// decode waits up to DecodeWait for room, then answers 503 with Retry-After.
	DecodeMaxPixelsInFlight int64         `env:"DECODE_MAX_PIXELS_IN_FLIGHT" envDefault:"0"`
	DecodeMaxConcurrent     int           `env:"DECODE_MAX_CONCURRENT" envDefault:"0"`
	DecodeWait              time.Duration `env:"DECODE_WAIT" envDefault:"5s"`

	// Login attempts allowed per window, per account and per client address.
	LoginLimitPerAccount int           `env:"LOGIN_LIMIT_PER_ACCOUNT" envDefault:"10"`
	LoginLimitPerAddress int           `env:"LOGIN_LIMIT_PER_ADDRESS" envDefault:"50"`
	LoginLimitWindow     time.Duration `env:"LOGIN_LIMIT_WINDOW" envDefault:"15m"`

	// Anonymous sign-ups allowed per client address and window.
	SignupLimitPerAddress int           `env:"SIGNUP_LIMIT_PER_ADDRESS" envDefault:"5"`
	SignupLimitWindow     time.Duration `env:"SIGNUP_LIMIT_WINDOW" envDefault:"1h"`

	// Argon2id memory in KiB; lowered in tests, never below OWASP's 19 MiB in production.
	PasswordHashMemoryKiB uint32 `env:"PASSWORD_HASH_MEMORY_KIB" envDefault:"65536"`

	// TrustedProxies lists proxy addresses whose X-Forwarded-For is believed.
	TrustedProxies []string `env:"TRUSTED_PROXIES" envSeparator:","`

	// AuditRetention is how long audit log entries are kept; a daily job prunes older ones.
	AuditRetention time.Duration `env:"AUDIT_RETENTION" envDefault:"8760h"`

	// TokenLogRetention is how long personal access token access log entries are kept; a
	// periodic job prunes older ones.
	TokenLogRetention time.Duration `env:"TOKEN_LOG_RETENTION" envDefault:"2160h"`

	// Event streams (SSE): the keep-alive interval on an idle stream, how often every open
	// stream's credentials are re-checked (the backstop behind the immediate "ended" messages),
	// the recent events kept per tenant for Last-Event-ID, and how many events may wait for one
	// slow client before it is dropped with a resync hint.
	EventsHeartbeat        time.Duration `env:"EVENTS_HEARTBEAT" envDefault:"15s"`
	EventsLivenessInterval time.Duration `env:"EVENTS_LIVENESS_INTERVAL" envDefault:"30s"`
	// Bulk downloads: how long a download and its zip live, and the server's bounds on one
	// download (quota profiles may lower them).
	DownloadTTL       time.Duration `env:"DOWNLOAD_TTL" envDefault:"24h"`
	DownloadMaxImages int           `env:"DOWNLOAD_MAX_IMAGES" envDefault:"1000"`
	DownloadMaxBytes  int64         `env:"DOWNLOAD_MAX_BYTES" envDefault:"2147483648"`
	// LivenessCacheTTL is how long a node trusts its check that a caller's user is enabled, tenant
	// active and session or token not revoked. Ending one is announced to every node at once; the
	// cache is not used while that announcement channel is down. 0 checks on every request.
	LivenessCacheTTL time.Duration `env:"LIVENESS_CACHE_TTL" envDefault:"5s"`
	// PolicyCacheMB bounds the memory of the tenants' policies loaded on a node (estimated at
	// rbac.RuleBytes per rule); past it the least recently used tenants are dropped and load
	// again on use. 0: no bound.
	PolicyCacheMB          int `env:"POLICY_CACHE_MB" envDefault:"512"`
	EventsBufferSize       int `env:"EVENTS_BUFFER_SIZE" envDefault:"256"`
	EventsSubscriberBuffer int `env:"EVENTS_SUBSCRIBER_BUFFER" envDefault:"32"`

	// EmbeddedWorker runs the asynq worker inside `serve` (always true with the embedded broker).
	EmbeddedWorker bool `env:"EMBEDDED_WORKER" envDefault:"false"`

	// WorkerPollInterval is how often an idle worker looks for new tasks: the delay a queue item
	// may wait before it starts on an idle system (asynq's own default is one second).
	WorkerPollInterval time.Duration `env:"WORKER_POLL_INTERVAL" envDefault:"20ms"`
	// QueueLease is how long a running queue item may go without reporting progress (one node)
	// before it is failed as abandoned; it is also the run's timeout.
	QueueLease time.Duration `env:"QUEUE_LEASE" envDefault:"10m"`
	// QueueMaxPendingPerUser caps a user's pending queue items where no quota profile sets a
	// limit.
	QueueMaxPendingPerUser int64 `env:"QUEUE_MAX_PENDING_PER_USER" envDefault:"100"`
}

// DefaultMetricsAddr is METRICS_ADDR when it is not set: loopback only.
const DefaultMetricsAddr = "127.0.0.1:9090"

// Load reads the configuration from the environment.
func Load() (Config, error) {
	var c Config
	if err := env.Parse(&c); err != nil {
		return Config{}, fmt.Errorf("read configuration: %w", err)
	}
	// An empty METRICS_ADDR disables the metrics listener; the env library would read an empty
	// value as "use the default", so the default is applied here, only when it is unset.
	if _, set := os.LookupEnv("METRICS_ADDR"); !set {
		c.MetricsAddr = DefaultMetricsAddr
	}
	return c, nil
}

// Embedded reports whether the process runs on the embedded database.
func (c Config) Embedded() bool { return c.DatabaseURL == "" }

// Defaults is the configuration with every default and nothing read from the environment.
func Defaults() Config {
	var c Config
	if err := env.ParseWithOptions(&c, env.Options{Environment: map[string]string{}}); err != nil {
		panic(fmt.Sprintf("configs: defaults do not parse: %v", err))
	}
	c.MetricsAddr = DefaultMetricsAddr
	return c
}
