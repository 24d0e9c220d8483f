package web

import (
	"encoding/json"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/atelier-hq/atelier/modules/apierr"
)

// Security headers every answer carries. The API serves JSON and image files, and one HTML
// page (the docs) whose only resource is an inline style: nothing may frame, script or load
// from elsewhere.
const (
	contentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

// requestIDPattern is a client-supplied request id kept as is: a short token of safe
// characters (no spaces, quotes or control characters to forge log lines or headers with).
var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)

// Edge wraps the app's request handler with what holds before and after every route, even
// where Fiber answers before any middleware:
//   - a request whose method the router does not serve answers 405 in the error shape (with
//     Allow) and is logged, instead of Fiber's plain-text 400;
//   - a client's X-Request-Id is kept only when it is a short token of safe characters; any
//     other is dropped, so the request-id middleware makes a fresh one;
//   - every answer carries X-Content-Type-Options: nosniff, Referrer-Policy: no-referrer, a
//     restrictive Content-Security-Policy and X-Frame-Options: DENY; an answer to a request
//     with credentials is Cache-Control: no-store unless the route chose its own caching.
//
// Call it once, right after fiber.New.
func Edge(f *fiber.App, log *slog.Logger) {
	srv := f.Server()
	next := srv.Handler
	methods := f.Config().RequestMethods
	if len(methods) == 0 {
		methods = fiber.DefaultMethods
	}
	served := make([]string, 0, len(methods))
	for _, m := range methods {
		if m != fiber.MethodConnect && m != fiber.MethodTrace {
			served = append(served, m)
		}
	}
	allow := strings.Join(served, ", ")
	notAllowed, _ := json.Marshal(ErrorBody{Error: ErrorDetail{Code: apierr.CodeMethodNotAllowed, Message: "method not allowed"}})
	srv.Handler = func(ctx *fasthttp.RequestCtx) {
		if rid := ctx.Request.Header.Peek(RequestIDHeader); len(rid) > 0 && !requestIDPattern.Match(rid) {
			ctx.Request.Header.Del(RequestIDHeader)
		}
		if !slices.Contains(methods, string(ctx.Method())) {
			method := string(ctx.Method())
			if len(method) > 32 {
				method = method[:32]
			}
			log.Warn("unknown HTTP method", slog.String("method", method), slog.String("path", string(ctx.Path())),
				slog.String("ip", ctx.RemoteIP().String()))
			ctx.Response.Header.Set(fiber.HeaderAllow, allow)
			if ctx.Request.IsBodyStream() {
				ctx.SetConnectionClose() // its body is still on the connection, unread
			}
			ctx.SetStatusCode(fiber.StatusMethodNotAllowed)
			ctx.SetContentType(fiber.MIMEApplicationJSONCharsetUTF8)
			ctx.SetBody(notAllowed)
			securityHeaders(ctx)
			return
		}
		next(ctx)
		securityHeaders(ctx)
	}
}

func securityHeaders(ctx *fasthttp.RequestCtx) {
	h := &ctx.Response.Header
	h.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	h.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	h.Set(fiber.HeaderContentSecurityPolicy, contentSecurityPolicy)
	h.Set(fiber.HeaderXFrameOptions, "DENY")
	if len(ctx.Request.Header.Peek(fiber.HeaderAuthorization)) > 0 && len(h.Peek(fiber.HeaderCacheControl)) == 0 {
		h.Set(fiber.HeaderCacheControl, "no-store")
	}
}
