package web

import (
	"context"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// Deadline runs every request under a deadline: the database, Redis and file calls made with the
// request's context give up when it passes, and the request answers 503 in the error shape
// instead of waiting forever (for a pool connection, a lock, a stuck dependency). Multipart
// uploads get the longer upload deadline.
func Deadline(request, upload time.Duration) fiber.Handler {
	return func(c *fiber.Ctx) error {
		d := request
		if upload > d && strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEMultipartForm) {
			d = upload
		}
		if d <= 0 {
			return c.Next()
		}
		ctx, cancel := context.WithTimeout(c.UserContext(), d)
		defer cancel()
		c.SetUserContext(ctx)
		return c.Next()
	}
}
