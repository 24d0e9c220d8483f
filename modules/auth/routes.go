package auth

import (
	"github.com/gofiber/fiber/v2"

	"github.com/atelier-hq/atelier/modules/web"
)

// Mount registers the session routes.
func Mount(r *web.Router, s *Service) {
	h := handler{s: s}
	r.Handle(web.Route{Method: "POST", Path: "/auth/login", Access: web.Public(), Tag: "auth",
		Summary: "Log in with tenant, e-mail and password", Request: LoginInput{}, Response: Tokens{},
		Errors: []int{429}, Handler: h.login})
	r.Handle(web.Route{Method: "POST", Path: "/auth/refresh", Access: web.Public(), Tag: "auth",
		Summary: "Rotate a refresh token (reuse of a rotated one revokes the session)", Request: RefreshInput{},
		Response: Tokens{}, Handler: h.refresh})
	r.Handle(web.Route{Method: "POST", Path: "/auth/logout", Access: web.AuthOnly(), Tag: "auth",
		Summary: "End this session, the session of a refresh token, or all of the caller's sessions",
		Request: LogoutInput{}, Status: 204, Handler: h.logout})
}

type handler struct{ s *Service }

func (h handler) login(c *fiber.Ctx) error {
	var in LoginInput
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	t, err := h.s.Login(c.UserContext(), in, web.ClientIP(c))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(t)
}

func (h handler) refresh(c *fiber.Ctx) error {
	var in RefreshInput
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	t, err := h.s.Refresh(c.UserContext(), in.RefreshToken)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.JSON(t)
}

func (h handler) logout(c *fiber.Ctx) error {
	var in LogoutInput
	if len(c.Body()) > 0 {
		if err := web.Decode(c, &in); err != nil {
			return err
		}
	}
	if err := h.s.Logout(c.UserContext(), in); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
