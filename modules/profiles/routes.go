package profiles

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/apierr"
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
	r.Handle(web.Route{Method: "GET", Path: "/profiles", Access: web.Perm(string(rbac.ProfileRead)), Tag: "profiles",
		Summary: "List the tenant's profiles (profile:read on the tenant root)", Query: ListQuery{},
		Response: web.Page[View]{}, Errors: []int{403}, Handler: h.list})
	r.Handle(web.Route{Method: "POST", Path: "/profiles", Access: web.Perm(string(rbac.ProfileManage)), Tag: "profiles",
		Summary: "Create a profile (profile:manage on the tenant root); settings are validated against the type",
		Request: CreateInput{}, Response: View{}, Status: fiber.StatusCreated, Errors: []int{403, 409}, Handler: h.create})
	r.Handle(web.Route{Method: "PATCH", Path: "/profiles/:id", Access: web.Perm(string(rbac.ProfileManage)), Tag: "profiles",
		Summary: "Rename, describe or re-set a profile (profile:manage on the tenant root); takes effect at once",
		Request: UpdateInput{}, Response: View{}, Errors: []int{403, 404, 409}, Handler: h.update})
	r.Handle(web.Route{Method: "DELETE", Path: "/profiles/:id", Access: web.Perm(string(rbac.ProfileManage)), Tag: "profiles",
		Summary: "Delete a profile and all its assignments (profile:manage on the tenant root)",
		Status:  fiber.StatusNoContent, Errors: []int{403, 404}, Handler: h.delete})
	r.Handle(web.Route{Method: "PUT", Path: "/workspaces/:ws/profiles/:type", Access: web.Perm(string(rbac.ProfileManage)), Tag: "profiles",
		Summary: "Assign a profile of the type to the workspace (~: the tenant root), replacing the type's assignment " +
			"there (profile:manage on the node, and on the ancestor the type's profile in force comes from)",
		Request: AssignInput{}, Response: AssignmentView{}, Errors: []int{403, 404}, Handler: h.assign})
	r.Handle(web.Route{Method: "DELETE", Path: "/workspaces/:ws/profiles/:type", Access: web.Perm(string(rbac.ProfileManage)), Tag: "profiles",
		Summary: "Unassign the type's profile from the workspace (~: the tenant root); it inherits from above again",
		Status:  fiber.StatusNoContent, Errors: []int{403, 404}, Handler: h.unassign})
	r.Handle(web.Route{Method: "GET", Path: "/workspaces/:ws/effective-profiles", Access: web.Perm(string(rbac.WorkspaceRead)), Tag: "profiles",
		Summary: "For every profile type, the profile in force on the workspace (~: the tenant root) and the node it " +
			"comes from; whoever may read the workspace may see what governs it",
		Response: EffectiveView{}, Errors: []int{403, 404}, Handler: h.effective})
}

type handler struct{ s *Service }

func (h handler) types(c *fiber.Ctx) error {
	return c.JSON(web.Page[TypeView]{Items: h.s.Types()})
}

func (h handler) list(c *fiber.Ctx) error {
	page, err := web.ParsePage(c)
	if err != nil {
		return err
	}
	rows, err := h.s.List(c.UserContext(), c.Query("type"), page.After, page.Limit+1)
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

func (h handler) update(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "profile")
	if err != nil {
		return err
	}
	var in UpdateInput
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if in.Name == nil && in.Description == nil && in.Settings == nil {
		return apierr.Invalid("body", "nothing to change")
	}
	v, err := h.s.Update(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (h handler) delete(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "profile")
	if err != nil {
		return err
	}
	if err := h.s.Delete(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
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

func (h handler) unassign(c *fiber.Ctx) error {
	if err := h.s.Unassign(c.UserContext(), c.Params("ws"), c.Params("type")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h handler) effective(c *fiber.Ctx) error {
	v, err := h.s.EffectiveAt(c.UserContext(), c.Params("ws"))
	if err != nil {
		return err
	}
	return c.JSON(v)
}
