package web

import (
	"bytes"
	"fmt"
	"io"

	"github.com/gofiber/fiber/v2"

	"github.com/atelier-hq/atelier/modules/apierr"
)

// BodyLimits are the request bodies the API takes. The server streams request bodies (Fiber's
// StreamRequestBody, multipart pre-parsing off), so nothing is read before the route is known:
// every route takes a JSON body up to JSON bytes, and only the routes declared Upload take a
// multipart body up to Upload bytes. A body over its route's limit is refused from its
// Content-Length before a byte of it is read and before the credentials are checked.
type BodyLimits struct {
	JSON   int
	Upload int64
}

// limitBody is the first handler of every route: the route's size check.
func limitBody(limits BodyLimits, upload bool) fiber.Handler {
	limit := int64(limits.JSON)
	if upload {
		limit = max(limits.Upload, limit)
	}
	return func(c *fiber.Ctx) error {
		req := c.Request()
		if !req.IsBodyStream() {
			// A body the server already holds (tests that build requests in memory).
			if n := int64(len(req.Body())); n > limit {
				return tooLarge(c, limit)
			}
			return c.Next()
		}
		switch n := int64(req.Header.ContentLength()); {
		case n > limit:
			return tooLarge(c, limit)
		case n >= 0:
			return c.Next()
		case n == -1 && upload:
			// Chunked: an upload's size must be known before it is read.
			c.Context().SetConnectionClose()
			return apierr.LengthRequired("an upload must be sent with a Content-Length")
		case n == -1:
			// Chunked JSON: read at most one byte past the limit, and keep what was read.
			var buf bytes.Buffer
			if _, err := io.Copy(&buf, io.LimitReader(req.BodyStream(), limit+1)); err != nil {
				c.Context().SetConnectionClose()
				return apierr.Invalid("body", "unreadable request body")
			}
			if int64(buf.Len()) > limit {
				return tooLarge(c, limit)
			}
			req.SetBody(buf.Bytes())
		}
		return c.Next()
	}
}

// tooLarge refuses the body unread; the connection closes after the answer, since what is left
// of the body is still on it.
func tooLarge(c *fiber.Ctx, limit int64) error {
	c.Context().SetConnectionClose()
	return apierr.TooLarge(fmt.Sprintf("the request body is larger than %d bytes", limit))
}

// maxDrain is how much of an unread request body is read away after the answer so that the
// connection can serve its next request; past it the connection is closed instead.
const maxDrain = 64 << 10

// DrainBody runs around every request (the outermost middleware but Edge): when the answer was
// made without reading the whole streamed body (a 401, a 404 route, a 403 upload), what is left
// of a small body is read away, so that the next request on the connection never starts in the
// middle of this one's body; after a large or chunked one the connection is closed instead, and
// nothing waits for a body nobody will read.
func DrainBody() fiber.Handler {
	return func(c *fiber.Ctx) error {
		err := c.Next()
		req := c.Request()
		if !req.IsBodyStream() {
			return err
		}
		if n := req.Header.ContentLength(); n < 0 || n > maxDrain {
			c.Context().SetConnectionClose()
			return err
		}
		if _, derr := io.Copy(io.Discard, req.BodyStream()); derr != nil {
			c.Context().SetConnectionClose()
		}
		return err
	}
}
