package boards

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
)

// Mount registers the board routes. Board-level rights come from SPEC §6's table (membership,
// visibility, workspace membership and admin rights), decided in the service.
func Mount(r *web.Router, s *Service) {
	h := handler{s: s}
	r.Handle(web.Route{Method: "GET", Path: "/workspaces/:ws/boards", Access: web.Perm(rbac.WorkspaceRead), Tag: "boards",
		Summary: "Boards of a workspace the caller can read", Query: web.PageQuery{}, Response: web.Page[View]{},
		Errors: []int{404}, Handler: web.ListBy(web.Param("ws"), s.List, viewID)})
	r.Handle(web.Route{Method: "POST", Path: "/workspaces/:ws/boards", Access: web.Perm(rbac.BoardCreate), Tag: "boards",
		Summary: "Create a board (the caller becomes its owner)", Request: CreateInput{}, Response: View{}, Status: 201,
		Errors: []int{403, 404}, Handler: web.CreateUnder(web.Param("ws"), s.Create)})
	r.Handle(web.Route{Method: "GET", Path: "/me/boards", Access: web.AuthOnly(), Tag: "boards",
		Summary: "Boards the caller is a member of, in every workspace (shared with me), with the caller's role on each",
		Query:   web.PageQuery{}, Response: web.Page[View]{}, Handler: web.List(s.Mine, viewID)})
	r.Handle(web.Route{Method: "GET", Path: "/boards/:id", Access: web.Perm(rbac.BoardRead), Tag: "boards",
		Summary: "A board (members; workspace members if shared or public; admins)", Response: View{},
		Errors: []int{404}, Handler: web.Get(web.ID("id", "board"), s.Get)})
	r.Handle(web.Route{Method: "PATCH", Path: "/boards/:id", Access: web.Perm(rbac.BoardUpdate), Tag: "boards",
		Summary: "Rename or describe (owner, editor); set visibility, published or owner_id (owner)", Request: UpdateInput{},
		Response: View{}, Errors: []int{403, 404}, Handler: web.Update(web.ID("id", "board"), s.Update)})
	r.Handle(web.Route{Method: "DELETE", Path: "/boards/:id", Access: web.Perm(rbac.BoardDelete), Tag: "boards",
		Summary: "Delete a board (owner); its images become uncategorised, or go too with ?delete_images=true",
		Status:  204, Errors: []int{403, 404}, Handler: h.delete})
	r.Handle(web.Route{Method: "POST", Path: "/boards/:id/move", Access: web.Perm(rbac.BoardAdmin), Tag: "boards",
		Summary: "Move a board and its images to another workspace (admins of both)", Request: MoveInput{}, Response: View{},
		Errors: []int{403, 404}, Handler: h.move})
	r.Handle(web.Route{Method: "GET", Path: "/boards/:id/members", Access: web.Perm(rbac.BoardMembers), Tag: "boards",
		Summary: "Members of a board (members and admins)", Query: web.PageQuery{}, Response: web.Page[MemberView]{},
		Errors: []int{403, 404}, Handler: web.ListBy(web.ID("id", "board"), s.Members, memberID)})
	r.Handle(web.Route{Method: "POST", Path: "/boards/:id/members", Access: web.Perm(rbac.BoardMembers), Tag: "boards",
		Summary: "Add a member (owner: any role; editor: viewers and editors)", Request: AddMemberInput{}, Response: MemberView{},
		Status: 201, Errors: []int{403, 404, 409}, Handler: web.CreateUnder(web.ID("id", "board"), s.AddMember)})
	r.Handle(web.Route{Method: "PATCH", Path: "/boards/:id/members/:user_id", Access: web.Perm(rbac.BoardMembers), Tag: "boards",
		Summary: "Change a member's role (owner)", Request: RoleInput{}, Response: MemberView{}, Errors: []int{403, 404},
		Handler: h.changeRole})
	r.Handle(web.Route{Method: "DELETE", Path: "/boards/:id/members/:user_id", Access: web.Perm(rbac.BoardMembers), Tag: "boards",
		Summary: "Remove a member (owner: anyone but the owner; editor: viewers)", Status: 204, Errors: []int{403, 404},
		Handler: web.DeleteUnder(web.ID("id", "board"), web.ID("user_id", "member"), s.RemoveMember)})
}

type handler struct{ s *Service }

func (h handler) delete(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "board")
	if err != nil {
		return err
	}
	deleteImages := false
	switch c.Query("delete_images") {
	case "", "false":
	case "true":
		deleteImages = true
	default:
		return apierr.Invalid("delete_images", "must be true or false")
	}
	if err := h.s.Delete(c.UserContext(), id, deleteImages); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h handler) move(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "board")
	if err != nil {
		return err
	}
	var in MoveInput
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	v, err := h.s.Move(c.UserContext(), id, in.WorkspaceID)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (h handler) changeRole(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "board")
	if err != nil {
		return err
	}
	userID, err := web.ParamUUID(c, "user_id", "member")
	if err != nil {
		return err
	}
	var in RoleInput
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	v, err := h.s.ChangeRole(c.UserContext(), id, userID, in.Role)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func viewID(v View) uuid.UUID         { return v.ID }
func memberID(m MemberView) uuid.UUID { return m.UserID }
