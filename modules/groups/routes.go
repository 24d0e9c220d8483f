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
	read, manage := web.Perm(rbac.GroupRead), web.Perm(rbac.GroupManage)
	r.Handle(web.Route{Method: "GET", Path: "/groups", Access: read, Tag: "groups",
		Summary: "List the tenant's groups with their member counts", Query: web.PageQuery{},
		Response: web.Page[View]{}, Errors: []int{403}, Handler: web.List(s.List, viewID)})
	r.Handle(web.Route{Method: "POST", Path: "/groups", Access: manage, Tag: "groups",
		Summary: "Create a group (names are unique in the tenant, ignoring case)", Request: CreateInput{},
		Response: View{}, Status: fiber.StatusCreated, Errors: []int{403, 409}, Handler: web.Create(s.Create)})
	r.Handle(web.Route{Method: "GET", Path: "/groups/:id", Access: read, Tag: "groups",
		Summary: "Get a group with a page of its members", Query: web.PageQuery{}, Response: Detail{}, Errors: []int{403, 404}, Handler: h.get})
	r.Handle(web.Route{Method: "DELETE", Path: "/groups/:id", Access: manage, Tag: "groups",
		Summary: "Delete a group with its grants and memberships; its members lose what it gave them",
		Status:  fiber.StatusNoContent, Errors: []int{403, 404}, Handler: web.Delete(web.ID("id", "group"), s.Delete)})
	r.Handle(web.Route{Method: "POST", Path: "/groups/:id/members", Access: manage, Tag: "groups",
		Summary: "Add a user of the tenant to a group; refused (403) when the group holds more than the caller",
		Request: AddMemberInput{}, Response: MemberView{}, Status: fiber.StatusCreated,
		Errors: []int{403, 404, 409}, Handler: web.CreateUnder(web.ID("id", "group"), s.AddMember)})
	r.Handle(web.Route{Method: "DELETE", Path: "/groups/:id/members/:user_id", Access: manage, Tag: "groups",
		Summary: "Remove a member from a group", Status: fiber.StatusNoContent, Errors: []int{403, 404},
		Handler: web.DeleteUnder(web.ID("id", "group"), web.ID("user_id", "member"), s.RemoveMember)})
}

type handler struct{ s *Service }

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

func viewID(v View) uuid.UUID { return v.ID }
