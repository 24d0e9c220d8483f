package queue

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"
	"gorm.io/datatypes"

	"github.com/atelier-hq/atelier/modules/apierr"
)

func TestView_hidesFieldValuesResultsAndErrorUnlessShown(t *testing.T) {
	l := listed{Item: Item{ID: uuid.New(), Status: StatusFailed, FieldValues: datatypes.JSON(`{"in.image_id":"x"}`),
		ResultImageIDs: datatypes.JSON(`[]`), Error: "the requester may no longer read the workflow"}}
	hidden := l.view(false)
	raw, _ := json.Marshal(hidden)
	for _, want := range []string{`"field_values":null`, `"result_image_ids":null`, `"error":null`, `"hidden":true`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("hidden view %s lacks %s", raw, want)
		}
	}
	if strings.Contains(string(raw), "in.image_id") || strings.Contains(string(raw), "no longer") {
		t.Errorf("hidden view leaks: %s", raw)
	}
	shown := l.view(true)
	if shown.Hidden || string(shown.FieldValues) != `{"in.image_id":"x"}` || shown.Error == nil {
		t.Errorf("shown view %+v", shown)
	}
}

func TestOwnerName_displayNameThenEmailThenID(t *testing.T) {
	id := uuid.New()
	cases := []struct{ display, email, want string }{
		{"Ann", "ann@x.test", "Ann"},
		{"", "ann@x.test", "ann@x.test"},
		{"", "", id.String()},
	}
	for _, c := range cases {
		if got := ownerName(id, c.display, c.email); got != c.want {
			t.Errorf("ownerName(%q, %q) = %q, want %q", c.display, c.email, got, c.want)
		}
	}
}

func TestOutputName_fitsAnImageName(t *testing.T) {
	long := strings.Repeat("é", 200)
	node := strings.Repeat("n", 64)
	if got := []rune(outputName(long, node)); len(got) > 255 {
		t.Fatalf("%d characters", len(got))
	}
}

func TestIDsJSON_isAJSONArrayOfIDs(t *testing.T) {
	ids := []uuid.UUID{uuid.New(), uuid.New()}
	var back []uuid.UUID
	if err := json.Unmarshal(idsJSON(ids), &back); err != nil || len(back) != 2 || back[1] != ids[1] {
		t.Fatalf("%s: %v", idsJSON(ids), err)
	}
	if string(idsJSON(nil)) != "[]" {
		t.Fatalf("empty: %s", idsJSON(nil))
	}
}

// Access refusals fail the item with a reason; an unavailable dependency or an unknown error is
// transient (asynq retries).
func TestDenied_refusesAccessErrorsAndRetriesTheRest(t *testing.T) {
	cases := []struct {
		name    string
		err     error
		refusal bool
	}{
		{"not found", apierr.NotFound("image"), true},
		{"forbidden", apierr.Forbidden("may not add images to this board"), true},
		{"invalid", apierr.Invalid("board_id", "the board is in another workspace"), true},
		{"unavailable", apierr.Unavailable("database", errors.New("down")), false},
		{"plain", errors.New("connection reset"), false},
		{"stopped", errStopped, false},
	}
	for _, c := range cases {
		var r *refusal
		if got := errors.As(denied(c.err, "because"), &r); got != c.refusal {
			t.Errorf("%s: refusal %v, want %v", c.name, got, c.refusal)
		}
	}
}
