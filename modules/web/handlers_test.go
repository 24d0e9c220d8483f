package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/web"
)

type thing struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
}

type thingPatch struct {
	Name *string `json:"name"`
}

// things is a service of the shapes the handlers serve; calls counts what reached it.
type things struct {
	rows  []thing
	calls int
}

func (s *things) get(_ context.Context, id uuid.UUID) (thing, error) {
	s.calls++
	return thing{ID: id, Name: "got"}, nil
}

func (s *things) create(_ context.Context, in thing) (thing, error) { s.calls++; return in, nil }

func (s *things) createUnder(_ context.Context, parent uuid.UUID, in thing) (thing, error) {
	s.calls++
	return thing{ID: parent, Name: in.Name}, nil
}

func (s *things) update(_ context.Context, id uuid.UUID, in thingPatch) (thing, error) {
	s.calls++
	return thing{ID: id, Name: *in.Name}, nil
}

func (s *things) delete(context.Context, uuid.UUID) error { s.calls++; return nil }

func (s *things) deletePart(context.Context, uuid.UUID, string) error { s.calls++; return nil }

func (s *things) list(_ context.Context, after uuid.UUID, limit int) ([]thing, error) {
	s.calls++
	var out []thing
	for _, r := range s.rows {
		if (after == uuid.Nil || r.ID.String() > after.String()) && len(out) < limit {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *things) listBy(ctx context.Context, name string, after uuid.UUID, limit int) ([]thing, error) {
	rows, err := s.list(ctx, after, limit)
	for i := range rows {
		rows[i].Name = name
	}
	return rows, err
}

func thingID(t thing) uuid.UUID { return t.ID }

func TestHandlers_answerEachShapeWithItsStatusAndRefuseBadInputBeforeTheService(t *testing.T) {
	s := &things{}
	for range 3 {
		s.rows = append(s.rows, thing{ID: uuid.Must(uuid.NewV7())})
	}
	f := fiber.New(fiber.Config{ErrorHandler: web.ErrorHandler(discardLogger())})
	id := web.ID("id", "thing")
	f.Get("/things", web.List(s.list, thingID))
	f.Get("/named", web.ListBy(web.Query("name"), s.listBy, thingID))
	f.Post("/things", web.Create(s.create))
	f.Get("/things/:id", web.Get(id, s.get))
	f.Post("/things/:id/touch", web.Action(id, s.get))
	f.Patch("/things/:id", web.Update(id, s.update))
	f.Delete("/things/:id", web.Delete(id, s.delete))
	f.Post("/things/:id/children", web.CreateUnder(id, s.createUnder))
	f.Delete("/things/:id/parts/:part", web.DeleteUnder(id, web.Param("part"), s.deletePart))
	known := s.rows[0].ID.String()

	cases := []struct {
		method, path, body string
		status             int
		want               string // a piece of the body
		reached            bool   // whether the service was called
	}{
		{"GET", "/things/" + known, "", 200, `"name":"got"`, true},
		{"GET", "/things/nope", "", 404, `"not_found"`, false},
		{"POST", "/things/" + known + "/touch", "", 200, known, true},
		{"POST", "/things", `{"name":"new"}`, 201, `"name":"new"`, true},
		{"POST", "/things", `{"nom":"new"}`, 400, `"nom"`, false},
		{"PATCH", "/things/" + known, `{"name":"renamed"}`, 200, `"name":"renamed"`, true},
		{"PATCH", "/things/" + known, `{}`, 400, `nothing to change`, false},
		{"PATCH", "/things/nope", `{}`, 404, `"not_found"`, false},
		{"DELETE", "/things/" + known, "", 204, "", true},
		{"DELETE", "/things/nope", "", 404, `"not_found"`, false},
		{"POST", "/things/" + known + "/children", `{"name":"kid"}`, 201, `"name":"kid"`, true},
		// The parent is read first: a bad id answers 404 even with a bad body.
		{"POST", "/things/nope/children", `{"nom":1}`, 404, `"not_found"`, false},
		{"DELETE", "/things/" + known + "/parts/wheel", "", 204, "", true},
		{"DELETE", "/things/nope/parts/wheel", "", 404, `"not_found"`, false},
		{"GET", "/things?limit=2", "", 200, `"next_cursor":"`, true},
		{"GET", "/things?limit=0", "", 400, `"limit"`, false},
		{"GET", "/named?name=x", "", 200, `"name":"x"`, true},
		{"GET", "/named?cursor=@@", "", 400, `"cursor"`, false},
	}
	for _, tc := range cases {
		s.calls = 0
		req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
		if tc.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := f.Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.status || !strings.Contains(string(body), tc.want) {
			t.Errorf("%s %s: %d %s, want %d with %s", tc.method, tc.path, resp.StatusCode, body, tc.status, tc.want)
		}
		if reached := s.calls > 0; reached != tc.reached {
			t.Errorf("%s %s: service reached = %v, want %v", tc.method, tc.path, reached, tc.reached)
		}
	}
}

// A list asks for one row more than the page and keeps it out of the answer: it only says that
// a next page exists; the last page has no cursor.
func TestList_pagesThroughEveryRowOnce(t *testing.T) {
	s := &things{}
	for range 5 {
		s.rows = append(s.rows, thing{ID: uuid.Must(uuid.NewV7())})
	}
	f := fiber.New(fiber.Config{ErrorHandler: web.ErrorHandler(discardLogger())})
	f.Get("/things", web.List(s.list, thingID))
	var seen []uuid.UUID
	path := "/things?limit=2"
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("more pages than rows")
		}
		resp, err := f.Test(httptest.NewRequest("GET", path, nil), -1)
		if err != nil {
			t.Fatal(err)
		}
		var page web.Page[thing]
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Items {
			seen = append(seen, r.ID)
		}
		if page.NextCursor == nil {
			break
		}
		path = "/things?limit=2&cursor=" + *page.NextCursor
	}
	if len(seen) != len(s.rows) {
		t.Fatalf("saw %d rows, want %d", len(seen), len(s.rows))
	}
	for i, r := range s.rows {
		if seen[i] != r.ID {
			t.Fatalf("row %d: %s, want %s", i, seen[i], r.ID)
		}
	}
}
