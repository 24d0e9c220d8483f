package users

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
)

// Mount registers the user routes.
func Mount(r *web.Router, s *Service) {
	h := handler{s: s}
	r.Handle(web.Route{Method: "GET", Path: "/me", Access: web.AuthOnly(), Tag: "users",
		Summary: "The caller, with their tenant-wide roles", Response: View{}, Handler: h.me})
	r.Handle(web.Route{Method: "GET", Path: "/users", Access: web.Perm(rbac.UserRead), Tag: "users",
		Summary: "List the tenant's users", Query: web.PageQuery{}, Response: web.Page[View]{},
		Errors: []int{403}, Handler: web.List(s.List, viewID)})
	r.Handle(web.Route{Method: "POST", Path: "/users", Access: web.Perm(rbac.UserCreate), Tag: "users",
		Summary: "Create a user in the tenant", Request: CreateInput{}, Response: View{}, Status: 201,
		Errors: []int{403, 409}, Handler: web.Create(s.Create)})
	r.Handle(web.Route{Method: "GET", Path: "/users/:id", Access: web.Perm(rbac.UserRead), Tag: "users",
		Summary: "Get a user (anyone may get themselves)", Response: View{}, Errors: []int{403, 404},
		Handler: web.Get(web.ID("id", "user"), s.Get)})
	r.Handle(web.Route{Method: "PATCH", Path: "/users/:id", Access: web.Perm(rbac.UserUpdate), Tag: "users",
		Summary: "Rename, change the tenant role of, or disable a user", Request: UpdateInput{}, Response: View{},
		Errors: []int{403, 404, 409}, Handler: web.Update(web.ID("id", "user"), s.Update)})
}

type handler struct{ s *Service }

func (h handler) me(c *fiber.Ctx) error {
	v, err := h.s.Me(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func viewID(v View) uuid.UUID { return v.ID }
