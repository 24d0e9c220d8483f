package queue

import (
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/web"
	"github.com/atelier-hq/atelier/rbac"
)

// Mount registers the queue routes. Who may see, cancel, retry or delete one item (owner,
// admins, readers of the workspace) is decided in the service.
func Mount(r *web.Router, s *Service) {
	h := handler{s: s}
	r.Handle(web.Route{Method: "GET", Path: "/workspaces/:ws/queue", Access: web.Perm(string(rbac.QueueRead)), Tag: "queue",
		Summary: "The workspace's queue in order, with owners' names; field values, results and errors only for the owner and admins (privacy profile)",
		Query:   web.PageQuery{}, Response: web.Page[View]{}, Errors: []int{403, 404}, Handler: h.list})
	r.Handle(web.Route{Method: "POST", Path: "/workspaces/:ws/queue", Access: web.Perm(string(rbac.QueueCreate)), Tag: "queue",
		Summary: "Enqueue a workflow run (workflow readable, input images readable, add rights on the board, under the pending quota)",
		Request: EnqueueInput{}, Response: View{}, Status: 201, Errors: []int{403, 404, 429, 503}, Handler: h.enqueue})
	r.Handle(web.Route{Method: "POST", Path: "/workspaces/:ws/queue/cancel", Access: web.Perm(string(rbac.QueueRead)), Tag: "queue",
		Summary: "Cancel the caller's pending and running items in the workspace (scope mine), or everyone's (scope all: admins)",
		Request: CancelAllInput{}, Response: CancelAllResult{}, Errors: []int{403, 404}, Handler: h.cancelAll})
	r.Handle(web.Route{Method: "GET", Path: "/queue/:id", Access: web.Perm(string(rbac.QueueRead)), Tag: "queue",
		Summary: "A queue item (field values, results and error only for the owner and admins)", Response: View{},
		Errors: []int{404}, Handler: h.get})
	r.Handle(web.Route{Method: "POST", Path: "/queue/:id/cancel", Access: web.Perm(string(rbac.QueueUpdate)), Tag: "queue",
		Summary:  "Cancel a pending or running item (owner or admin); a running item stops before its next node",
		Response: View{}, Errors: []int{403, 404, 409}, Handler: h.cancel})
	r.Handle(web.Route{Method: "POST", Path: "/queue/:id/retry", Access: web.Perm(string(rbac.QueueUpdate)), Tag: "queue",
		Summary: "Queue a failed or canceled item again (owner or admin); it runs as its owner", Response: View{},
		Errors: []int{403, 404, 409, 503}, Handler: h.retry})
	r.Handle(web.Route{Method: "DELETE", Path: "/queue/:id", Access: web.Perm(string(rbac.QueueDelete)), Tag: "queue",
		Summary: "Delete an item (owner or admin); a running item stops and saves nothing", Status: 204,
		Errors: []int{403, 404}, Handler: h.delete})
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

func (h handler) enqueue(c *fiber.Ctx) error {
	var in EnqueueInput
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	v, err := h.s.Enqueue(c.UserContext(), c.Params("ws"), in)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(v)
}

func (h handler) cancelAll(c *fiber.Ctx) error {
	var in CancelAllInput
	if err := web.Decode(c, &in); err != nil {
		return err
	}
	n, err := h.s.CancelAll(c.UserContext(), c.Params("ws"), in.Scope)
	if err != nil {
		return err
	}
	return c.JSON(CancelAllResult{Canceled: n})
}

func (h handler) get(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "queue item")
	if err != nil {
		return err
	}
	v, err := h.s.Get(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (h handler) cancel(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "queue item")
	if err != nil {
		return err
	}
	v, err := h.s.Cancel(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (h handler) retry(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "queue item")
	if err != nil {
		return err
	}
	v, err := h.s.Retry(c.UserContext(), id)
	if err != nil {
		return err
	}
	return c.JSON(v)
}

func (h handler) delete(c *fiber.Ctx) error {
	id, err := web.ParamUUID(c, "id", "queue item")
	if err != nil {
		return err
	}
	if err := h.s.Delete(c.UserContext(), id); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}
