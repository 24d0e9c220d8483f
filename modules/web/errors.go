package web

import (
	"context"
	"errors"
	"log/slog"
	"strconv"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/atelier-hq/atelier/modules/apierr"
)

// ErrorBody is the JSON shape of every error answer.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code    apierr.Code `json:"code"`
	Message string      `json:"message"`
	Details any         `json:"details,omitempty"`
}

var statusOf = map[apierr.Code]int{
	apierr.CodeInvalid:          fiber.StatusBadRequest,
	apierr.CodeUnauthorized:     fiber.StatusUnauthorized,
	apierr.CodeForbidden:        fiber.StatusForbidden,
	apierr.CodeNotFound:         fiber.StatusNotFound,
	apierr.CodeConflict:         fiber.StatusConflict,
	apierr.CodeTooLarge:         fiber.StatusRequestEntityTooLarge,
	apierr.CodeLengthRequired:   fiber.StatusLengthRequired,
	apierr.CodeUnsupportedMedia: fiber.StatusUnsupportedMediaType,
	apierr.CodeHeaderTooLarge:   fiber.StatusRequestHeaderFieldsTooLarge,
	apierr.CodeMethodNotAllowed: fiber.StatusMethodNotAllowed,
	apierr.CodeRateLimited:      fiber.StatusTooManyRequests,
	apierr.CodeUnavailable:      fiber.StatusServiceUnavailable,
	apierr.CodeInternal:         fiber.StatusInternalServerError,
}

var codeOf = map[int]apierr.Code{
	fiber.StatusBadRequest:                  apierr.CodeInvalid,
	fiber.StatusUnauthorized:                apierr.CodeUnauthorized,
	fiber.StatusForbidden:                   apierr.CodeForbidden,
	fiber.StatusNotFound:                    apierr.CodeNotFound,
	fiber.StatusMethodNotAllowed:            apierr.CodeNotFound,
	fiber.StatusConflict:                    apierr.CodeConflict,
	fiber.StatusRequestEntityTooLarge:       apierr.CodeTooLarge,
	fiber.StatusLengthRequired:              apierr.CodeLengthRequired,
	fiber.StatusUnsupportedMediaType:        apierr.CodeUnsupportedMedia,
	fiber.StatusRequestHeaderFieldsTooLarge: apierr.CodeHeaderTooLarge,
	fiber.StatusTooManyRequests:             apierr.CodeRateLimited,
	fiber.StatusServiceUnavailable:          apierr.CodeUnavailable,
}

// ErrorHandler maps every error a handler returns to a status and the JSON error shape. Errors
// that are not categorised are logged with the request id and answered as a bare 500: no stack
// trace, SQL or internal message reaches the caller.
func ErrorHandler(log *slog.Logger) fiber.ErrorHandler {
	return func(c *fiber.Ctx, err error) error {
		status, body := Render(err)
		if status >= 500 {
			log.ErrorContext(c.UserContext(), "request failed",
				slog.String("request_id", RequestID(c)),
				slog.String("method", c.Method()),
				slog.String("path", c.Path()),
				slog.Any("error", err))
		}
		if e, ok := apierr.As(err); ok && (e.Code == apierr.CodeRateLimited || e.Code == apierr.CodeUnavailable) {
			if d, ok := e.Details.(map[string]int); ok {
				c.Set(fiber.HeaderRetryAfter, strconv.Itoa(max(d["retry_after"], 1)))
			}
		}
		return c.Status(status).JSON(body)
	}
}

// Render turns an error into its status and body.
func Render(err error) (int, ErrorBody) {
	if e, ok := apierr.As(err); ok {
		status, known := statusOf[e.Code]
		if !known {
			status = fiber.StatusInternalServerError
		}
		msg := e.Message
		if status >= 500 && e.Code != apierr.CodeUnavailable {
			msg = "internal error"
		}
		return status, ErrorBody{Error: ErrorDetail{Code: e.Code, Message: msg, Details: e.Details}}
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		code, ok := codeOf[fe.Code]
		if !ok || fe.Code >= 500 {
			return fiber.StatusInternalServerError, internal()
		}
		msg := fe.Message
		if fe.Code == fiber.StatusBadRequest {
			// Fiber's own 400s carry the HTTP parser's text: not for the caller.
			msg = "malformed request"
		}
		if fe.Code == fiber.StatusNotFound || fe.Code == fiber.StatusMethodNotAllowed {
			return fiber.StatusNotFound, ErrorBody{Error: ErrorDetail{Code: code, Message: "no such route"}}
		}
		return fe.Code, ErrorBody{Error: ErrorDetail{Code: code, Message: msg}}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// The request's deadline passed (or the client went away) while it waited on a
		// dependency: a 503 the client may retry, never a 500.
		return fiber.StatusServiceUnavailable, ErrorBody{Error: ErrorDetail{Code: apierr.CodeUnavailable,
			Message: "the request timed out waiting for a dependency; retry later"}}
	}
	if errors.Is(err, fasthttp.ErrBodyTooLarge) {
		return fiber.StatusRequestEntityTooLarge, ErrorBody{Error: ErrorDetail{Code: apierr.CodeTooLarge, Message: "request body too large"}}
	}
	return fiber.StatusInternalServerError, internal()
}

func internal() ErrorBody {
	return ErrorBody{Error: ErrorDetail{Code: apierr.CodeInternal, Message: "internal error"}}
}
