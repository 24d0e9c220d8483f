package images

import (
	"io"
	"path/filepath"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
)

// UploadForm documents the multipart upload.
type UploadForm struct {
	File    string `formData:"file" format:"binary" required:"true" description:"PNG, JPEG or WebP, recognised by content"`
	Name    string `formData:"name" description:"defaults to the file name"`
	BoardID string `formData:"board_id" description:"put it on this board of the same workspace (add rights needed)"`
	// Metadata is the generation metadata, shown per the privacy profile (by default to the
	// image's owner and admins only).
	Metadata string `formData:"metadata" description:"generation metadata: a JSON object of at most 64 KiB"`
}

// ListQuery filters a workspace's images.
type ListQuery struct {
	web.PageQuery
	BoardID string `query:"board_id" description:"a board id, or none for the caller's uncategorised images"`
}

// Mount registers the image routes, the board-image routes and the public board routes.
func Mount(r *web.Router, s *Service) {
	h := handler{s: s}
	r.Handle(web.Route{Method: "GET", Path: "/workspaces/:ws/images", Access: web.Perm(rbac.WorkspaceRead), Tag: "images",
		Summary: "Images of a workspace the caller can read (?board_id=ID|none)", Query: ListQuery{}, Response: web.Page[View]{},
		Errors: []int{404}, Handler: h.list})
	r.Handle(web.Route{Method: "POST", Path: "/workspaces/:ws/images", Access: web.Perm(rbac.ImageCreate), Tag: "images",
		Summary: "Upload an image (multipart field file; optional name, board_id)", Request: UploadForm{}, Response: View{},
		Status: 201, Errors: []int{403, 404, 411, 413}, Upload: true, Handler: h.upload})
	r.Handle(web.Route{Method: "GET", Path: "/images/:id", Access: web.Perm(rbac.ImageRead), Tag: "images",
		Summary: "An image's metadata", Response: View{}, Errors: []int{404}, Handler: web.Get(web.ID("id", "image"), s.Get)})
	r.Handle(web.Route{Method: "PATCH", Path: "/images/:id", Access: web.Perm(rbac.ImageUpdate), Tag: "images",
		Summary: "Rename or star an image", Request: PatchInput{}, Response: View{}, Errors: []int{403, 404},
		Handler: web.Update(web.ID("id", "image"), s.Patch)})
	r.Handle(web.Route{Method: "DELETE", Path: "/images/:id", Access: web.Perm(rbac.ImageDelete), Tag: "images",
		Summary: "Delete an image and its files", Status: 204, Errors: []int{403, 404},
		Handler: web.Delete(web.ID("id", "image"), s.Delete)})
	r.Handle(web.Route{Method: "GET", Path: "/images/:id/file", Access: web.Perm(rbac.ImageRead), Tag: "images",
		Summary: "The image file (ETag, conditional and range requests)", Errors: []int{404}, Handler: h.file(false)})
	r.Handle(web.Route{Method: "GET", Path: "/images/:id/thumbnail", Access: web.Perm(rbac.ImageRead), Tag: "images",
		Summary: "The image's thumbnail", Errors: []int{404}, Handler: h.file(true)})
	r.Handle(web.Route{Method: "GET", Path: "/boards/:id/images", Access: web.Perm(rbac.BoardRead), Tag: "boards",
		Summary: "A board's images", Query: web.PageQuery{}, Response: web.Page[View]{}, Errors: []int{404},
		Handler: web.ListBy(web.ID("id", "board"), s.BoardImages, viewID)})
	r.Handle(web.Route{Method: "POST", Path: "/boards/:id/images", Access: web.Perm(rbac.BoardUpdate), Tag: "boards",
		Summary: "Put own images on a board (direct ownership of each image and add rights on the board)",
		Request: AddInput{}, Status: 204, Errors: []int{403, 404}, Handler: h.addToBoard})
	r.Handle(web.Route{Method: "DELETE", Path: "/boards/:id/images/:image_id", Access: web.Perm(rbac.ImageDelete), Tag: "boards",
		Summary: "Take an image off a board (it becomes its owner's uncategorised image)", Status: 204,
		Errors: []int{403, 404}, Handler: web.DeleteUnder(web.ID("id", "board"), web.ID("image_id", "image"), s.RemoveFromBoard)})
	r.Handle(web.Route{Method: "GET", Path: "/public/boards/:id", Access: web.Public(), Tag: "public",
		Summary: "A published board and a page of its images (no members, owners or metadata)", Query: web.PageQuery{}, Response: PublicBoard{},
		Errors: []int{404}, Handler: h.public})
	r.Handle(web.Route{Method: "GET", Path: "/public/boards/:id/images/:image_id/file", Access: web.Public(), Tag: "public",
		Summary: "An image file of a published board", Errors: []int{404}, Handler: h.publicFile(false)})
	r.Handle(web.Route{Method: "GET", Path: "/public/boards/:id/images/:image_id/thumbnail", Access: web.Public(), Tag: "public",
		Summary: "A thumbnail of a published board's image", Errors: []int{404}, Handler: h.publicFile(true)})
}

type handler struct{ s *Service }

func (h handler) list(c *fiber.Ctx) error {
	page, err := web.ParsePage(c)
	if err != nil {
		return err
	}
	var f ListFilter
	switch raw := c.Query("board_id"); raw {
	case "":
	case "none":
		f.Uncategorised = true
	default:
		id, err := uuid.Parse(raw)
		if err != nil {
			return apierr.Invalid("board_id", "must be a board id or none")
		}
		f.Board = &id
	}
	rows, err := h.s.List(c.UserContext(), c.Params("ws"), f, page.After, page.Limit+1)
	if err != nil {
		return err
	}
	return c.JSON(web.NewPage(rows, page.Limit, func(v View) uuid.UUID { return v.ID }))
}

func (h handler) upload(c *fiber.Ctx) error {
	fh, err := c.FormFile("file")
	if err != nil {
		return apierr.Invalid("file", "a multipart field named file is required")
	}
	if fh.Size > h.s.limits.MaxBytes {
		return apierr.TooLarge("the file is too large")
	}
	f, err := fh.Open()
	if err != nil {
		return apierr.Invalid("file", "unreadable upload")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, h.s.limits.MaxBytes+1))
	if err != nil {
		return apierr.Invalid("file", "unreadable upload")
	}
	name := c.FormValue("name")
	if name == "" {
		name = filepath.Base(strings.ReplaceAll(fh.Filename, "\\", "/"))
	}
	var boardID *uuid.UUID
	if raw := c.FormValue("board_id"); raw != "" {
		id, err := uuid.Parse(raw)
		if err != nil {
			return apierr.Invalid("board_id", "must be a board id")
		}
		boardID = &id
	}
	v, err := h.s.Upload(c.UserContext(), c.Params("ws"), Upload{Name: name, Data: data, BoardID: boardID,
		Metadata: []byte(c.FormValue("metadata"))})
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(v)
}

func (h handler) file(thumbnail bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := web.ParamUUID(c, "id", "image")
		if err != nil {
			return err
		}
		img, f, size, err := h.s.File(c.UserContext(), id, thumbnail)
		if err != nil {
			return err
		}
		return serve(c, img, f, size, thumbnail, "private")
	}
}

func (h handler) addToBoard(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "board")
	if err != nil {
		return err
	}
	var in AddInput
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	if err := h.s.AddToBoard(c.UserContext(), id, in.ImageIDs); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h handler) public(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "board")
	if err != nil {
		return err
	}
	page, err := web.ParsePage(c)
	if err != nil {
		return err
	}
	v, err := h.s.Public(c.UserContext(), id, page)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (h handler) publicFile(thumbnail bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		id, err := web.ParamUUID(c, "id", "board")
		if err != nil {
			return err
		}
		imageID, err := web.ParamUUID(c, "image_id", "image")
		if err != nil {
			return err
		}
		img, f, size, err := h.s.PublicFile(c.UserContext(), id, imageID, thumbnail)
		if err != nil {
			return err
		}
		return serve(c, img, f, size, thumbnail, "public")
	}
}

// serve streams a stored file from disk (web.ServeFile: ETag / If-None-Match, If-Modified-Since
// and Range), never holding it whole in memory.
func serve(c *fiber.Ctx, img Image, f ReadSeekCloser, size int64, thumbnail bool, cache string) error {
	ct, etag := img.ContentType, `"`+img.Sha256+`"`
	if img.Stripped {
		etag = `"` + img.Sha256 + `-clean"`
	}
	if thumbnail {
		ct, etag = "image/png", `"`+img.Sha256+`-thumb"`
		if img.ContentType == "image/jpeg" {
			ct = "image/jpeg"
		}
	}
	c.Set(fiber.HeaderContentType, ct)
	c.Set(fiber.HeaderCacheControl, cache+", max-age=0, must-revalidate")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	return web.ServeFile(c, web.File{Content: f, Size: size, ModTime: img.UpdatedAt, ETag: etag})
}

func viewID(v View) uuid.UUID { return v.ID }
