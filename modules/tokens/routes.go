package tokens

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
)

// Mount registers the token routes.
func Mount(r *web.Router, s *Service) {
	h := handler{s: s}
	r.Handle(web.Route{Method: "POST", Path: "/me/tokens", Access: web.AuthOnly(), Tag: "tokens",
		Summary: "Create a personal access token; the secret is in this answer only (interactive sessions only)",
		Request: CreateInput{}, Response: Created{}, Status: 201, Errors: []int{403}, Handler: h.create})
	r.Handle(web.Route{Method: "GET", Path: "/me/tokens", Access: web.AuthOnly(), Tag: "tokens",
		Summary: "List the caller's personal access tokens (never their secrets)", Query: web.PageQuery{},
		Response: web.Page[View]{}, Handler: web.List(s.List, viewID)})
	r.Handle(web.Route{Method: "DELETE", Path: "/me/tokens/:id", Access: web.AuthOnly(), Tag: "tokens",
		Summary: "Revoke one of the caller's tokens (anyone else's answers 404)", Status: 204,
		Errors: []int{403, 404}, Handler: web.Delete(web.ID("id", "token"), s.Revoke)})
	r.Handle(web.Route{Method: "GET", Path: "/me/tokens/:id/access-log", Access: web.AuthOnly(), Tag: "tokens",
		Summary: "Requests made with one of the caller's tokens, newest first", Query: web.PageQuery{},
		Response: web.Page[LogView]{}, Errors: []int{404}, Handler: web.ListBy(web.ID("id", "token"), s.AccessLog, logID)})
	r.Handle(web.Route{Method: "GET", Path: "/admin/tokens", Access: web.Perm(rbac.TokenRead), Tag: "tokens",
		Summary: "Every personal access token of the tenant with its owner (tenant admins and auditors)",
		Query:   web.PageQuery{}, Response: web.Page[AdminView]{}, Errors: []int{403}, Handler: web.List(s.ListAll, adminID)})
	r.Handle(web.Route{Method: "DELETE", Path: "/admin/tokens/:id", Access: web.Perm(rbac.TokenManage), Tag: "tokens",
		Summary: "Revoke any personal access token of the tenant (tenant admins)", Status: 204,
		Errors: []int{403, 404}, Handler: web.Delete(web.ID("id", "token"), s.RevokeAny)})
}

type handler struct{ s *Service }

func (h handler) create(c *fiber.Ctx) error {
	var in CreateInput
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	out, err := h.s.Create(c.UserContext(), in)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(fiber.StatusCreated).JSON(out)
}

func viewID(v View) uuid.UUID       { return v.ID }
func logID(v LogView) uuid.UUID     { return v.ID }
func adminID(v AdminView) uuid.UUID { return v.ID }
