package workspaces

import (
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
)

// Mount registers the workspace and grant routes. `:ws` is a workspace id or its path with `/`
// written as `~` (msa~suit~andromeda); on the grant routes `~` alone is the tenant root.
func Mount(r *web.Router, s *Service) {
	h := handler{s: s}
	r.Handle(web.Route{Method: "GET", Path: "/workspaces", Access: web.Perm(rbac.WorkspaceRead), Tag: "workspaces",
		Summary: "List the workspaces the caller may read (every subtree they hold workspace:read in), in id order",
		Query:   ListQuery{}, Response: web.Page[View]{}, Errors: []int{404},
		Handler: web.ListBy(web.Query("parent"), s.List, viewID)})
	r.Handle(web.Route{Method: "POST", Path: "/workspaces", Access: web.Perm(rbac.WorkspaceCreate), Tag: "workspaces",
		Summary: "Create a workspace under parent_id (workspace:create on the parent) or at the tenant root (on the root)",
		Request: CreateInput{}, Response: View{}, Status: 201, Errors: []int{403, 409}, Handler: web.Create(s.Create)})
	r.Handle(web.Route{Method: "GET", Path: "/workspaces/:ws", Access: web.Perm(rbac.WorkspaceRead), Tag: "workspaces",
		Summary: "Get a workspace by id or path (msa~suit~andromeda)", Response: View{}, Errors: []int{404},
		Handler: web.Get(web.Param("ws"), s.Get)})
	r.Handle(web.Route{Method: "PATCH", Path: "/workspaces/:ws", Access: web.Perm(rbac.WorkspaceUpdate), Tag: "workspaces",
		Summary: "Rename or describe a workspace (workspace:update); a new slug or parent_id moves it with its subtree " +
			"(workspace:move on its current parent and on the destination)",
		Request: UpdateInput{}, Response: View{}, Errors: []int{403, 404, 409}, Handler: h.update})
	r.Handle(web.Route{Method: "DELETE", Path: "/workspaces/:ws", Access: web.Perm(rbac.WorkspaceDelete), Tag: "workspaces",
		Summary: "Delete a workspace (workspace:delete on its parent: an admin granted on a workspace cannot delete it); refused while it has child workspaces " +
			"or holds objects unless ?cascade=true; never the default workspace",
		Query: DeleteQuery{}, Status: 204, Errors: []int{403, 404, 409}, Handler: h.delete})

	r.Handle(web.Route{Method: "GET", Path: "/workspaces/:ws/grants", Access: web.Perm(rbac.GrantRead), Tag: "grants",
		Summary: "List the grants made on a workspace, or on the tenant root when :ws is ~, newest first",
		Query:   web.PageQuery{}, Response: web.Page[GrantView]{}, Errors: []int{403, 404},
		Handler: web.ListBy(web.Param("ws"), s.ListGrants, grantID)})
	r.Handle(web.Route{Method: "POST", Path: "/workspaces/:ws/grants", Access: web.Perm(rbac.GrantManage), Tag: "grants",
		Summary: "Grant a role to a user or group on a workspace, or on the tenant root when :ws is ~; the caller must " +
			"hold every permission of the role there",
		Request: GrantInput{}, Response: GrantView{}, Status: 201, Errors: []int{403, 404, 409},
		Handler: web.CreateUnder(web.Param("ws"), s.CreateGrant)})
	r.Handle(web.Route{Method: "DELETE", Path: "/workspaces/:ws/grants/:id", Access: web.Perm(rbac.GrantManage), Tag: "grants",
		Summary: "Revoke a grant made on a workspace, or on the tenant root when :ws is ~",
		Status:  204, Errors: []int{403, 404, 409}, Handler: web.DeleteUnder(web.Param("ws"), web.ID("id", "grant"), s.DeleteGrant)})
}

type handler struct{ s *Service }

func (h handler) update(c *fiber.Ctx) error {
	var in UpdateInput
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	v, err := h.s.Update(c.UserContext(), c.Params("ws"), in)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (h handler) delete(c *fiber.Ctx) error {
	cascade := false
	if raw := c.Query("cascade"); raw != "" {
		v, err := strconv.ParseBool(raw)
		if err != nil {
			return apierr.Invalid("cascade", "must be true or false")
		}
		cascade = v
	}
	if err := h.s.Delete(c.UserContext(), c.Params("ws"), cascade); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func viewID(v View) uuid.UUID       { return v.ID }
func grantID(v GrantView) uuid.UUID { return v.ID }
