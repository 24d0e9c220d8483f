package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/configs"
	"github.com/atelier-hq/atelier/jobs"
	"github.com/atelier-hq/atelier/modules/events"
	"github.com/atelier-hq/atelier/modules/queue"
)

// A run goes pending → running → progress per node → completed; the result is an image owned
// by the requester, on the destination board, with the generation metadata.
func TestQueue_runSavesResultsAsTheRequestersImagesOnTheBoard(t *testing.T) {
	t.Parallel()
	w := newQWorld(t, true)
	s := stream(t, w.n1, w.n1, w.userA.Token)
	id := w.mustEnqueue(t, w.userA.Token, w.wfA, w.boardA, w.imgA)
	evs := until(t, s, id)
	var statuses []string
	var nodes []string
	for _, e := range evs {
		statuses = append(statuses, e.Status)
		if e.Node != "" {
			nodes = append(nodes, e.Node)
		}
	}
	last := evs[len(evs)-1]
	if last.Status != queue.StatusCompleted || len(last.ResultIDs) != 1 || last.Progress != 1 {
		t.Fatalf("last event %+v (statuses %v)", last, statuses)
	}
	if strings.Join(nodes, ",") != "in,r,out" {
		t.Fatalf("progress events for nodes %v, want in,r,out", nodes)
	}
	v := w.item(t, w.userA.Token, id)
	if v.Status != queue.StatusCompleted || v.Progress != 1 || v.StartedAt == nil || v.FinishedAt == nil {
		t.Fatalf("item %+v", v)
	}
	r := w.n1.Do(http.MethodGet, "/api/v1/images/"+last.ResultIDs[0].String(), w.userA.Token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("result image: %d %s", r.Status, r.Body)
	}
	var img struct {
		OwnerID  uuid.UUID      `json:"owner_id"`
		BoardID  uuid.UUID      `json:"board_id"`
		Width    int            `json:"width"`
		Metadata map[string]any `json:"metadata"`
	}
	r.JSON(t, &img)
	if img.OwnerID != w.userA.ID || img.BoardID != w.boardA || img.Width != 64 {
		t.Fatalf("result image %s", r.Body)
	}
	if img.Metadata["workflow_id"] != w.wfA.String() || img.Metadata["queue_item_id"] != id.String() {
		t.Fatalf("metadata %v", img.Metadata)
	}
	if fv, _ := img.Metadata["field_values"].(map[string]any); fv["in.image_id"] != w.imgA.String() {
		t.Fatalf("metadata field values %v", img.Metadata["field_values"])
	}
	// Idempotent: running the finished item again changes nothing.
	if err := w.worker.App.Queue.Run(bg, queue.RunPayload{TenantID: w.a.ID, ItemID: id, RequesterID: w.userA.ID}, false); err != nil {
		t.Fatal(err)
	}
	if n := bdCount(t, w.n1, w.a.ID, `SELECT count(*) FROM images WHERE board_id = ?`, w.boardA); n != 2 {
		t.Fatalf("%d images on A's board after a re-run of a completed item, want 2 (input and result)", n)
	}
}

// InvokeAI's "recall" read other users' images by id: an input image the requester cannot read
// is the same 404 as a missing one, and nothing is queued.
func TestQueue_enqueueWithSomeoneElsesImageId_isRefusedAndQueuesNothing(t *testing.T) {
	t.Parallel()
	w := newQWorld(t, false)
	for _, img := range []uuid.UUID{w.imgB, uuid.New()} {
		r := w.enqueue(w.n1, w.userA.Token, w.wfA, w.boardA, img)
		if r.Status != http.StatusNotFound || !strings.Contains(string(r.Body), "image not found") {
			t.Fatalf("enqueue with image %s: %d %s", img, r.Status, r.Body)
		}
	}
	if n := qCount(t, w); n != 0 {
		t.Fatalf("%d items queued", n)
	}
}

// The destination board must take the requester's images: a board they cannot see is 404, one
// they see but may not add to (shared, not a member) is 403; nothing is queued either way.
func TestQueue_enqueueIntoBoardWithoutAddRights_isRefusedAndQueuesNothing(t *testing.T) {
	t.Parallel()
	w := newQWorld(t, false)
	if r := w.enqueue(w.n1, w.userA.Token, w.wfA, w.boardB, w.imgA); r.Status != http.StatusNotFound {
		t.Fatalf("into B's private board: %d %s", r.Status, r.Body)
	}
	if r := w.n1.Do(http.MethodPatch, "/api/v1/boards/"+w.boardB.String(), w.userB.Token, map[string]any{"visibility": "shared"}); r.Status != http.StatusOK {
		t.Fatalf("share board: %d %s", r.Status, r.Body)
	}
	if r := w.enqueue(w.n1, w.userA.Token, w.wfA, w.boardB, w.imgA); r.Status != http.StatusForbidden {
		t.Fatalf("into B's shared board: %d %s", r.Status, r.Body)
	}
	if n := qCount(t, w); n != 0 {
		t.Fatalf("%d items queued", n)
	}
}

// Bad input is a 400 naming the field, and queues nothing.
func TestQueue_enqueueBadInput_namesTheField(t *testing.T) {
	t.Parallel()
	w := newQWorld(t, false)
	cases := []struct {
		name  string
		body  any
		field string
	}{
		{"unknown field value", map[string]any{"workflow_id": w.wfA, "board_id": w.boardA,
			"field_values": map[string]any{"in.image_id": w.imgA, "r.width": 10}}, "field_values.r.width"},
		{"missing required value", map[string]any{"workflow_id": w.wfA, "board_id": w.boardA}, "field_values.in.image_id"},
		{"wrong type", map[string]any{"workflow_id": w.wfA, "board_id": w.boardA,
			"field_values": map[string]any{"in.image_id": 12}}, "field_values.in.image_id"},
		{"no board", map[string]any{"workflow_id": w.wfA, "field_values": map[string]any{"in.image_id": w.imgA}}, "board_id"},
		{"no workflow", map[string]any{"board_id": w.boardA}, "workflow_id"},
		{"unknown json field", map[string]any{"workflow_id": w.wfA, "board_id": w.boardA, "priority": 1}, "priority"},
	}
	for _, c := range cases {
		r := w.n1.Do(http.MethodPost, "/api/v1/workspaces/"+w.ws.String()+"/queue", w.userA.Token, c.body)
		if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), c.field) {
			t.Errorf("%s: %d %s (want 400 naming %s)", c.name, r.Status, r.Body, c.field)
		}
	}
	if n := qCount(t, w); n != 0 {
		t.Fatalf("%d items queued", n)
	}
}

// ASVS 8.3.3: a right revoked between enqueue and run is honoured when the task runs — here B
// unshares the workflow A queued, and A's account is disabled for another item; both fail with
// the reason and save nothing.
func TestQueue_grantRevokedBetweenEnqueueAndRun_failsTheItemWithTheReason(t *testing.T) {
	t.Parallel()
	w := newQWorld(t, false)
	r := w.n1.Do(http.MethodPost, "/api/v1/workspaces/"+w.ws.String()+"/workflows", w.userB.Token,
		map[string]any{"name": "B's shared", "shared": true, "graph": rawJSON(wfGraph)})
	if r.Status != http.StatusCreated {
		t.Fatalf("workflow: %d %s", r.Status, r.Body)
	}
	wfB := idOf(t, r)
	id := w.mustEnqueue(t, w.userA.Token, wfB, w.boardA, w.imgA)
	if r := w.n1.Do(http.MethodPatch, "/api/v1/workflows/"+wfB.String(), w.userB.Token, map[string]any{"shared": false}); r.Status != http.StatusOK {
		t.Fatalf("unshare: %d %s", r.Status, r.Body)
	}
	boardImages := func() int64 {
		return bdCount(t, w.n1, w.a.ID, `SELECT count(*) FROM images WHERE board_id = ?`, w.boardA)
	}
	before := boardImages()
	if err := w.n1.App.Queue.Run(bg, queue.RunPayload{TenantID: w.a.ID, ItemID: id, RequesterID: w.userA.ID}, false); err != nil {
		t.Fatal(err)
	}
	v := w.item(t, w.userA.Token, id)
	if v.Status != queue.StatusFailed || v.Error == nil || !strings.Contains(*v.Error, "may no longer read the workflow") {
		t.Fatalf("item after the workflow was unshared: %+v (error %v)", v, v.Error)
	}

	// The requester is disabled between enqueue and run.
	id2 := w.mustEnqueue(t, w.userA.Token, w.wfA, w.boardA, w.imgA)
	if r := w.n1.Do(http.MethodPatch, "/api/v1/users/"+w.userA.ID.String(), w.a.Admin.Token, map[string]any{"disabled": true}); r.Status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if err := w.n1.App.Queue.Run(bg, queue.RunPayload{TenantID: w.a.ID, ItemID: id2, RequesterID: w.userA.ID}, false); err != nil {
		t.Fatal(err)
	}
	v = w.item(t, w.a.Admin.Token, id2)
	if v.Status != queue.StatusFailed || v.Error == nil || !strings.Contains(*v.Error, "disabled") {
		t.Fatalf("item of a disabled requester: %+v (error %v)", v, v.Error)
	}
	if after := boardImages(); after != before {
		t.Fatalf("%d images on the board after refused runs, want %d", after, before)
	}
}

// A read right on an input image revoked before the run (the image moved to a board A cannot
// see) fails the item too.
func TestQueue_inputImageNoLongerReadableAtRun_failsTheItem(t *testing.T) {
	t.Parallel()
	w := newQWorld(t, false)
	// B's image on a public board: A reads it at enqueue time.
	pub := w.board(t, w.userB.Token)
	if r := w.n1.Do(http.MethodPatch, "/api/v1/boards/"+pub.String(), w.userB.Token, map[string]any{"visibility": "public"}); r.Status != http.StatusOK {
		t.Fatalf("public: %d %s", r.Status, r.Body)
	}
	img := bdUpload(t, w.n1, w.userB.Token, w.ws.String(), &pub, bdPNG(20, 20))
	id := w.mustEnqueue(t, w.userA.Token, w.wfA, w.boardA, img)
	if r := w.n1.Do(http.MethodPatch, "/api/v1/boards/"+pub.String(), w.userB.Token, map[string]any{"visibility": "private"}); r.Status != http.StatusOK {
		t.Fatalf("private: %d %s", r.Status, r.Body)
	}
	if err := w.n1.App.Queue.Run(bg, queue.RunPayload{TenantID: w.a.ID, ItemID: id, RequesterID: w.userA.ID}, false); err != nil {
		t.Fatal(err)
	}
	v := w.item(t, w.userA.Token, id)
	if v.Status != queue.StatusFailed || v.Error == nil || !strings.Contains(*v.Error, "input image") {
		t.Fatalf("item: %+v (error %v)", v, v.Error)
	}
}

// InvokeAI #9358: bulk cancel forgot the events. Each canceled item gets its queue_item event
// (to its owner and the admins), and the counts follow.
func TestQueue_bulkCancelEmitsAnEventPerItem(t *testing.T) {
	t.Parallel()
	w := newQWorld(t, false)
	sA := stream(t, w.n1, w.n2, w.userA.Token)
	sAdmin := stream(t, w.n1, w.n1, w.wsAd.Token)
	var ids []uuid.UUID
	for i := 0; i < 3; i++ {
		ids = append(ids, w.mustEnqueue(t, w.userA.Token, w.wfA, w.boardA, w.imgA))
	}
	idB := w.mustEnqueue(t, w.userB.Token, w.workflow(t, w.userB.Token, wfGraph), w.boardB, w.imgB)
	// B may not cancel everyone's; B's "mine" cancels only B's.
	if r := w.n1.Do(http.MethodPost, "/api/v1/workspaces/"+w.ws.String()+"/queue/cancel", w.userB.Token, map[string]string{"scope": "all"}); r.Status != http.StatusForbidden {
		t.Fatalf("B cancels all: %d %s", r.Status, r.Body)
	}
	r := w.n1.Do(http.MethodPost, "/api/v1/workspaces/"+w.ws.String()+"/queue/cancel", w.userA.Token, map[string]string{"scope": "mine"})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"canceled":3`) {
		t.Fatalf("A cancels mine: %d %s", r.Status, r.Body)
	}
	for name, s := range map[string]*sseT{"A": {sA}, "workspace admin": {sAdmin}} {
		seen := map[uuid.UUID]bool{}
		for len(seen) < 3 {
			d := dataOf(t, s.NextNamed(t, "queue_item"))
			if d["status"] == queue.StatusCanceled {
				seen[uuid.MustParse(d["item_id"].(string))] = true
			}
		}
		for _, id := range ids {
			if !seen[id] {
				t.Errorf("%s got no canceled event for %s", name, id)
			}
		}
	}
	if v := w.item(t, w.userB.Token, idB); v.Status != queue.StatusPending {
		t.Fatalf("B's item after A's bulk cancel: %s", v.Status)
	}
	// The admin cancels everything left: B's item.
	r = w.n1.Do(http.MethodPost, "/api/v1/workspaces/"+w.ws.String()+"/queue/cancel", w.wsAd.Token, map[string]string{"scope": "all"})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"canceled":1`) {
		t.Fatalf("admin cancels all: %d %s", r.Status, r.Body)
	}
	for {
		d := dataOf(t, sAdmin.NextNamed(t, "queue_item"))
		if d["item_id"] == idB.String() && d["status"] == queue.StatusCanceled {
			break
		}
	}
}

// The listing shows everyone's items in order with the owner's name, but A's field values,
// results and errors only to A and the admins.
func TestQueue_listingHidesAsFieldValuesFromB(t *testing.T) {
	t.Parallel()
	w := newQWorld(t, false)
	id := w.mustEnqueue(t, w.userA.Token, w.wfA, w.boardA, w.imgA)
	list := func(token string) queue.View {
		t.Helper()
		r := w.n2.Do(http.MethodGet, "/api/v1/workspaces/"+w.ws.String()+"/queue", token, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("list: %d %s", r.Status, r.Body)
		}
		var page struct {
			Items []queue.View `json:"items"`
		}
		r.JSON(t, &page)
		if len(page.Items) != 1 || page.Items[0].ID != id {
			t.Fatalf("listing %s", r.Body)
		}
		return page.Items[0]
	}
	for _, c := range []struct {
		who    string
		token  string
		hidden bool
	}{{"A", w.userA.Token, false}, {"B", w.userB.Token, true}, {"workspace admin", w.wsAd.Token, false}, {"tenant admin", w.a.Admin.Token, false}} {
		v := list(c.token)
		if v.Hidden != c.hidden || (string(v.FieldValues) == "null") != c.hidden || (string(v.ResultImageIDs) == "null") != c.hidden {
			t.Errorf("%s: hidden %v, field values %s, results %s", c.who, v.Hidden, v.FieldValues, v.ResultImageIDs)
		}
		if v.OwnerName != "member" || v.OwnerID != w.userA.ID {
			t.Errorf("%s: owner %s %q", c.who, v.OwnerID, v.OwnerName)
		}
		if !c.hidden && !strings.Contains(string(v.FieldValues), w.imgA.String()) {
			t.Errorf("%s: field values %s", c.who, v.FieldValues)
		}
		if got := w.item(t, c.token, id); got.Hidden != c.hidden {
			t.Errorf("%s: GET item hidden %v", c.who, got.Hidden)
		}
	}
	r := w.n1.Do(http.MethodGet, "/api/v1/workspaces/"+w.ws.String()+"/queue", w.userB.Token, nil)
	if strings.Contains(string(r.Body), w.imgA.String()) {
		t.Fatalf("B's listing carries A's field values: %s", r.Body)
	}
}

// The quota profile caps a user's pending items: past it, 429 with a clear message, nothing
// queued; other users are not affected.
func TestQueue_pendingQuotaFromProfile_refusesWith429(t *testing.T) {
	t.Parallel()
	w := newQWorld(t, false)
	r := w.n1.Do(http.MethodPost, "/api/v1/profiles", w.a.Admin.Token, map[string]any{"type": "quota", "name": "tight",
		"settings": map[string]any{"max_pending_queue_items_per_user": 2}})
	if r.Status != http.StatusCreated {
		t.Fatalf("profile: %d %s", r.Status, r.Body)
	}
	pid := idOf(t, r)
	if r := w.n1.Do(http.MethodPut, "/api/v1/workspaces/"+w.ws.String()+"/profiles/quota", w.a.Admin.Token, map[string]any{"profile_id": pid}); r.Status/100 != 2 {
		t.Fatalf("assign: %d %s", r.Status, r.Body)
	}
	first := w.mustEnqueue(t, w.userA.Token, w.wfA, w.boardA, w.imgA)
	w.mustEnqueue(t, w.userA.Token, w.wfA, w.boardA, w.imgA)
	r = w.enqueue(w.n1, w.userA.Token, w.wfA, w.boardA, w.imgA)
	if r.Status != http.StatusTooManyRequests || !strings.Contains(string(r.Body), "the limit is 2") {
		t.Fatalf("third item: %d %s", r.Status, r.Body)
	}
	if n := qCount(t, w); n != 2 {
		t.Fatalf("%d items queued, want 2", n)
	}
	// A retry makes an item pending again: it counts too.
	if r := w.n1.Do(http.MethodPost, "/api/v1/queue/"+first.String()+"/cancel", w.userA.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	w.mustEnqueue(t, w.userA.Token, w.wfA, w.boardA, w.imgA)
	if r := w.n1.Do(http.MethodPost, "/api/v1/queue/"+first.String()+"/retry", w.userA.Token, nil); r.Status != http.StatusTooManyRequests {
		t.Fatalf("retry over the quota: %d %s", r.Status, r.Body)
	}
	w.mustEnqueue(t, w.userB.Token, w.workflow(t, w.userB.Token, wfGraph), w.boardB, w.imgB)
}

// Canceling a running item stops it between nodes: no further node runs and nothing is saved.
func TestQueue_cancelRunningItem_stopsBetweenNodesAndSavesNothing(t *testing.T) {
	t.Parallel()
	w := newQWorld(t, false)
	id := w.mustEnqueue(t, w.userA.Token, w.wfA, w.boardA, w.imgA)
	var ran []string
	w.n1.App.Queue.SetNodeHook(func(item uuid.UUID, node string) {
		ran = append(ran, node)
		if node == "in" {
			if r := w.n1.Do(http.MethodPost, "/api/v1/queue/"+item.String()+"/cancel", w.userA.Token, nil); r.Status != http.StatusOK {
				t.Errorf("cancel: %d %s", r.Status, r.Body)
			}
		}
	})
	before := bdCount(t, w.n1, w.a.ID, `SELECT count(*) FROM images`)
	if err := w.n1.App.Queue.Run(bg, queue.RunPayload{TenantID: w.a.ID, ItemID: id, RequesterID: w.userA.ID}, false); err != nil {
		t.Fatal(err)
	}
	if strings.Join(ran, ",") != "in" {
		t.Fatalf("nodes run: %v, want only in", ran)
	}
	v := w.item(t, w.userA.Token, id)
	if v.Status != queue.StatusCanceled || v.Progress >= 1 {
		t.Fatalf("item %+v", v)
	}
	if after := bdCount(t, w.n1, w.a.ID, `SELECT count(*) FROM images`); after != before {
		t.Fatalf("%d images, want %d", after, before)
	}
	// A canceled item is retried by its owner and then runs to the end.
	w.n1.App.Queue.SetNodeHook(nil)
	if r := w.n1.Do(http.MethodPost, "/api/v1/queue/"+id.String()+"/retry", w.userA.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("retry: %d %s", r.Status, r.Body)
	}
	if err := w.n1.App.Queue.Run(bg, queue.RunPayload{TenantID: w.a.ID, ItemID: id, RequesterID: w.userA.ID}, false); err != nil {
		t.Fatal(err)
	}
	if v := w.item(t, w.userA.Token, id); v.Status != queue.StatusCompleted {
		t.Fatalf("after retry: %s", v.Status)
	}
}

// A worker killed mid-item leaves it running with a lease: asynq's retry restarts it cleanly as
// a new attempt; if none comes, the sweeper fails it once the lease has passed.
func TestQueue_workerKilledMidItem_isRestartedOrFailedAfterItsLease(t *testing.T) {
	t.Parallel()
	w := newQWorld(t, false)
	killed := func() uuid.UUID {
		id := w.mustEnqueue(t, w.userA.Token, w.wfA, w.boardA, w.imgA)
		// What a killed worker leaves: claimed, half way, lease running.
		bdExec(t, w.n1, w.a.ID, `UPDATE queue_items SET status = 'running', attempt = 1, progress = 0.5, lease_until = ? WHERE id = ?`,
			time.Now().Add(10*time.Minute), id)
		return id
	}
	restarted := killed()
	if err := w.n1.App.Queue.Run(bg, queue.RunPayload{TenantID: w.a.ID, ItemID: restarted, RequesterID: w.userA.ID}, false); err != nil {
		t.Fatal(err)
	}
	if n := bdCount(t, w.n1, w.a.ID, `SELECT count(*) FROM queue_items WHERE id = ? AND status = 'completed' AND attempt = 2`, restarted); n != 1 {
		t.Fatalf("restarted item not completed as attempt 2")
	}
	abandoned := killed()
	s := stream(t, w.n1, w.n1, w.userA.Token)
	q := w.n1.App.Queue
	if n, err := q.Sweep(tenancyCtx(w.a.ID)); err != nil || n != 0 {
		t.Fatalf("sweep before the lease ends: %d, %v", n, err)
	}
	q.SetClock(func() time.Time { return time.Now().UTC().Add(11 * time.Minute) })
	defer q.SetClock(func() time.Time { return time.Now().UTC() })
	if n, err := q.Sweep(tenancyCtx(w.a.ID)); err != nil || n != 1 {
		t.Fatalf("sweep after the lease: %d, %v", n, err)
	}
	evs := until(t, s, abandoned)
	if last := evs[len(evs)-1]; last.Status != queue.StatusFailed || !strings.Contains(last.Error, "lease") {
		t.Fatalf("event %+v", last)
	}
	// A late retry of the swept item does nothing: it is finished.
	before := bdCount(t, w.n1, w.a.ID, `SELECT count(*) FROM images`)
	if err := q.Run(bg, queue.RunPayload{TenantID: w.a.ID, ItemID: abandoned, RequesterID: w.userA.ID}, false); err != nil {
		t.Fatal(err)
	}
	if after := bdCount(t, w.n1, w.a.ID, `SELECT count(*) FROM images`); after != before {
		t.Fatal("a finished item ran again")
	}
}

// Two API nodes and one worker: A's item events reach A on both nodes and the admins, never B
// of the same tenant nor the other tenant. Absence is proven by order: a marker published
// after the item completed arrives on those streams with no queue_item before it.
func TestQueue_twoNodesOneWorker_itemEventsReachOwnerAndAdminsOnly(t *testing.T) {
	t.Parallel()
	w := newQWorld(t, true)
	type sub struct {
		name  string
		s     *sseT
		sees  bool
		other bool // of tenant B
	}
	subs := []sub{
		{"A on node 1", &sseT{stream(t, w.n2, w.n1, w.userA.Token)}, true, false},
		{"A on node 2", &sseT{stream(t, w.n1, w.n2, w.userA.Token)}, true, false},
		{"workspace admin on node 2", &sseT{stream(t, w.n1, w.n2, w.wsAd.Token)}, true, false},
		{"tenant admin on node 1", &sseT{stream(t, w.n1, w.n1, w.a.Admin.Token)}, true, false},
		{"B on node 1", &sseT{stream(t, w.n1, w.n1, w.userB.Token)}, false, false},
		{"B on node 2", &sseT{stream(t, w.n2, w.n2, w.userB.Token)}, false, false},
		{"other tenant on node 2", &sseT{stream(t, w.n1, w.n2, w.b.Admin.Token)}, false, true},
	}
	id := w.mustEnqueue(t, w.userA.Token, w.wfA, w.boardA, w.imgA)
	for _, s := range subs {
		if s.sees {
			if evs := until(t, s.s.SSE, id); evs[len(evs)-1].Status != queue.StatusCompleted {
				t.Fatalf("%s: %+v", s.name, evs)
			}
		}
	}
	for _, tenant := range []uuid.UUID{w.a.ID, w.b.ID} {
		publishOn(t, w.n1, events.Event{TenantID: tenant, Name: "marker", TenantWide: true, Data: map[string]any{}})
	}
	for _, s := range subs {
		if s.sees {
			continue
		}
		counts := 0
		for {
			ev := s.s.Next(t)
			if ev.Name == "marker" {
				break
			}
			if ev.Name == "queue_item" || strings.Contains(ev.Data, id.String()) {
				t.Errorf("%s received %s %s", s.name, ev.Name, ev.Data)
			}
			if ev.Name == "queue_counts" {
				counts++
				var c map[string]any
				_ = json.Unmarshal([]byte(ev.Data), &c)
				if len(c) != 2 {
					t.Errorf("%s: counts carry more than counts: %s", s.name, ev.Data)
				}
			}
		}
		if s.other && counts != 0 {
			t.Errorf("%s received %d queue_counts of another tenant", s.name, counts)
		}
		if !s.other && counts == 0 {
			t.Errorf("%s received no queue_counts", s.name)
		}
	}
}

// The embedded default (SQLite, in-process broker): the same run, cancel and listing work.
func TestQueue_embeddedDefault_runsAndLists(t *testing.T) {
	t.Parallel()
	n := apptest.Start(t, func(c *configs.Config) { c.DatabaseURL, c.RedisURL = "", "" })
	tn := n.SignUp(t)
	qname := isolateQueue(t, n)
	jw := jobs.NewWorker(n.App.Broker, jobs.WorkerConfig{Queues: map[string]int{qname: 1}, PollInterval: 20 * time.Millisecond}, n.App.Log)
	n.App.RegisterTasks(jw)
	if err := jw.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(jw.Shutdown)
	tok := tn.Admin.Token
	r := n.Do(http.MethodPost, "/api/v1/workspaces/default/boards", tok, map[string]any{"name": "b"})
	if r.Status != http.StatusCreated {
		t.Fatalf("board: %d %s", r.Status, r.Body)
	}
	board := idOf(t, r)
	img := bdUpload(t, n, tok, "default", &board, bdPNG(20, 20))
	r = n.Do(http.MethodPost, "/api/v1/workspaces/default/workflows", tok, map[string]any{"name": "w", "graph": rawJSON(wfGraph)})
	if r.Status != http.StatusCreated {
		t.Fatalf("workflow: %d %s", r.Status, r.Body)
	}
	wf := idOf(t, r)
	s := stream(t, n, n, tok)
	body := map[string]any{"workflow_id": wf, "board_id": board, "field_values": map[string]any{"in.image_id": img}}
	r = n.Do(http.MethodPost, "/api/v1/workspaces/default/queue", tok, body)
	if r.Status != http.StatusCreated {
		t.Fatalf("enqueue: %d %s", r.Status, r.Body)
	}
	id := idOf(t, r)
	if evs := until(t, s, id); evs[len(evs)-1].Status != queue.StatusCompleted || len(evs[len(evs)-1].ResultIDs) != 1 {
		t.Fatalf("events %+v", evs)
	}
	r = n.Do(http.MethodGet, "/api/v1/workspaces/default/queue", tok, nil)
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"status":"completed"`) || !strings.Contains(string(r.Body), `"owner_name":"Admin"`) {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	// Bulk cancel uses RETURNING on SQLite too; with the worker stopped the items stay pending.
	jw.Shutdown()
	for i := 0; i < 2; i++ {
		if r := n.Do(http.MethodPost, "/api/v1/workspaces/default/queue", tok, body); r.Status != http.StatusCreated {
			t.Fatalf("enqueue: %d %s", r.Status, r.Body)
		}
	}
	r = n.Do(http.MethodPost, "/api/v1/workspaces/default/queue/cancel", tok, map[string]string{"scope": "all"})
	if r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"canceled":2`) {
		t.Fatalf("cancel all: %d %s", r.Status, r.Body)
	}
}

// A worker shutting down mid-run (its context canceled) hands the task back to asynq: the item
// stays running for the retry (or the sweeper). A run past its timeout fails with the reason.
func TestQueue_shutdownMidRunLeavesItForTheRetry_timeoutFailsIt(t *testing.T) {
	t.Parallel()
	w := newQWorld(t, false)
	q := w.n1.App.Queue
	for _, c := range []struct {
		name   string
		stop   func() (context.Context, func())
		status string
	}{
		{"shutdown", func() (context.Context, func()) { return context.WithCancel(bg) }, queue.StatusRunning},
		{"timeout", func() (context.Context, func()) {
			ctx, cancel := context.WithDeadline(bg, time.Now().Add(time.Hour))
			// The hook ends the deadline at once: the run then sees DeadlineExceeded.
			return &expiring{Context: ctx}, cancel
		}, queue.StatusFailed},
	} {
		id := w.mustEnqueue(t, w.userA.Token, w.wfA, w.boardA, w.imgA)
		ctx, stop := c.stop()
		q.SetNodeHook(func(uuid.UUID, string) {
			if e, ok := ctx.(*expiring); ok {
				e.expire()
				return
			}
			stop()
		})
		err := q.Run(ctx, queue.RunPayload{TenantID: w.a.ID, ItemID: id, RequesterID: w.userA.ID}, false)
		stop()
		if (err != nil) != (c.status == queue.StatusRunning) {
			t.Errorf("%s: Run returned %v", c.name, err)
		}
		v := w.item(t, w.userA.Token, id)
		if v.Status != c.status {
			t.Errorf("%s: item %s, want %s (error %v)", c.name, v.Status, c.status, v.Error)
		}
		if c.status == queue.StatusFailed && (v.Error == nil || !strings.Contains(*v.Error, "took longer")) {
			t.Errorf("%s: error %v", c.name, v.Error)
		}
	}
	q.SetNodeHook(nil)
}

// expiring is a context whose deadline passes when expire is called.
type expiring struct {
	context.Context
	mu   sync.Mutex
	done chan struct{}
}

func (e *expiring) expire() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done == nil {
		e.done = make(chan struct{})
		close(e.done)
	}
}

func (e *expiring) Done() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done != nil {
		return e.done
	}
	return e.Context.Done()
}

func (e *expiring) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.done != nil {
		return context.DeadlineExceeded
	}
	return e.Context.Err()
}
