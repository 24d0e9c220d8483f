package queue

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/images"
	"github.com/atelier-hq/atelier/modules/workflows/graph"
	"github.com/atelier-hq/atelier/tenancy"
)

// TaskRun runs one queue item.
const TaskRun = "queue:run"

// RunPayload is the task's payload: ids only. Everything else is read, and every right
// re-checked, when the task runs.
type RunPayload struct {
	TenantID    uuid.UUID `json:"tenant_id"`
	ItemID      uuid.UUID `json:"item_id"`
	RequesterID uuid.UUID `json:"requester_id"`
}

func (s *Service) enqueueTask(ctx context.Context, it Item) error {
	t, err := jobs.NewTask(TaskRun, RunPayload{TenantID: it.TenantID, ItemID: it.ID, RequesterID: it.OwnerID},
		asynq.MaxRetry(s.cfg.MaxRetry), asynq.Timeout(s.cfg.Lease), asynq.Queue(s.cfg.TaskQueue))
	if err != nil {
		return err
	}
	_, err = s.jobs.Enqueue(ctx, t)
	return err
}

// RunHandler is the asynq handler of TaskRun.
func (s *Service) RunHandler() asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		p, err := jobs.Decode[RunPayload](t)
		if err != nil {
			return err
		}
		retried, _ := asynq.GetRetryCount(ctx)
		maxRetry, _ := asynq.GetMaxRetry(ctx)
		return s.Run(ctx, p, retried >= maxRetry)
	}
}

// refusal is a reason the item cannot run that no retry will change: the item fails with it.
type refusal struct{ reason string }

func (r *refusal) Error() string { return r.reason }

func refuse(format string, a ...any) error { return &refusal{reason: fmt.Sprintf(format, a...)} }

// errStopped is an attempt that is no longer the item's to run (canceled, deleted, swept).
var errStopped = errors.New("queue item no longer running")

// Run runs the item once. It is idempotent: a finished, canceled or deleted item is left alone,
// and an item left running by a worker that stopped restarts from the beginning as a new
// attempt. Every right is re-checked as the requester now; one revoked since the enqueue fails
// the item with the reason. A transient error is returned for asynq to retry, unless last is
// set (no retry left): then the item fails.
func (s *Service) Run(ctx context.Context, p RunPayload, last bool) error {
	ctx = tenancy.WithTenant(ctx, p.TenantID)
	var it Item
	var claimed bool
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		l, err := s.store.get(tx, p.ItemID)
		if errors.Is(err, errNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if l.OwnerID != p.RequesterID {
			return fmt.Errorf("queue item %s: requester %s is not its owner (%w)", p.ItemID, p.RequesterID, asynq.SkipRetry)
		}
		if finished(l.Status) {
			return nil
		}
		now := s.now()
		if claimed, err = s.store.claim(tx, p.ItemID, now, now.Add(s.cfg.Lease)); err != nil || !claimed {
			return err
		}
		l, err = s.store.get(tx, p.ItemID)
		it = l.Item
		return err
	})
	if err != nil || !claimed {
		return err
	}
	s.itemEvent(ctx, it, "")
	s.countsEvent(ctx, it.TenantID)

	results, err := s.execute(ctx, it)
	switch {
	case errors.Is(err, errStopped):
		return nil
	case err == nil:
		it.Status, it.Progress, it.Error = StatusCompleted, 1, ""
		it.ResultImageIDs = idsJSON(results)
		s.itemEvent(ctx, it, "")
		s.countsEvent(ctx, it.TenantID)
		return nil
	}
	var r *refusal
	timedOut := errors.Is(ctx.Err(), context.DeadlineExceeded)
	if !errors.As(err, &r) && !timedOut && (!last || errors.Is(ctx.Err(), context.Canceled)) {
		// Transient, or the worker is shutting down (asynq puts the task back): a retry restarts
		// the item as a new attempt; if none comes, the sweeper fails it after its lease.
		return err
	}
	reason := "the run failed"
	if r != nil {
		reason = r.reason
	} else if timedOut {
		reason = "the run took longer than " + s.cfg.Lease.String()
	}
	s.log.WarnContext(ctx, "queue item failed", slog.String("item_id", it.ID.String()), slog.String("reason", reason), slog.Any("error", err))
	s.fail(context.WithoutCancel(ctx), it, reason)
	return nil
}

// fail ends the attempt as failed, unless it is no longer the attempt's.
func (s *Service) fail(ctx context.Context, it Item, reason string) {
	var ok bool
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		ok, err = s.store.finish(tx, it.ID, it.Attempt, StatusFailed, reason, nil, s.now())
		return err
	})
	if err != nil {
		s.log.ErrorContext(ctx, "mark queue item failed", slog.String("item_id", it.ID.String()), slog.Any("error", err))
		return
	}
	if ok {
		it.Status, it.Error = StatusFailed, reason
		s.itemEvent(ctx, it, "")
		s.countsEvent(ctx, it.TenantID)
	}
}

// execute re-checks the rights as the requester, runs the graph snapshot and saves the outputs.
func (s *Service) execute(ctx context.Context, it Item) ([]uuid.UUID, error) {
	start := time.Now()
	if ok, err := s.users.MayAct(ctx, it.OwnerID); err != nil {
		return nil, err
	} else if !ok {
		return nil, refuse("the requester's account is disabled or gone")
	}
	rctx := tenancy.WithPrincipal(ctx, tenancy.Principal{TenantID: it.TenantID, UserID: it.OwnerID, Kind: tenancy.CredentialSession})
	if _, err := s.workflows.ForRun(rctx, it.WorkflowID); err != nil {
		return nil, denied(err, "the requester may no longer read the workflow")
	}
	g, err := graph.Parse([]byte(it.Graph))
	if err != nil {
		return nil, refuse("the workflow snapshot is invalid: %s", err)
	}
	var values map[string]json.RawMessage
	if err := json.Unmarshal(it.FieldValues, &values); err != nil {
		return nil, refuse("the field values are unreadable")
	}
	inputs, err := g.ImageIDs(values)
	if err != nil {
		return nil, refuse("%s", err)
	}
	for _, id := range inputs {
		if err := s.images.CheckReadable(rctx, []uuid.UUID{id}); err != nil {
			return nil, denied(err, "the requester may no longer read input image "+id.String())
		}
	}
	if err := s.images.MayAddTo(rctx, it.WorkspaceID, it.BoardID); err != nil {
		return nil, denied(err, "the requester may no longer add images to the destination board")
	}

	checked := time.Now()
	run, stop := context.WithCancel(rctx)
	defer stop()
	var stopped bool
	progress := func(done, total int, node string) {
		ok, err := s.report(rctx, it, float64(done)/float64(total), node)
		if err != nil {
			s.log.WarnContext(ctx, "report queue progress", slog.String("item_id", it.ID.String()), slog.Any("error", err))
			return
		}
		if ok && s.afterNode != nil {
			s.afterNode(it.ID, node)
			// What the hook did (a cancel) is seen now, as it would be at the next node.
			ok, err = s.report(rctx, it, float64(done)/float64(total), node)
		}
		if err == nil && !ok {
			stopped = true
			stop() // canceled, deleted or swept: stop before the next node
		}
	}
	outs, err := graph.Execute(run, g, values, s.images.Decode, s.cfg.Limits, progress)
	if stopped {
		return nil, errStopped
	}
	if err != nil {
		var ge *graph.Error
		if errors.As(err, &ge) {
			return nil, refuse("%s", err)
		}
		return nil, denied(err, "")
	}
	gens, err := s.encode(it, outs)
	if err != nil {
		return nil, err
	}
	ran := time.Now()
	ids, err := s.images.SaveGenerated(rctx, it.WorkspaceID, it.BoardID, gens, func(tx *gorm.DB, ids []uuid.UUID) error {
		ok, err := s.store.finish(tx, it.ID, it.Attempt, StatusCompleted, "", ids, s.now())
		if err == nil && !ok {
			err = errStopped
		}
		return err
	})
	if err != nil {
		return nil, denied(err, "the results could not be saved")
	}
	s.log.InfoContext(ctx, "queue item completed", slog.String("item_id", it.ID.String()),
		slog.String("tenant_id", it.TenantID.String()), slog.Int("attempt", it.Attempt), slog.Int("results", len(ids)),
		slog.Duration("checks", checked.Sub(start)), slog.Duration("run", ran.Sub(checked)), slog.Duration("save", time.Since(ran)))
	return ids, nil
}

// report records progress; ok is false when the item is no longer this attempt's to run.
func (s *Service) report(ctx context.Context, it Item, p float64, node string) (bool, error) {
	var ok bool
	now := s.now()
	err := s.db.Tx(ctx, func(tx *gorm.DB) error {
		var err error
		ok, err = s.store.progress(tx, it.ID, it.Attempt, p, now, now.Add(s.cfg.Lease))
		return err
	})
	if err == nil && ok {
		it.Progress = p
		s.itemEvent(ctx, it, node)
	}
	return ok, err
}

// denied turns an access refusal (404, 403, 400 from a service acting as the requester) into a
// refusal with the reason; anything else stays a transient error.
func denied(err error, reason string) error {
	if errors.Is(err, errStopped) {
		return err
	}
	if e, ok := apierr.As(err); ok && e.Code != apierr.CodeUnavailable && e.Code != apierr.CodeInternal {
		if reason == "" {
			reason = e.Message
		}
		return refuse("%s", reason)
	}
	return err
}

// encode turns the outputs into PNGs with their generation metadata.
func (s *Service) encode(it Item, outs []graph.Output) ([]images.Generated, error) {
	meta, err := json.Marshal(map[string]any{"workflow_id": it.WorkflowID, "workflow_name": it.WorkflowName,
		"field_values": json.RawMessage(orDefault(it.FieldValues, "{}")), "queue_item_id": it.ID})
	if err != nil {
		return nil, err
	}
	gens := make([]images.Generated, 0, len(outs))
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	for _, o := range outs {
		var buf bytes.Buffer
		if err := enc.Encode(&buf, o.Image); err != nil {
			return nil, refuse("encode output %s: %s", o.Node, err)
		}
		m := append(meta[:len(meta)-1:len(meta)-1], []byte(`,"output_node":`+quote(o.Node)+`}`)...)
		gens = append(gens, images.Generated{Name: outputName(it.WorkflowName, o.Node), PNG: buf.Bytes(), Metadata: m})
	}
	return gens, nil
}

// outputName names a result "<workflow> <node>.png" within an image name's 255 characters.
func outputName(workflow, node string) string {
	r := []rune(workflow)
	if len(r) > 180 {
		r = r[:180]
	}
	return string(r) + " " + node + ".png"
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
