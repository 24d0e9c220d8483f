package web

import (
	"fmt"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/atelier-hq/atelier/modules/apierr"
)

// LimitBody answers 413 for a request body over limit unless it is a multipart upload. The
// server's own limit is set for the largest upload; this keeps every other body (JSON) small.
func LimitBody(limit int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if n := len(c.Request().Body()); n > limit && !isMultipart(c) {
			return apierr.TooLarge(fmt.Sprintf("the request body is larger than %d bytes", limit))
		}
		return c.Next()
	}
}

func isMultipart(c *fiber.Ctx) bool {
	return strings.HasPrefix(strings.ToLower(c.Get(fiber.HeaderContentType)), fiber.MIMEMultipartForm)
}
