package workflows

import (
	"io"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/modules/workflows/graph"
	"github.com/atelier-hq/atelier/rbac"
)

// ThumbnailForm documents the thumbnail upload.
type ThumbnailForm struct {
	File string `formData:"file" format:"binary" required:"true" description:"PNG, JPEG or WebP, at most 2 MiB; stored as a PNG of at most 512×512"`
}

// NodeTypes is the registry listing.
type NodeTypes struct {
	Items      []graph.NodeType `json:"items"`
	NextCursor *string          `json:"next_cursor"`
}

// TagList is the tag listing.
type TagList struct {
	Items      []TagCount `json:"items"`
	NextCursor *string    `json:"next_cursor"`
}

// Mount registers the workflow routes. Who may do what to one workflow (owner, admins, readers
// when shared, everyone for system workflows) is decided in the service.
func Mount(r *web.Router, s *Service) {
	h := handler{s: s}
	r.Handle(web.Route{Method: "GET", Path: "/workspaces/:ws/workflows", Access: web.Perm(rbac.WorkflowRead), Tag: "workflows",
		Summary: "Workflows of a workspace the caller can read (?category=user|shared|default, ?tag=, ?q=)",
		Query:   ListQuery{}, Response: web.Page[Summary]{}, Errors: []int{404}, Handler: h.list})
	r.Handle(web.Route{Method: "POST", Path: "/workspaces/:ws/workflows", Access: web.Perm(rbac.WorkflowCreate), Tag: "workflows",
		Summary: "Save a workflow (the caller owns it); the graph is validated", Request: CreateInput{}, Response: View{},
		Status: 201, Errors: []int{403, 404, 413}, Handler: web.CreateUnder(web.Param("ws"), s.Create)})
	r.Handle(web.Route{Method: "GET", Path: "/workspaces/:ws/workflows/counts", Access: web.Perm(rbac.WorkflowRead), Tag: "workflows",
		Summary: "How many workflows of each category the caller can read", Response: Counts{}, Errors: []int{404},
		Handler: web.Get(web.Param("ws"), s.Counts)})
	r.Handle(web.Route{Method: "GET", Path: "/workspaces/:ws/workflows/tags", Access: web.Perm(rbac.WorkflowRead), Tag: "workflows",
		Summary: "Tags of the workflows the caller can read, with counts (?category=)", Query: TagsQuery{},
		Response: TagList{}, Errors: []int{404}, Handler: h.tags})
	r.Handle(web.Route{Method: "GET", Path: "/workflows/:id", Access: web.Perm(rbac.WorkflowRead), Tag: "workflows",
		Summary:  "A workflow with its graph (owner, admins; readers of its workspace if shared; everyone if system)",
		Response: View{}, Errors: []int{404}, Handler: web.Get(web.ID("id", "workflow"), s.Get)})
	r.Handle(web.Route{Method: "PATCH", Path: "/workflows/:id", Access: web.Perm(rbac.WorkflowUpdate), Tag: "workflows",
		Summary: "Change, share or unshare a workflow (owner or admin)", Request: UpdateInput{}, Response: View{},
		Errors: []int{403, 404, 413}, Handler: web.Update(web.ID("id", "workflow"), s.Update)})
	r.Handle(web.Route{Method: "DELETE", Path: "/workflows/:id", Access: web.Perm(rbac.WorkflowDelete), Tag: "workflows",
		Summary: "Delete a workflow (owner or admin)", Status: 204, Errors: []int{403, 404},
		Handler: web.Delete(web.ID("id", "workflow"), s.Delete)})
	r.Handle(web.Route{Method: "GET", Path: "/workflows/:id/thumbnail", Access: web.Perm(rbac.WorkflowRead), Tag: "workflows",
		Summary: "A workflow's thumbnail (read-checked exactly like the workflow)", Errors: []int{404}, Handler: h.thumbnail})
	r.Handle(web.Route{Method: "PUT", Path: "/workflows/:id/thumbnail", Access: web.Perm(rbac.WorkflowUpdate), Tag: "workflows",
		Summary: "Set a workflow's thumbnail (multipart field file; owner or admin)", Request: ThumbnailForm{}, Status: 204,
		Errors: []int{403, 404, 411, 413}, Upload: true, Handler: h.putThumbnail})
	r.Handle(web.Route{Method: "GET", Path: "/workflow-node-types", Access: web.AuthOnly(), Tag: "workflows",
		Summary: "The node types a graph may use, with their inputs, outputs and fields", Response: NodeTypes{},
		Handler: h.nodeTypes})
}

type handler struct{ s *Service }

func (h handler) list(c *fiber.Ctx) error {
	page, err := web.ParsePage(c)
	if err != nil {
		return err
	}
	f := Filter{Category: c.Query("category"), Tag: c.Query("tag"), Query: c.Query("q")}
	rows, err := h.s.List(c.UserContext(), c.Params("ws"), f, page.After, page.Limit+1)
	if err != nil {
		return err
	}
	return c.JSON(web.NewPage(rows, page.Limit, func(v Summary) uuid.UUID { return v.ID }))
}

func (h handler) tags(c *fiber.Ctx) error {
	v, err := h.s.Tags(c.UserContext(), c.Params("ws"), c.Query("category"))
	if err != nil {
		return err
	}
	return c.JSON(TagList{Items: v})
}

func (h handler) thumbnail(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "workflow")
	if err != nil {
		return err
	}
	th, err := h.s.Thumbnail(c.UserContext(), id)
	if err != nil {
		return err
	}
	etag := `"` + th.Sha256 + `"`
	c.Set(fiber.HeaderCacheControl, "private, no-cache")
	c.Set(fiber.HeaderETag, etag)
	c.Set("X-Content-Type-Options", "nosniff")
	if c.Get(fiber.HeaderIfNoneMatch) == etag {
		return c.SendStatus(fiber.StatusNotModified)
	}
	c.Set(fiber.HeaderContentType, th.ContentType)
	return c.Send(th.Data)
}

func (h handler) putThumbnail(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "workflow")
	if err != nil {
		return err
	}
	fh, err := c.FormFile("file")
	if err != nil {
		return apierr.Invalid("file", "a multipart field named file is required")
	}
	if fh.Size > ThumbnailLimits.MaxBytes {
		return apierr.TooLarge("the thumbnail is larger than 2 MiB")
	}
	f, err := fh.Open()
	if err != nil {
		return apierr.Invalid("file", "unreadable upload")
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, ThumbnailLimits.MaxBytes+1))
	if err != nil {
		return apierr.Invalid("file", "unreadable upload")
	}
	if err := h.s.PutThumbnail(c.UserContext(), id, data); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h handler) nodeTypes(c *fiber.Ctx) error {
	return c.JSON(NodeTypes{Items: graph.Types()})
}
