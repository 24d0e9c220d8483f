package audit_test

import (
	"context"
	"testing"
	"time"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/audit"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// BenchmarkAuditRecord measures what Record adds to a request: stamping the entry and handing it
// to the buffer. The background writer only runs while the timer is stopped (a flush every
// 512 entries), so the figure is the request path's cost alone; the database never is on it.
func BenchmarkAuditRecord(b *testing.B) {
	env := apptest.Start(b)
	tn := env.SignUp(b)
	svc := audit.NewService(env.App.DB, env.App.Enforcer, nil,
		audit.Config{Buffer: 1024, Batch: 1000, Interval: time.Hour})
	b.Cleanup(svc.Close)
	ctx := tenancy.WithPrincipal(context.Background(), tenancy.Principal{TenantID: tn.ID, UserID: tn.Admin.ID,
		Kind: tenancy.CredentialSession})
	ctx = web.WithRequestID(ctx, "0190f0a4-6a8e-7c1a-9a55-5d0c5b3e1f00")
	entry := rbac.AuditEntry{Subject: rbac.UserSubject(tn.Admin.ID), Action: string(rbac.WorkspaceUpdate),
		Object: rbac.Root, Reason: map[string]any{"rule": "no grant allows it"}}
	flush := func() {
		b.StopTimer()
		if err := svc.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		svc.Record(ctx, entry)
		if i%512 == 511 {
			flush()
		}
	}
	b.StopTimer()
	if err := svc.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
}
