package downloads

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
)

// serveArchive streams the archive from storage: the body is read from the file as it is sent
// (never loaded whole), with ETag / If-None-Match, a single Range (with If-Range) and a
// Content-Disposition naming the file. Several ranges at once are answered with the whole file,
// as RFC 9110 allows.
func serveArchive(c *fiber.Ctx, d Download, f File) error {
	etag := `"` + d.Checksum + `"`
	c.Set(fiber.HeaderContentType, "application/zip")
	c.Set(fiber.HeaderETag, etag)
	c.Set(fiber.HeaderAcceptRanges, "bytes")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="download-`+d.ID.String()+`.zip"`)
	c.Set(fiber.HeaderCacheControl, "private, no-cache")
	c.Set(fiber.HeaderLastModified, f.ModTime.UTC().Format(http.TimeFormat))
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && etagListMatches(inm, etag) {
		f.Close()
		return c.SendStatus(fiber.StatusNotModified)
	}
	start, length, status := int64(0), f.Size, fiber.StatusOK
	if rng := c.Get(fiber.HeaderRange); rng != "" && ifRangeHolds(c.Get(fiber.HeaderIfRange), etag) {
		s, l, ok, satisfiable := parseRange(rng, f.Size)
		if !satisfiable {
			f.Close()
			c.Set(fiber.HeaderContentRange, "bytes */"+strconv.FormatInt(f.Size, 10))
			return c.Status(fiber.StatusRequestedRangeNotSatisfiable).JSON(fiber.Map{"error": fiber.Map{
				"code": "invalid", "message": "range not satisfiable",
				"details": []fiber.Map{{"field": "Range", "reason": "outside the file"}}}})
		}
		if ok {
			start, length, status = s, l, fiber.StatusPartialContent
			c.Set(fiber.HeaderContentRange, "bytes "+strconv.FormatInt(s, 10)+"-"+strconv.FormatInt(s+l-1, 10)+"/"+strconv.FormatInt(f.Size, 10))
		}
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		f.Close()
		return err
	}
	c.Status(status)
	// fasthttp copies the stream to the connection in small chunks and closes it when done.
	c.Response().SetBodyStream(&sectionCloser{Reader: io.LimitReader(f, length), c: f, conn: c.Context().Conn()}, int(length))
	return nil
}

// writeIdle is how long a download may make no progress before the connection is dropped. The
// server's write timeout bounds a whole response, which would cut a large zip to a slow client
// short; while the body is streamed, the deadline rolls forward with every chunk instead.
const writeIdle = 60 * time.Second

type sectionCloser struct {
	io.Reader
	c    io.Closer
	conn net.Conn
	next time.Time // when to move the deadline again (at most once a second)
}

func (s *sectionCloser) Read(p []byte) (int, error) {
	if s.conn != nil {
		if now := time.Now(); now.After(s.next) {
			_ = s.conn.SetWriteDeadline(now.Add(writeIdle))
			s.next = now.Add(time.Second)
		}
	}
	return s.Reader.Read(p)
}

func (s *sectionCloser) Close() error { return s.c.Close() }

// etagListMatches is If-None-Match's weak comparison against one strong ETag.
func etagListMatches(header, etag string) bool {
	for _, part := range strings.Split(header, ",") {
		part = strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if part == "*" || part == etag {
			return true
		}
	}
	return false
}

// ifRangeHolds: without If-Range the Range applies; with it, only if it names the current ETag
// (a date validator is not strong enough for a file that may be rebuilt, so it never holds).
func ifRangeHolds(header, etag string) bool {
	return header == "" || header == etag
}

// parseRange reads a single byte range of a file of size bytes. ok is false for a header to
// ignore (malformed, another unit, several ranges); satisfiable is false for a well-formed
// range that lies outside the file.
func parseRange(header string, size int64) (start, length int64, ok, satisfiable bool) {
	spec, found := strings.CutPrefix(header, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false, true
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false, true
	}
	if first == "" { // suffix: the last n bytes
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return 0, 0, false, true
		}
		if n == 0 || size == 0 {
			return 0, 0, false, false
		}
		n = min(n, size)
		return size - n, n, true, true
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
		e, err = strconv.ParseInt(last, 10, 64)
		if err != nil || e < s {
			return 0, 0, false, true
		}
		e = min(e, size-1)
	}
	return s, e - s + 1, true, true
}
