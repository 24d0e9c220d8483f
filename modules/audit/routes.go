package audit

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
)

// maxFilter bounds a text filter.
const maxFilter = 300

// Mount registers the audit routes.
func Mount(r *web.Router, s *Service) {
	h := handler{s: s}
	r.Handle(web.Route{Method: "GET", Path: "/audit", Access: web.Perm(rbac.AuditRead), Tag: "audit",
		Summary: "Query the tenant's audit log, newest first (tenant admins and auditors)",
		Query:   ListQuery{}, Response: web.Page[View]{}, Errors: []int{403}, Handler: h.list})
}

type handler struct{ s *Service }

func (h handler) list(c *fiber.Ctx) error {
	page, err := web.ParsePage(c)
	if err != nil {
		return err
	}
	f, err := parseFilter(c)
	if err != nil {
		return err
	}
	rows, err := h.s.List(c.UserContext(), f, page.After, page.Limit+1)
	if err != nil {
		return err
	}
	return c.JSON(web.NewPage(rows, page.Limit, func(v View) uuid.UUID { return v.ID }))
}

// parseFilter reads the listing's filters, refusing bad values with the field at fault.
func parseFilter(c *fiber.Ctx) (Filter, error) {
	var f Filter
	for _, p := range []struct {
		name string
		dst  *string
	}{{"subject", &f.Subject}, {"action", &f.Action}, {"object", &f.Object}, {"result", &f.Result}} {
		v := c.Query(p.name)
		if len(v) > maxFilter || !utf8.ValidString(v) || strings.IndexByte(v, 0) >= 0 {
			return f, apierr.Invalid(p.name, "must be valid text of at most 300 bytes")
		}
		*p.dst = v
	}
	if id, err := uuid.Parse(f.Subject); err == nil {
		f.Subject = rbac.UserSubject(id)
	}
	if f.Result != "" && f.Result != ResultAllow && f.Result != ResultDeny {
		return f, apierr.Invalid("result", "must be allow or deny")
	}
	var err error
	if f.From, err = parseTime(c, "from"); err != nil {
		return f, err
	}
	if f.To, err = parseTime(c, "to"); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && f.To.Before(f.From) {
		return f, apierr.Invalid("to", "must not be before from")
	}
	return f, nil
}

func parseTime(c *fiber.Ctx, name string) (time.Time, error) {
	raw := c.Query(name)
	if raw == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		return time.Time{}, apierr.Invalid(name, "must be an RFC 3339 time, e.g. 2024-05-01T12:00:00Z")
	}
	return t.UTC(), nil
}
