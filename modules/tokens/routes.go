package tokens

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
)

// Mount registers the token routes.
func Mount(r *web.Router, s *Service) {
	h := handler{s: s}
	r.Handle(web.Route{Method: "POST", Path: "/me/tokens", Access: web.AuthOnly(), Tag: "tokens",
		Summary: "Create a personal access token; the secret is in this answer only (interactive sessions only)",
		Request: CreateInput{}, Response: Created{}, Status: 201, Errors: []int{403}, Handler: h.create})
	r.Handle(web.Route{Method: "GET", Path: "/me/tokens", Access: web.AuthOnly(), Tag: "tokens",
		Summary: "List the caller's personal access tokens (never their secrets)", Query: web.PageQuery{},
		Response: web.Page[View]{}, Handler: h.list})
	r.Handle(web.Route{Method: "DELETE", Path: "/me/tokens/:id", Access: web.AuthOnly(), Tag: "tokens",
		Summary: "Revoke one of the caller's tokens (anyone else's answers 404)", Status: 204,
		Errors: []int{403, 404}, Handler: h.revoke})
	r.Handle(web.Route{Method: "GET", Path: "/me/tokens/:id/access-log", Access: web.AuthOnly(), Tag: "tokens",
		Summary: "Requests made with one of the caller's tokens, newest first", Query: web.PageQuery{},
		Response: web.Page[LogView]{}, Errors: []int{404}, Handler: h.accessLog})
	r.Handle(web.Route{Method: "GET", Path: "/admin/tokens", Access: web.Perm(string(rbac.TokenRead)), Tag: "tokens",
		Summary: "Every personal access token of the tenant with its owner (tenant admins and auditors)",
		Query:   web.PageQuery{}, Response: web.Page[AdminView]{}, Errors: []int{403}, Handler: h.listAll})
	r.Handle(web.Route{Method: "DELETE", Path: "/admin/tokens/:id", Access: web.Perm(string(rbac.TokenManage)), Tag: "tokens",
		Summary: "Revoke any personal access token of the tenant (tenant admins)", Status: 204,
		Errors: []int{403, 404}, Handler: h.revokeAny})
}

type handler struct{ s *Service }

func (h handler) create(c *fiber.Ctx) error {
	var in CreateInput
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	out, err := h.s.Create(c.UserContext(), in)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(out)
}

func (h handler) list(c *fiber.Ctx) error {
	page, err := web.ParsePage(c)
	if err != nil {
		return err
	}
	rows, err := h.s.List(c.UserContext(), page.After, page.Limit+1)
	if err != nil {
		return err
	}
	return c.JSON(web.NewPage(rows, page.Limit, func(v View) uuid.UUID { return v.ID }))
}

func (h handler) revoke(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "token")
	if err != nil {
		return err
	}
	if err := h.s.Revoke(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h handler) accessLog(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "token")
	if err != nil {
		return err
	}
	page, err := web.ParsePage(c)
	if err != nil {
		return err
	}
	rows, err := h.s.AccessLog(c.UserContext(), id, page.After, page.Limit+1)
	if err != nil {
		return err
	}
	return c.JSON(web.NewPage(rows, page.Limit, func(v LogView) uuid.UUID { return v.ID }))
}

func (h handler) listAll(c *fiber.Ctx) error {
	page, err := web.ParsePage(c)
	if err != nil {
		return err
	}
	rows, err := h.s.ListAll(c.UserContext(), page.After, page.Limit+1)
	if err != nil {
		return err
	}
	return c.JSON(web.NewPage(rows, page.Limit, func(v AdminView) uuid.UUID { return v.ID }))
}

func (h handler) revokeAny(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "token")
	if err != nil {
		return err
	}
	if err := h.s.RevokeAny(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
