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
	r.Handle(web.Route{Method: "GET", Path: "/workspaces/:ws/queue", Access: web.Perm(rbac.QueueRead), Tag: "queue",
		Summary: "The workspace's queue in order, with owners' names; field values, results and errors only for the owner and admins (privacy profile)",
		Query:   web.PageQuery{}, Response: web.Page[View]{}, Errors: []int{403, 404},
		Handler: web.ListBy(web.Param("ws"), s.List, viewID)})
	r.Handle(web.Route{Method: "POST", Path: "/workspaces/:ws/queue", Access: web.Perm(rbac.QueueCreate), Tag: "queue",
		Summary: "Enqueue a workflow run (workflow readable, input images readable, add rights on the board, under the pending quota)",
		Request: EnqueueInput{}, Response: View{}, Status: 201, Errors: []int{403, 404, 429, 503},
		Handler: web.CreateUnder(web.Param("ws"), s.Enqueue)})
	r.Handle(web.Route{Method: "POST", Path: "/workspaces/:ws/queue/cancel", Access: web.Perm(rbac.QueueRead), Tag: "queue",
		Summary: "Cancel the caller's pending and running items in the workspace (scope mine), or everyone's (scope all: admins)",
		Request: CancelAllInput{}, Response: CancelAllResult{}, Errors: []int{403, 404}, Handler: h.cancelAll})
	r.Handle(web.Route{Method: "GET", Path: "/queue/:id", Access: web.Perm(rbac.QueueRead), Tag: "queue",
		Summary: "A queue item (field values, results and error only for the owner and admins)", Response: View{},
		Errors: []int{404}, Handler: web.Get(web.ID("id", "queue item"), s.Get)})
	r.Handle(web.Route{Method: "POST", Path: "/queue/:id/cancel", Access: web.Perm(rbac.QueueUpdate), Tag: "queue",
		Summary:  "Cancel a pending or running item (owner or admin); a running item stops before its next node",
		Response: View{}, Errors: []int{403, 404, 409}, Handler: web.Action(web.ID("id", "queue item"), s.Cancel)})
	r.Handle(web.Route{Method: "POST", Path: "/queue/:id/retry", Access: web.Perm(rbac.QueueUpdate), Tag: "queue",
		Summary: "Queue a failed or canceled item again (owner or admin); it runs as its owner", Response: View{},
		Errors: []int{403, 404, 409, 503}, Handler: web.Action(web.ID("id", "queue item"), s.Retry)})
	r.Handle(web.Route{Method: "DELETE", Path: "/queue/:id", Access: web.Perm(rbac.QueueDelete), Tag: "queue",
		Summary: "Delete an item (owner or admin); a running item stops and saves nothing", Status: 204,
		Errors: []int{403, 404}, Handler: web.Delete(web.ID("id", "queue item"), s.Delete)})
}

type handler struct{ s *Service }

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

func viewID(v View) uuid.UUID { return v.ID }
