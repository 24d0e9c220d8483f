// Package jobs wires asynq (Redis-backed background tasks) for the rest of the code base: one
// Broker per process, a Client to enqueue, a Worker to run handlers and a Scheduler for periodic
// tasks. Feature modules only declare task types, payloads and handlers; app wires them here.
package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Broker is the Redis connection shared by jobs, rate limits and pub/sub in one process.
type Broker struct {
	rdb      *redis.Client
	connOpt  asynq.RedisConnOpt
	embedded *miniredis.Miniredis
	log      *slog.Logger
}

// OpenBroker connects to redisURL (redis:// or rediss://). An empty URL starts an in-process
// Redis (miniredis) instead: the zero-configuration default for a single `serve` process. Its
// state lives in memory only, so queued tasks are lost when the process exits.
func OpenBroker(ctx context.Context, redisURL string, log *slog.Logger) (*Broker, error) {
	log = orDefault(log)
	b := &Broker{log: log}
	if redisURL == "" {
		mr, err := startEmbedded()
		if err != nil {
			return nil, err
		}
		b.embedded = mr
		redisURL = "redis://" + mr.Addr() + "/0"
	}
	opt, connOpt, err := parseRedisURL(redisURL)
	if err != nil {
		b.stopEmbedded()
		return nil, err
	}
	b.rdb = redis.NewClient(opt)
	b.connOpt = connOpt
	// Fail at start-up rather than on the first enqueue: a wrong host or password is a
	// configuration error the operator should see immediately.
	if err := b.Ping(ctx); err != nil {
		_ = b.Close()
		return nil, fmt.Errorf("redis at %s (db %d) unreachable: %w", opt.Addr, opt.DB, err)
	}
	if b.Embedded() {
		log.Info("job broker: embedded in-process redis; queued tasks are lost on exit",
			slog.String("addr", opt.Addr))
	} else {
		log.Info("job broker connected", slog.String("addr", opt.Addr), slog.Int("db", opt.DB))
	}
	return b, nil
}

// startEmbedded starts miniredis with wall-clock key expiry.
func startEmbedded() (*miniredis.Miniredis, error) {
	mr := miniredis.NewMiniRedis()
	// miniredis freezes TTLs by default (it is built for unit tests). asynq relies on expiring
	// keys, e.g. the Unique lock that deduplicates periodic tasks; frozen, such a lock would
	// block its task forever after one failed run.
	mr.ClockTTL(true)
	if err := mr.Start(); err != nil {
		return nil, fmt.Errorf("start embedded redis: %w", err)
	}
	return mr, nil
}

// parseRedisURL returns the go-redis options and the matching asynq options for one URL.
func parseRedisURL(redisURL string) (*redis.Options, asynq.RedisConnOpt, error) {
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("parse redis url: %w", err)
	}
	connOpt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("parse redis url for asynq: %w", err)
	}
	if c, ok := connOpt.(asynq.RedisClientOpt); ok {
		// asynq's parser drops the ACL user name and does not default the port ("redis://host"
		// gives Addr "host", which cannot be dialled). Take those from go-redis so that both
		// clients log in as the same user at the same address.
		c.Addr, c.Username, c.Password, c.DB = opt.Addr, opt.Username, opt.Password, opt.DB
		connOpt = c
	}
	return opt, connOpt, nil
}

// Redis returns the go-redis client for non-job uses such as rate limits and pub/sub.
func (b *Broker) Redis() redis.UniversalClient { return b.rdb }

// ConnOpt returns the connection options asynq's client, server, scheduler and inspector need.
func (b *Broker) ConnOpt() asynq.RedisConnOpt { return b.connOpt }

// Embedded reports whether the broker is the in-process Redis.
func (b *Broker) Embedded() bool { return b.embedded != nil }

// Ping checks that Redis answers; /readyz uses it.
func (b *Broker) Ping(ctx context.Context) error {
	return b.rdb.Ping(ctx).Err()
}

// Close closes the client and stops the embedded Redis, if any. Shut workers and schedulers
// down first: they hold their own connections to the same server.
func (b *Broker) Close() error {
	var err error
	if b.rdb != nil {
		err = b.rdb.Close()
	}
	b.stopEmbedded()
	if errors.Is(err, redis.ErrClosed) {
		return nil
	}
	return err
}

func (b *Broker) stopEmbedded() {
	if b.embedded != nil {
		b.embedded.Close()
	}
}

// orDefault lets callers pass a nil logger.
func orDefault(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.Default()
	}
	return log
}
