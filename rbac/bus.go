package rbac

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// ChangedChannel is the Redis channel on which "tenant T's policy changed" travels.
const ChangedChannel = "atelier:rbac:changed"

// RedisBus tells every process about policy changes through Redis pub/sub, so a revoked grant
// stops working on every API node (the "new enemy" problem), not only where it was revoked.
type RedisBus struct {
	rdb redis.UniversalClient
}

// NewRedisBus returns a bus on the client.
func NewRedisBus(rdb redis.UniversalClient) *RedisBus { return &RedisBus{rdb: rdb} }

// Publish announces the tenant's change.
func (b *RedisBus) Publish(ctx context.Context, tenantID uuid.UUID) error {
	return b.rdb.Publish(ctx, ChangedChannel, tenantID.String()).Err()
}

// Forgetter drops a tenant's loaded policy; *Enforcer is one (tests wrap it to learn when a
// change arrived).
type Forgetter interface {
	Forget(tenantID uuid.UUID)
}

// Listen drops the tenant's loaded policy from e whenever any process announces a change, until
// ctx ends. It returns once the subscription is live, so a caller can rely on it at once.
func (b *RedisBus) Listen(ctx context.Context, e Forgetter, log *slog.Logger) error {
	sub := b.rdb.Subscribe(ctx, ChangedChannel)
	if _, err := sub.Receive(ctx); err != nil {
		_ = sub.Close()
		return err
	}
	go func() {
		defer sub.Close()
		ch := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case msg, ok := <-ch:
				if !ok {
					return
				}
				id, err := uuid.Parse(msg.Payload)
				if err != nil {
					log.Warn("rbac: bad change message", slog.String("payload", msg.Payload))
					continue
				}
				e.Forget(id)
			}
		}
	}()
	return nil
}
