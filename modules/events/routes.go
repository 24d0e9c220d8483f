package events

import (
	"bufio"
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/auth"
	"github.com/atelier-hq/atelier/modules/web"
)

// StreamQuery is the input of GET /events.
type StreamQuery struct {
	Ticket string `query:"ticket" description:"a single-use ticket from POST /events/ticket (valid 30 s)"`
	// EventSource sends Last-Event-ID only when it reconnects by itself, which a used ticket
	// cannot do; a client opening a new stream passes the last id it saw here instead.
	LastEventID string `query:"last_event_id" description:"resume after this event id (or the Last-Event-ID header)"`
}

// Mount registers the event routes.
func Mount(r *web.Router, h *Hub) {
	hd := handler{h: h}
	r.Handle(web.Route{Method: "POST", Path: "/events/ticket", Access: web.AuthOnly(), Tag: "events",
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
	c.Locals(auth.LocalTenant, p.TenantID)
	c.Locals(auth.LocalUser, p.UserID)
	c.Set(fiber.HeaderContentType, "text/event-stream")
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set("X-Accel-Buffering", "no") // proxies must not hold events back
	conn := c.Context().Conn()
	timeout := hd.h.cfg.WriteTimeout
	c.Context().SetBodyStreamWriter(func(w *bufio.Writer) {
		st.Serve(w, func() { _ = conn.SetWriteDeadline(time.Now().Add(timeout)) })
	})
	return nil
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
