package jobs

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/tenancy"
)

// A periodic task that visits every tenant goes on past a tenant that fails, and still reports
// the failure so asynq retries.
func TestForEachTenant_oneFailingTenantDoesNotStopTheOthers(t *testing.T) {
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New()}
	var visited []uuid.UUID
	err := ForEachTenant(context.Background(), ids, nil, "test:sweep", func(ctx context.Context) error {
		id, ok := tenancy.TenantFrom(ctx)
		if !ok {
			t.Fatal("no tenant in the context")
		}
		visited = append(visited, id)
		if id == ids[0] {
			return errors.New("broken tenant")
		}
		return nil
	})
	if len(visited) != len(ids) {
		t.Fatalf("visited %d of %d tenants", len(visited), len(ids))
	}
	if err == nil {
		t.Fatal("a failing tenant is not reported")
	}
}
