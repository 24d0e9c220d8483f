package events

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/web"
)

// StreamQuery is the input of GET /events.
type StreamQuery struct {
	Ticket string `query:"ticket" description:"a single-use ticket from POST /events/ticket (valid 30 s)"`
	// EventSource sends Last-Event-ID only when it reconnects by itself, which a used ticket
	// cannot do; a client opening a new stream passes the last id it saw here instead.
	LastEventID string `query:"last_event_id" description:"resume after this event id (or the Last-Event-ID header)"`
}

// TicketPath is the ticket route below the API prefix. Minting a ticket only leads to reading,
// so a read-only personal access token may call it (app wires the exception).
const TicketPath = "/events/ticket"

// Mount registers the event routes.
func Mount(r *web.Router, h *Hub) {
	hd := handler{h: h}
	r.Handle(web.Route{Method: "POST", Path: TicketPath, Access: web.AuthOnly(), Tag: "events",
		Summary:  "A single-use ticket to open the event stream, valid 30 s, bound to the caller's user, tenant and session",
		Response: Ticket{}, Status: 201, Errors: []int{403, 503}, Handler: hd.ticket})
	r.Handle(web.Route{Method: "GET", Path: "/events", Access: web.Public(), Tag: "events",
		Summary: "The caller's event stream (text/event-stream), authenticated by its ticket: item events of the " +
			"caller's own items (and, for admins, of their workspaces) and tenant-wide counts",
		Query: StreamQuery{}, Errors: []int{401, 503}, Handler: hd.stream})
}

type handler struct{ h *Hub }

func (hd handler) ticket(c *fiber.Ctx) error {
	t, err := hd.h.IssueTicket(c.UserContext())
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(t)
}

func (hd handler) stream(c *fiber.Ctx) error {
	lastID, hasLast, err := lastEventID(c)
	if err != nil {
		return err
	}
	st, err := hd.h.Open(c.UserContext(), c.Query("ticket"), lastID, hasLast)
	if err != nil {
		return err
	}
	p := st.sub.p
	c.Locals(web.LocalTenant, p.TenantID)
	c.Locals(web.LocalUser, p.UserID)
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no") // proxies must not hold events back
	// The stream takes the connection over once the handler chain has answered (the access log
	// has its 200). Held by fasthttp's streamed body instead (SetBodyStreamWriter: a pipe, a copy
	// goroutine, two more 4 KiB buffers) an idle stream cost ~40 KiB; hijacked, it is the
	// connection's read buffer, its context and one small goroutine.
	fctx := c.Context()
	fctx.Response.Header.SetContentLength(-1) // chunked
	fctx.Response.Header.SetConnectionClose()
	head := bytes.Clone(fctx.Response.Header.Header())
	timeout := hd.h.cfg.WriteTimeout
	fctx.HijackSetNoResponse(true)
	fctx.Hijack(func(conn net.Conn) {
		cw := &chunkWriter{conn: conn, timeout: timeout}
		if err := cw.raw(head); err != nil {
			st.Close()
			return
		}
		st.Serve(bufio.NewWriterSize(cw, streamBufferSize), nil)
		_ = cw.raw(lastChunk)
	})
	return nil
}

// streamBufferSize is the per-stream write buffer: an event is written through it and flushed
// at once, so it only needs to gather the few short lines of one message.
const streamBufferSize = 512

var (
	crlf      = []byte("\r\n")
	lastChunk = []byte("0\r\n\r\n")
)

// chunkWriter writes each flush of a stream as one HTTP/1.1 chunk, under a write deadline: a
// stuck client fails the write, which ends the stream.
type chunkWriter struct {
	conn     net.Conn
	timeout  time.Duration
	deadline time.Time // the write deadline in force
	buf      []byte
}

func (w *chunkWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	w.buf = strconv.AppendInt(w.buf[:0], int64(len(p)), 16)
	w.buf = append(append(append(w.buf, crlf...), p...), crlf...)
	err := w.raw(w.buf)
	if cap(w.buf) > streamBufferSize*2 {
		w.buf = nil // an idle stream keeps no large event's buffer
	}
	if err != nil {
		return 0, err
	}
	return len(p), nil
}

// raw writes b at once. The deadline is moved only when half of it has passed: every write
// still has between timeout/2 and timeout to complete, without re-arming a timer per event.
func (w *chunkWriter) raw(b []byte) error {
	if now := time.Now(); w.deadline.Sub(now) < w.timeout/2 {
		w.deadline = now.Add(w.timeout)
		_ = w.conn.SetWriteDeadline(w.deadline)
	}
	_, err := w.conn.Write(b)
	return err
}

// lastEventID reads where the client wants to resume: the Last-Event-ID header, else the
// last_event_id parameter.
func lastEventID(c *fiber.Ctx) (int64, bool, error) {
	field, raw := "Last-Event-ID", c.Get("Last-Event-ID")
	if raw == "" {
		field, raw = "last_event_id", c.Query("last_event_id")
	}
	if raw == "" {
		return 0, false, nil
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 0 {
		return 0, false, apierr.Invalid(field, "must be an event id (a non-negative integer)")
	}
	return id, true, nil
}
