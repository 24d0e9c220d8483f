package roles

import (
	"github.com/gofiber/fiber/v2"

	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
)

// Mount registers the role routes. Changing or deleting a built-in role answers 409: the request
// is well-formed and allowed, but clashes with what a built-in role is.
func Mount(r *web.Router, s *Service) {
	h := handler{s: s}
	r.Handle(web.Route{Method: "GET", Path: "/roles", Access: web.Perm(rbac.RoleRead), Tag: "roles",
		Summary:  "List the tenant's roles, built-in and custom, by name (all in one page)",
		Response: web.Page[View]{}, Errors: []int{403}, Handler: h.list})
	r.Handle(web.Route{Method: "POST", Path: "/roles", Access: web.Perm(rbac.RoleManage), Tag: "roles",
		Summary: "Define a custom role; the caller must hold each of its permissions on the tenant root",
		Request: CreateInput{}, Response: View{}, Status: fiber.StatusCreated, Errors: []int{403, 409}, Handler: web.Create(s.Create)})
	r.Handle(web.Route{Method: "PATCH", Path: "/roles/:id", Access: web.Perm(rbac.RoleManage), Tag: "roles",
		Summary: "Change a custom role's description or permissions (effective at once); built-in roles: 409",
		Request: UpdateInput{}, Response: View{}, Errors: []int{403, 404, 409}, Handler: web.Update(web.ID("id", "role"), s.Update)})
	r.Handle(web.Route{Method: "DELETE", Path: "/roles/:id", Access: web.Perm(rbac.RoleManage), Tag: "roles",
		Summary: "Delete a custom role nobody holds; built-in or still granted: 409",
		Status:  fiber.StatusNoContent, Errors: []int{403, 404, 409}, Handler: web.Delete(web.ID("id", "role"), s.Delete)})
}

type handler struct{ s *Service }

func (h handler) list(c *fiber.Ctx) error {
	rows, err := h.s.List(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(web.Page[View]{Items: rows})
}
