package downloads

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/web"
)

// Mount registers the download routes. Every route but the signed link needs a caller, and the
// service answers 404 for any download that is not the caller's.
func Mount(r *web.Router, s *Service) {
	h := handler{s: s, prefix: r.Prefix()}
	r.Handle(web.Route{Method: "POST", Path: "/downloads", Access: web.AuthOnly(), Tag: "downloads",
		Summary: "Ask for a zip of a board's images or of images (each read-checked now and again when it is built)",
		Request: CreateInput{}, Response: View{}, Status: 202, Errors: []int{404, 413, 429, 503}, Handler: h.create})
	r.Handle(web.Route{Method: "GET", Path: "/downloads", Access: web.AuthOnly(), Tag: "downloads",
		Summary: "The caller's own downloads", Query: web.PageQuery{}, Response: web.Page[View]{}, Handler: web.List(s.List, viewID)})
	r.Handle(web.Route{Method: "GET", Path: "/downloads/:id", Access: web.AuthOnly(), Tag: "downloads",
		Summary: "One of the caller's downloads: status and progress", Response: View{}, Errors: []int{404},
		Handler: web.Get(web.ID("id", "download"), s.Get)})
	r.Handle(web.Route{Method: "DELETE", Path: "/downloads/:id", Access: web.AuthOnly(), Tag: "downloads",
		Summary: "Delete one of the caller's downloads and its file", Status: 204, Errors: []int{404},
		Handler: web.Delete(web.ID("id", "download"), s.Delete)})
	r.Handle(web.Route{Method: "GET", Path: "/downloads/:id/file", Access: web.AuthOnly(), Tag: "downloads",
		Summary: "The zip of a ready download (ETag, conditional and range requests)", Errors: []int{404, 416}, Handler: h.file})
	r.Handle(web.Route{Method: "POST", Path: "/downloads/:id/link", Access: web.AuthOnly(), Tag: "downloads",
		Summary:  "A short-lived signed link to a ready download's zip, usable without an Authorization header",
		Response: Link{}, Status: 201, Errors: []int{404, 409}, Handler: h.link})
	r.Handle(web.Route{Method: "GET", Path: LinkPath + ":token", Access: web.Public(), Tag: "downloads",
		Summary: "The zip a signed link points to (until the link or the download expires, or its user is disabled)",
		Errors:  []int{404, 416}, Handler: h.linkFile})
}

type handler struct {
	s      *Service
	prefix string
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
	return c.Status(fiber.StatusAccepted).JSON(v)
}

func (h handler) file(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "download")
	if err != nil {
		return err
	}
	d, f, err := h.s.Open(c.UserContext(), id)
	if err != nil {
		return err
	}
	return serveArchive(c, d, f)
}

func (h handler) link(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "download")
	if err != nil {
		return err
	}
	l, err := h.s.MintLink(c.UserContext(), id, h.prefix)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(l)
}

func (h handler) linkFile(c *fiber.Ctx) error {
	d, f, err := h.s.OpenLink(c.UserContext(), c.Params("token"))
	if err != nil {
		return err
	}
	return serveArchive(c, d, f)
}

func viewID(v View) uuid.UUID { return v.ID }
