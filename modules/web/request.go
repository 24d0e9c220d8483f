package web

import (
	"context"
	"regexp"

	"github.com/gofiber/fiber/v2"
)

// SlugPattern is the rule for tenant slugs (and, shorter, workspace slugs).
var SlugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// Locals keys under which whoever authenticates a request (auth's middleware, the event stream's
// ticket) leaves its principal's tenant and user (uuid.UUID) for the request log.
const (
	LocalTenant = "tenant_id"
	LocalUser   = "user_id"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-ID"

// RequestID returns the id the request-id middleware assigned.
func RequestID(c *fiber.Ctx) string {
	if v, ok := c.Locals("requestid").(string); ok {
		return v
	}
	return c.GetRespHeader(RequestIDHeader)
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the request id (for audit entries and logs below the edge).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id in ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
