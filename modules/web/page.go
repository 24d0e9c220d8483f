package web

import (
	"encoding/base64"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/apierr"
)

// Page is the shape of every list answer.
type Page[T any] struct {
	Items      []T     `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// PageQuery is the paging input of every list route.
type PageQuery struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"200" description:"page size (default 50)"`
	Cursor string `query:"cursor" description:"next_cursor of the previous page"`
}

// Paging limits.
const (
	DefaultLimit = 50
	MaxLimit     = 200
)

// Cursor is a decoded page position: the last id of the previous page. Ids are UUIDv7, so id
// order is creation order.
type Cursor struct {
	Limit int
	After uuid.UUID
}

// ParsePage reads ?limit= and ?cursor=, refusing values out of range.
func ParsePage(c *fiber.Ctx) (Cursor, error) {
	cur := Cursor{Limit: DefaultLimit}
	if raw := c.Query("limit"); raw != "" {
		n := c.QueryInt("limit", -1)
		if n < 1 || n > MaxLimit {
			return cur, apierr.Invalid("limit", "must be between 1 and 200")
		}
		cur.Limit = n
	}
	if raw := c.Query("cursor"); raw != "" {
		b, err := base64.RawURLEncoding.DecodeString(raw)
		if err != nil {
			return cur, apierr.Invalid("cursor", "malformed cursor")
		}
		id, err := uuid.FromBytes(b)
		if err != nil {
			return cur, apierr.Invalid("cursor", "malformed cursor")
		}
		cur.After = id
	}
	return cur, nil
}

// NewPage builds a page from up to limit+1 rows: the extra row only says there is more.
func NewPage[T any](rows []T, limit int, idOf func(T) uuid.UUID) Page[T] {
	page := Page[T]{Items: rows}
	if len(rows) > limit {
		page.Items = rows[:limit]
		last := idOf(rows[limit-1])
		next := base64.RawURLEncoding.EncodeToString(last[:])
		page.NextCursor = &next
	}
	if page.Items == nil {
		page.Items = []T{}
	}
	return page
}
