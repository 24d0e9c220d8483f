package users

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
)

// Mount registers the user routes.
func Mount(r *web.Router, s *Service) {
	h := handler{s: s}
	r.Handle(web.Route{Method: "GET", Path: "/me", Access: web.AuthOnly(), Tag: "users",
		Summary: "The caller, with their tenant-wide roles", Response: View{}, Handler: h.me})
	r.Handle(web.Route{Method: "GET", Path: "/users", Access: web.Perm(string(rbac.UserRead)), Tag: "users",
		Summary: "List the tenant's users", Query: web.PageQuery{}, Response: web.Page[View]{},
		Errors: []int{403}, Handler: h.list})
	r.Handle(web.Route{Method: "POST", Path: "/users", Access: web.Perm(string(rbac.UserCreate)), Tag: "users",
		Summary: "Create a user in the tenant", Request: CreateInput{}, Response: View{}, Status: 201,
		Errors: []int{403, 409}, Handler: h.create})
	r.Handle(web.Route{Method: "GET", Path: "/users/:id", Access: web.Perm(string(rbac.UserRead)), Tag: "users",
		Summary: "Get a user (anyone may get themselves)", Response: View{}, Errors: []int{403, 404}, Handler: h.get})
	r.Handle(web.Route{Method: "PATCH", Path: "/users/:id", Access: web.Perm(string(rbac.UserUpdate)), Tag: "users",
		Summary: "Rename, change the tenant role of, or disable a user", Request: UpdateInput{}, Response: View{},
		Errors: []int{403, 404, 409}, Handler: h.update})
}

type handler struct{ s *Service }

func (h handler) me(c *fiber.Ctx) error {
	v, err := h.s.Me(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(v)
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

func (h handler) create(c *fiber.Ctx) error {
	var in CreateInput
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	v, err := h.s.Create(c.UserContext(), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(v)
}

func (h handler) get(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "user")
	if err != nil {
		return err
	}
	v, err := h.s.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (h handler) update(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "user")
	if err != nil {
		return err
	}
	var in UpdateInput
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if in == (UpdateInput{}) {
		return apierr.Invalid("body", "nothing to change")
	}
	v, err := h.s.Update(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	return c.JSON(v)
}
