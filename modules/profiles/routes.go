package profiles

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
)

// Mount registers the profile routes. `:ws` is a workspace id, its path with / written as ~, or
// ~ alone for the tenant root.
func Mount(r *web.Router, s *Service) {
	h := handler{s: s}
	r.Handle(web.Route{Method: "GET", Path: "/profile-types", Access: web.AuthOnly(), Tag: "profiles",
		Summary:  "The profile types, with a description of their settings and defaults",
		Response: web.Page[TypeView]{}, Handler: h.types})
	r.Handle(web.Route{Method: "GET", Path: "/profiles", Access: web.Perm(rbac.ProfileRead), Tag: "profiles",
		Summary: "List the tenant's profiles (profile:read on the tenant root)", Query: ListQuery{},
		Response: web.Page[View]{}, Errors: []int{403}, Handler: web.ListBy(web.Query("type"), s.List, viewID)})
	r.Handle(web.Route{Method: "POST", Path: "/profiles", Access: web.Perm(rbac.ProfileManage), Tag: "profiles",
		Summary: "Create a profile (profile:manage on the tenant root); settings are validated against the type",
		Request: CreateInput{}, Response: View{}, Status: fiber.StatusCreated, Errors: []int{403, 409}, Handler: web.Create(s.Create)})
	r.Handle(web.Route{Method: "PATCH", Path: "/profiles/:id", Access: web.Perm(rbac.ProfileManage), Tag: "profiles",
		Summary: "Rename, describe or re-set a profile (profile:manage on the tenant root); takes effect at once",
		Request: UpdateInput{}, Response: View{}, Errors: []int{403, 404, 409},
		Handler: web.Update(web.ID("id", "profile"), s.Update)})
	r.Handle(web.Route{Method: "DELETE", Path: "/profiles/:id", Access: web.Perm(rbac.ProfileManage), Tag: "profiles",
		Summary: "Delete a profile and all its assignments (profile:manage on the tenant root)",
		Status:  fiber.StatusNoContent, Errors: []int{403, 404}, Handler: web.Delete(web.ID("id", "profile"), s.Delete)})
	r.Handle(web.Route{Method: "PUT", Path: "/workspaces/:ws/profiles/:type", Access: web.Perm(rbac.ProfileManage), Tag: "profiles",
		Summary: "Assign a profile of the type to the workspace (~: the tenant root), replacing the type's assignment " +
			"there (profile:manage on the node, and on the ancestor the type's profile in force comes from)",
		Request: AssignInput{}, Response: AssignmentView{}, Errors: []int{403, 404}, Handler: h.assign})
	r.Handle(web.Route{Method: "DELETE", Path: "/workspaces/:ws/profiles/:type", Access: web.Perm(rbac.ProfileManage), Tag: "profiles",
		Summary: "Unassign the type's profile from the workspace (~: the tenant root); it inherits from above again",
		Status:  fiber.StatusNoContent, Errors: []int{403, 404},
		Handler: web.DeleteUnder(web.Param("ws"), web.Param("type"), s.Unassign)})
	r.Handle(web.Route{Method: "GET", Path: "/workspaces/:ws/effective-profiles", Access: web.Perm(rbac.WorkspaceRead), Tag: "profiles",
		Summary: "For every profile type, the profile in force on the workspace (~: the tenant root) and the node it " +
			"comes from; whoever may read the workspace may see what governs it",
		Response: EffectiveView{}, Errors: []int{403, 404}, Handler: web.Get(web.Param("ws"), s.EffectiveAt)})
}

type handler struct{ s *Service }

func (h handler) types(c *fiber.Ctx) error {
	return c.JSON(web.Page[TypeView]{Items: h.s.Types()})
}

func (h handler) assign(c *fiber.Ctx) error {
	var in AssignInput
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	v, err := h.s.Assign(c.UserContext(), c.Params("ws"), c.Params("type"), in)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func viewID(v View) uuid.UUID { return v.ID }
