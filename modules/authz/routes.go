package authz

import (
	"github.com/gofiber/fiber/v2"

	"github.com/atelier-hq/atelier/modules/web"
)

// Mount registers the explain route.
func Mount(r *web.Router, s *Service) {
	r.Handle(web.Route{Method: "GET", Path: "/authz/explain", Access: web.AuthOnly(), Tag: "authz",
		Summary: "Whether a user may do an action on an object, and the path that decided it " +
			"(anyone about themselves; authz:explain on the tenant to ask about another user)",
		Query: Query{}, Response: Answer{}, Errors: []int{403, 404}, Handler: func(c *fiber.Ctx) error {
			ans, err := s.Explain(c.UserContext(), Query{Subject: c.Query("subject"), Action: c.Query("action"), Object: c.Query("object")})
			if err != nil {
				return err
			}
			return c.JSON(ans)
		}})
}
