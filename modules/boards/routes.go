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
	r.Handle(web.Route{Method: "GET", Path: "/workspaces/:ws/boards", Access: web.Perm(string(rbac.WorkspaceRead)), Tag: "boards",
		Summary: "Boards of a workspace the caller can read", Query: web.PageQuery{}, Response: web.Page[View]{},
		Errors: []int{404}, Handler: h.list})
	r.Handle(web.Route{Method: "POST", Path: "/workspaces/:ws/boards", Access: web.Perm(string(rbac.BoardCreate)), Tag: "boards",
		Summary: "Create a board (the caller becomes its owner)", Request: CreateInput{}, Response: View{}, Status: 201,
		Errors: []int{403, 404}, Handler: h.create})
	r.Handle(web.Route{Method: "GET", Path: "/me/boards", Access: web.AuthOnly(), Tag: "boards",
		Summary: "Boards the caller is a member of, in every workspace (shared with me), with the caller's role on each",
		Query:   web.PageQuery{}, Response: web.Page[View]{}, Handler: h.mine})
	r.Handle(web.Route{Method: "GET", Path: "/boards/:id", Access: web.Perm("board:read"), Tag: "boards",
		Summary: "A board (members; workspace members if shared or public; admins)", Response: View{},
		Errors: []int{404}, Handler: h.get})
	r.Handle(web.Route{Method: "PATCH", Path: "/boards/:id", Access: web.Perm("board:update"), Tag: "boards",
		Summary: "Rename or describe (owner, editor); set visibility, published or owner_id (owner)", Request: UpdateInput{},
		Response: View{}, Errors: []int{403, 404}, Handler: h.update})
	r.Handle(web.Route{Method: "DELETE", Path: "/boards/:id", Access: web.Perm("board:delete"), Tag: "boards",
		Summary: "Delete a board (owner); its images become uncategorised, or go too with ?delete_images=true",
		Status:  204, Errors: []int{403, 404}, Handler: h.delete})
	r.Handle(web.Route{Method: "POST", Path: "/boards/:id/move", Access: web.Perm(string(rbac.BoardAdmin)), Tag: "boards",
		Summary: "Move a board and its images to another workspace (admins of both)", Request: MoveInput{}, Response: View{},
		Errors: []int{403, 404}, Handler: h.move})
	r.Handle(web.Route{Method: "GET", Path: "/boards/:id/members", Access: web.Perm("board:members"), Tag: "boards",
		Summary: "Members of a board (members and admins)", Query: web.PageQuery{}, Response: web.Page[MemberView]{}, Errors: []int{403, 404}, Handler: h.members})
	r.Handle(web.Route{Method: "POST", Path: "/boards/:id/members", Access: web.Perm("board:members"), Tag: "boards",
		Summary: "Add a member (owner: any role; editor: viewers and editors)", Request: AddMemberInput{}, Response: MemberView{},
		Status: 201, Errors: []int{403, 404, 409}, Handler: h.addMember})
	r.Handle(web.Route{Method: "PATCH", Path: "/boards/:id/members/:user_id", Access: web.Perm("board:members"), Tag: "boards",
		Summary: "Change a member's role (owner)", Request: RoleInput{}, Response: MemberView{}, Errors: []int{403, 404},
		Handler: h.changeRole})
	r.Handle(web.Route{Method: "DELETE", Path: "/boards/:id/members/:user_id", Access: web.Perm("board:members"), Tag: "boards",
		Summary: "Remove a member (owner: anyone but the owner; editor: viewers)", Status: 204, Errors: []int{403, 404},
		Handler: h.removeMember})
}

type handler struct{ s *Service }

func (h handler) list(c *fiber.Ctx) error {
	page, err := web.ParsePage(c)
	if err != nil {
		return err
	}
	rows, err := h.s.List(c.UserContext(), c.Params("ws"), page.After, page.Limit+1)
	if err != nil {
		return err
	}
	return c.JSON(web.NewPage(rows, page.Limit, func(v View) uuid.UUID { return v.ID }))
}

func (h handler) mine(c *fiber.Ctx) error {
	page, err := web.ParsePage(c)
	if err != nil {
		return err
	}
	rows, err := h.s.Mine(c.UserContext(), page.After, page.Limit+1)
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
	v, err := h.s.Create(c.UserContext(), c.Params("ws"), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(v)
}

func (h handler) get(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "board")
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
	id, err := web.ParamUUID(c, "id", "board")
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

func (h handler) members(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "board")
	if err != nil {
		return err
	}
	page, err := web.ParsePage(c)
	if err != nil {
		return err
	}
	v, err := h.s.Members(c.UserContext(), id, page.After, page.Limit+1)
	if err != nil {
		return err
	}
	return c.JSON(web.NewPage(v, page.Limit, func(m MemberView) uuid.UUID { return m.UserID }))
}

func (h handler) addMember(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "board")
	if err != nil {
		return err
	}
	var in AddMemberInput
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	v, err := h.s.AddMember(c.UserContext(), id, in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(v)
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

func (h handler) removeMember(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "board")
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
