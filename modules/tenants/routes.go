package tenants

import (
	"github.com/gofiber/fiber/v2"

	"github.com/atelier-hq/atelier/modules/web"
)

// Mount registers the tenant routes.
func Mount(r *web.Router, s *Service) {
	r.Handle(web.Route{Method: "POST", Path: "/tenants", Access: web.Public(), Tag: "tenants",
		Summary: "Sign up: a tenant, its first admin and its default workspace", Request: SignUpInput{},
		Response: SignUpResult{}, Status: 201, Errors: []int{403, 409, 429}, Handler: func(c *fiber.Ctx) error {
			var in SignUpInput
			if err := web.Decode(c, &in); err != nil {
				return err
			}
			res, err := s.SignUp(c.UserContext(), in, web.ClientIP(c))
			if err != nil {
				return err
			}
			return c.Status(fiber.StatusCreated).JSON(res)
		}})
}
