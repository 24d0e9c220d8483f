package web

import (
	"context"
	"reflect"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/apierr"
)

// The handlers below are the shapes most routes share: read what the route addresses, call the
// service with the request's context, answer. A route whose rules differ (extra query
// parameters, headers, other statuses) keeps an explicit handler; these only remove the copies.

// Arg reads one argument of a service call from the request, refusing a bad value as a 400.
type Arg[K any] func(c *fiber.Ctx) (K, error)

// ID is the path parameter param as a UUID; kind names the object in the error ("board").
func ID(param, kind string) Arg[uuid.UUID] {
	return func(c *fiber.Ctx) (uuid.UUID, error) { return ParamUUID(c, param, kind) }
}

// Param is the path parameter name as the service takes it (a workspace id or slug, a type).
func Param(name string) Arg[string] {
	return func(c *fiber.Ctx) (string, error) { return c.Params(name), nil }
}

// Query is the query parameter name as given, "" when absent (a filter the service checks).
func Query(name string) Arg[string] {
	return func(c *fiber.Ctx) (string, error) { return c.Query(name), nil }
}

// Get answers 200 with what fn returns for the addressed object.
func Get[K, T any](arg Arg[K], fn func(context.Context, K) (T, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		k, err := arg(c)
		if err != nil {
			return err
		}
		v, err := fn(c.UserContext(), k)
		if err != nil {
			return err
		}
		return c.JSON(v)
	}
}

// Action is Get for a body-less POST that changes the addressed object (cancel, retry) and
// answers it as it now is.
func Action[K, T any](arg Arg[K], fn func(context.Context, K) (T, error)) fiber.Handler {
	return Get(arg, fn)
}

// Create decodes the body and answers 201 with what fn made of it.
func Create[In, T any](fn func(context.Context, In) (T, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		var in In
		if err := Decode(c, &in); err != nil {
			return err
		}
		v, err := fn(c.UserContext(), in)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(v)
	}
}

// CreateUnder is Create inside the addressed parent (a workspace's boards, a board's members).
// The parent is read first: a malformed id is refused before the body is looked at.
func CreateUnder[K, In, T any](parent Arg[K], fn func(context.Context, K, In) (T, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		k, err := parent(c)
		if err != nil {
			return err
		}
		var in In
		if err := Decode(c, &in); err != nil {
			return err
		}
		v, err := fn(c.UserContext(), k, in)
		if err != nil {
			return err
		}
		return c.Status(fiber.StatusCreated).JSON(v)
	}
}

// Update decodes a partial change of the addressed object and answers 200 with the result. A
// body that sets no field (In is all pointers and raw JSON, nil when absent) changes nothing and
// is refused.
func Update[K, In, T any](arg Arg[K], fn func(context.Context, K, In) (T, error)) fiber.Handler {
	return func(c *fiber.Ctx) error {
		k, err := arg(c)
		if err != nil {
			return err
		}
		var in In
		if err := Decode(c, &in); err != nil {
			return err
		}
		if reflect.ValueOf(&in).Elem().IsZero() {
			return apierr.Invalid("body", "nothing to change")
		}
		v, err := fn(c.UserContext(), k, in)
		if err != nil {
			return err
		}
		return c.JSON(v)
	}
}

// List answers one cursor page (?limit=, ?cursor=) of fn's rows. fn is asked for limit+1 rows
// after the cursor: the extra row only says there is a next page. idOf is the row's cursor id.
func List[T any](fn func(ctx context.Context, after uuid.UUID, limit int) ([]T, error), idOf func(T) uuid.UUID) fiber.Handler {
	return func(c *fiber.Ctx) error {
		page, err := ParsePage(c)
		if err != nil {
			return err
		}
		rows, err := fn(c.UserContext(), page.After, page.Limit+1)
		if err != nil {
			return err
		}
		return c.JSON(NewPage(rows, page.Limit, idOf))
	}
}

// ListBy is List narrowed by one argument: the addressed parent (a workspace's queue, a board's
// members) or a filter passed as given. The argument is read before the page.
func ListBy[K, T any](by Arg[K], fn func(ctx context.Context, by K, after uuid.UUID, limit int) ([]T, error), idOf func(T) uuid.UUID) fiber.Handler {
	return func(c *fiber.Ctx) error {
		k, err := by(c)
		if err != nil {
			return err
		}
		page, err := ParsePage(c)
		if err != nil {
			return err
		}
		rows, err := fn(c.UserContext(), k, page.After, page.Limit+1)
		if err != nil {
			return err
		}
		return c.JSON(NewPage(rows, page.Limit, idOf))
	}
}

// Delete calls fn on the addressed object and answers 204.
func Delete[K any](arg Arg[K], fn func(context.Context, K) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		k, err := arg(c)
		if err != nil {
			return err
		}
		if err := fn(c.UserContext(), k); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}

// DeleteUnder is Delete of a child of the addressed parent (a board's member, a workspace's
// grant), the parent read first.
func DeleteUnder[K, C any](parent Arg[K], child Arg[C], fn func(context.Context, K, C) error) fiber.Handler {
	return func(c *fiber.Ctx) error {
		k, err := parent(c)
		if err != nil {
			return err
		}
		ch, err := child(c)
		if err != nil {
			return err
		}
		if err := fn(c.UserContext(), k, ch); err != nil {
			return err
		}
		return c.SendStatus(fiber.StatusNoContent)
	}
}
