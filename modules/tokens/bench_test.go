package tokens_test

import (
	"context"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/atelier-hq/atelier/app"
	"github.com/atelier-hq/atelier/app/apptest"
)

// BenchmarkAuthenticate_PATvsJWT measures GET /api/v1/me end to end inside the server (no
// network) authenticated three ways: a session's access token (JWT verification plus the
// per-request liveness check), a personal access token (decode, lookup by primary key under the
// tenant's RLS scope, constant-time hash comparison, owner liveness check, and the access log
// entry), and a personal access token on a server without the token access log. The difference
// of the first two is the extra cost of a PAT; of the last two, the access log's share.
func BenchmarkAuthenticate_PATvsJWT(b *testing.B) {
	env := apptest.Start(b)
	tn := env.SignUp(b)
	pat := mint(b, env, tn.Admin.Token)
	logged := env.Server.Fiber.Handler()
	keep := env.App.TokenLog
	env.App.TokenLog = nil
	unlogged := app.NewServer(env.App).Fiber.Handler()
	env.App.TokenLog = keep
	for _, c := range []struct {
		name    string
		token   string
		handler fasthttp.RequestHandler
	}{
		{"jwt", tn.Admin.Token, logged},
		{"pat", pat.Token, logged},
		{"pat-unlogged", pat.Token, unlogged},
	} {
		b.Run(c.name, func(b *testing.B) {
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
					ctx.Request.Header.Set(fiber.HeaderAuthorization, "Bearer "+c.token)
					c.handler(&ctx)
					if ctx.Response.StatusCode() != fasthttp.StatusOK {
						b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
					}
				}
			})
			b.StopTimer()
			if err := env.App.TokenLog.Flush(context.Background()); err != nil {
				b.Fatal(err)
			}
		})
	}
}
