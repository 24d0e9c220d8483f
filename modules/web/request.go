package web

import (
	"regexp"

	"github.com/gofiber/fiber/v2"
)

// SlugPattern is the rule for tenant slugs (and, shorter, workspace slugs).
var SlugPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-ID"

// RequestID returns the id the request-id middleware assigned.
func RequestID(c *fiber.Ctx) string {
	if v, ok := c.Locals("requestid").(string); ok {
		return v
	}
	return c.GetRespHeader(RequestIDHeader)
}
