package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/atelier-hq/atelier/modules/web"
)

// The server's own limit admits uploads; LimitBody keeps every other body small: a JSON body over
// the limit is a 413 in the error shape before any handler runs, a multipart upload of the same
// size reaches its handler.
func TestLimitBody_smallJSONLargeUploads(t *testing.T) {
	const limit = 1 << 10
	app := fiber.New(fiber.Config{BodyLimit: 1 << 20, ErrorHandler: web.ErrorHandler(discardLogger())})
	app.Use(web.LimitBody(limit))
	reached := 0
	app.Post("/", func(c *fiber.Ctx) error { reached++; return c.SendStatus(fiber.StatusNoContent) })

	big := `{"name":"` + strings.Repeat("a", 2*limit) + `"}`
	for _, tc := range []struct {
		name, body, ctype string
		want              int
	}{
		{"small JSON", `{"name":"a"}`, fiber.MIMEApplicationJSON, fiber.StatusNoContent},
		{"JSON over the limit", big, fiber.MIMEApplicationJSON, fiber.StatusRequestEntityTooLarge},
		{"no content type over the limit", big, "", fiber.StatusRequestEntityTooLarge},
	} {
		req := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		if tc.ctype != "" {
			req.Header.Set("Content-Type", tc.ctype)
		}
		resp, err := app.Test(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
		if tc.want == fiber.StatusRequestEntityTooLarge {
			var e struct {
				Error struct{ Code string } `json:"error"`
			}
			raw, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(raw, &e); err != nil || e.Error.Code != "too_large" {
				t.Errorf("%s: body %s, want the error shape with code too_large", tc.name, raw)
			}
		}
	}

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "a.png")
	_, _ = fw.Write(bytes.Repeat([]byte{1}, 4*limit))
	_ = mw.Close()
	req := httptest.NewRequest("POST", "/", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := app.Test(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != fiber.StatusNoContent {
		t.Errorf("multipart upload over the JSON limit: %d, want 204", resp.StatusCode)
	}
	if reached != 2 {
		t.Errorf("handler ran %d times, want 2 (the small JSON and the upload)", reached)
	}
}
