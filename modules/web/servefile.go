package web

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// File is a stored file to send: its content, size, last modification and entity tag (quoted,
// `"…"`). ServeFile takes ownership of Content and closes it once the answer is sent.
type File struct {
	Content io.ReadSeekCloser
	Size    int64
	ModTime time.Time
	ETag    string
}

// ServeFile answers a GET or HEAD for f, streamed from its reader (never read whole into
// memory): conditional requests (If-Match, If-Unmodified-Since → 412; If-None-Match,
// If-Modified-Since → 304) and one byte range (Range, honoured only while If-Range still matches;
// 206 with Content-Range, or 416 past the end), as RFC 9110 describes them and as
// net/http.ServeContent does. Several ranges in one request get the whole file (200), which the
// RFC allows. The caller sets Content-Type and its caching headers first.
func ServeFile(c *fiber.Ctx, f File) error {
	handedOver := false
	defer func() {
		if !handedOver {
			_ = f.Content.Close()
		}
	}()
	mod := f.ModTime.UTC().Truncate(time.Second)
	c.Set(fiber.HeaderETag, f.ETag)
	if !f.ModTime.IsZero() {
		c.Set(fiber.HeaderLastModified, mod.Format(http.TimeFormat))
	}
	c.Set(fiber.HeaderAcceptRanges, "bytes")

	if status := preconditions(c, f.ETag, mod); status != 0 {
		return noBody(c, status)
	}

	start, length, status := int64(0), f.Size, http.StatusOK
	if spec := c.Get(fiber.HeaderRange); spec != "" && ifRange(c, f.ETag, mod) {
		s, n, ok, satisfiable := parseRange(spec, f.Size)
		switch {
		case !satisfiable:
			c.Set(fiber.HeaderContentRange, "bytes */"+strconv.FormatInt(f.Size, 10))
			return noBody(c, http.StatusRequestedRangeNotSatisfiable)
		case ok:
			start, length, status = s, n, http.StatusPartialContent
			c.Set(fiber.HeaderContentRange, "bytes "+strconv.FormatInt(s, 10)+"-"+strconv.FormatInt(s+n-1, 10)+"/"+
				strconv.FormatInt(f.Size, 10))
		}
	}
	if _, err := f.Content.Seek(start, io.SeekStart); err != nil {
		return err
	}
	c.Status(status)
	handedOver = true
	c.Context().SetBodyStream(&section{Reader: io.LimitReader(f.Content, length), Closer: f.Content}, int(length))
	return nil
}

// noBody ends the answer with a status and no content (304, 412, 416): no body, and no content
// type of the file it is not.
func noBody(c *fiber.Ctx, status int) error {
	c.Response().Header.Del(fiber.HeaderContentType)
	c.Response().ResetBody()
	c.Status(status)
	return nil
}

// section is a part of a file that closes the file when fasthttp is done sending it.
type section struct {
	io.Reader
	io.Closer
}

// preconditions evaluates the conditional headers in RFC 9110 §13.2.2's order and returns the
// status that ends the request there (412 or 304), or 0 to go on.
func preconditions(c *fiber.Ctx, etag string, mod time.Time) int {
	if im := c.Get(fiber.HeaderIfMatch); im != "" {
		if !etagListMatches(im, etag, true) {
			return http.StatusPreconditionFailed
		}
	} else if ius := c.Get(fiber.HeaderIfUnmodifiedSince); ius != "" && !mod.IsZero() {
		if t, err := http.ParseTime(ius); err == nil && mod.After(t) {
			return http.StatusPreconditionFailed
		}
	}
	safe := c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" {
		if etagListMatches(inm, etag, false) {
			if safe {
				return http.StatusNotModified
			}
			return http.StatusPreconditionFailed
		}
	} else if ims := c.Get(fiber.HeaderIfModifiedSince); ims != "" && safe && !mod.IsZero() {
		if t, err := http.ParseTime(ims); err == nil && !mod.After(t) {
			return http.StatusNotModified
		}
	}
	return 0
}

// ifRange reports whether a Range header is to be honoured: no If-Range, or one that names the
// current entity (a strong tag, or exactly its last modification).
func ifRange(c *fiber.Ctx, etag string, mod time.Time) bool {
	ir := c.Get(fiber.HeaderIfRange)
	if ir == "" {
		return true
	}
	if strings.HasPrefix(ir, `"`) || strings.HasPrefix(ir, "W/") {
		return !strings.HasPrefix(ir, "W/") && ir == etag
	}
	t, err := http.ParseTime(ir)
	return err == nil && !mod.IsZero() && t.Equal(mod)
}

// etagListMatches reports whether the header's list of tags ("*" or `"a", W/"b"`) names etag:
// with strong comparison (If-Match) a weak tag never matches.
func etagListMatches(list, etag string, strong bool) bool {
	if strings.TrimSpace(list) == "*" {
		return true
	}
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimSpace(t)
		weak := strings.HasPrefix(t, "W/")
		if weak {
			if strong {
				continue
			}
			t = t[2:]
		}
		if t == strings.TrimPrefix(etag, "W/") && t != "" {
			return true
		}
	}
	return false
}

// parseRange reads a `bytes=` Range header against a file of size bytes. ok is false when the
// header is to be ignored (malformed, another unit, several ranges): the whole file is sent.
// satisfiable is false for a single well-formed range that starts past the end (416).
func parseRange(spec string, size int64) (start, length int64, ok, satisfiable bool) {
	v, found := strings.CutPrefix(spec, "bytes=")
	if !found || strings.Contains(v, ",") {
		return 0, 0, false, true
	}
	first, last, found := strings.Cut(strings.TrimSpace(v), "-")
	if !found {
		return 0, 0, false, true
	}
	if first == "" { // the last n bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, true
		}
		if n == 0 {
			return 0, 0, false, false
		}
		n = min(n, size)
		return size - n, n, true, size > 0
	}
	s, err := strconv.ParseInt(first, 10, 64)
	if err != nil || s < 0 {
		return 0, 0, false, true
	}
	if s >= size {
		return 0, 0, false, false
	}
	e := size - 1
	if last != "" {
		if e, err = strconv.ParseInt(last, 10, 64); err != nil || e < s {
			return 0, 0, false, true
		}
		e = min(e, size-1)
	}
	return s, e - s + 1, true, true
}
