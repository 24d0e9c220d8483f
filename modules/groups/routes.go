package groups

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
)

// Mount registers the group routes.
func Mount(r *web.Router, s *Service) {
	h := handler{s: s}
	read, manage := web.Perm(string(rbac.GroupRead)), web.Perm(string(rbac.GroupManage))
	r.Handle(web.Route{Method: "GET", Path: "/groups", Access: read, Tag: "groups",
		Summary: "List the tenant's groups with their member counts", Query: web.PageQuery{},
		Response: web.Page[View]{}, Errors: []int{403}, Handler: h.list})
	r.Handle(web.Route{Method: "POST", Path: "/groups", Access: manage, Tag: "groups",
		Summary: "Create a group (names are unique in the tenant, ignoring case)", Request: CreateInput{},
		Response: View{}, Status: fiber.StatusCreated, Errors: []int{403, 409}, Handler: h.create})
	r.Handle(web.Route{Method: "GET", Path: "/groups/:id", Access: read, Tag: "groups",
		Summary: "Get a group with a page of its members", Query: web.PageQuery{}, Response: Detail{}, Errors: []int{403, 404}, Handler: h.get})
	r.Handle(web.Route{Method: "DELETE", Path: "/groups/:id", Access: manage, Tag: "groups",
		Summary: "Delete a group with its grants and memberships; its members lose what it gave them",
		Status:  fiber.StatusNoContent, Errors: []int{403, 404}, Handler: h.delete})
	r.Handle(web.Route{Method: "POST", Path: "/groups/:id/members", Access: manage, Tag: "groups",
		Summary: "Add a user of the tenant to a group; refused (403) when the group holds more than the caller",
		Request: AddMemberInput{}, Response: MemberView{}, Status: fiber.StatusCreated,
		Errors: []int{403, 404, 409}, Handler: h.addMember})
	r.Handle(web.Route{Method: "DELETE", Path: "/groups/:id/members/:user_id", Access: manage, Tag: "groups",
		Summary: "Remove a member from a group", Status: fiber.StatusNoContent, Errors: []int{403, 404},
		Handler: h.removeMember})
}

type handler struct{ s *Service }

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
	id, err := web.ParamUUID(c, "id", "group")
	if err != nil {
		return err
	}
	page, err := web.ParsePage(c)
	if err != nil {
		return err
	}
	d, err := h.s.Get(c.UserContext(), id, page)
	if err != nil {
		return err
	}
	return c.JSON(d)
}

func (h handler) delete(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "group")
	if err != nil {
		return err
	}
	if err := h.s.Delete(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h handler) addMember(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "group")
	if err != nil {
		return err
	}
	var in AddMemberInput
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	m, err := h.s.AddMember(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(m)
}

func (h handler) removeMember(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "group")
	if err != nil {
		return err
	}
	userID, err := web.ParamUUID(c, "user_id", "member")
	if err != nil {
		return err
	}
	if err := h.s.RemoveMember(c.UserContext(), id, userID); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
