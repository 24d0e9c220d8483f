package app_test

import (
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/atelier-hq/atelier/app/apptest"
)

// BenchmarkAuthenticatedRequest measures one authenticated API request end to end inside the
// server (no network): bearer token verification, the per-request liveness check of user, tenant
// and session (one tenant-scoped transaction on PostgreSQL), the principal's roles from the
// policy, and the scoped read of GET /api/v1/me.
func BenchmarkAuthenticatedRequest(b *testing.B) {
	env := apptest.Start(b)
	tn := env.SignUp(b)
	handler := env.Server.Fiber.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var ctx fasthttp.RequestCtx
		for pb.Next() {
			ctx.ResetUserValues()
			ctx.Request.Reset()
			ctx.Response.Reset()
			ctx.Request.SetRequestURI("/api/v1/me")
			ctx.Request.Header.SetMethod(fasthttp.MethodGet)
			ctx.Request.Header.Set("Authorization", "Bearer "+tn.Admin.Token)
			handler(&ctx)
			if ctx.Response.StatusCode() != fasthttp.StatusOK {
				b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
	})
}

// BenchmarkUnauthenticatedRequest is the floor: the same stack answering 401 for a bad token,
// with no database work.
func BenchmarkUnauthenticatedRequest(b *testing.B) {
	env := apptest.Start(b)
	handler := env.Server.Fiber.Handler()
	b.ReportAllocs()
	b.ResetTimer()
	var ctx fasthttp.RequestCtx
	for i := 0; i < b.N; i++ {
		ctx.ResetUserValues()
		ctx.Request.Reset()
		ctx.Response.Reset()
		ctx.Request.SetRequestURI("/api/v1/me")
		ctx.Request.Header.SetMethod(fasthttp.MethodGet)
		ctx.Request.Header.Set("Authorization", "Bearer not-a-token")
		handler(&ctx)
		if ctx.Response.StatusCode() != fasthttp.StatusUnauthorized {
			b.Fatalf("status %d", ctx.Response.StatusCode())
		}
	}
}
