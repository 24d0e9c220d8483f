// Package apierr holds the error categories services return. One HTTP error handler maps them to
// status codes and the JSON error shape; nothing else in the code decides a status.
package apierr

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code.
type Code string

// The error categories.
const (
	CodeInvalid      Code = "invalid"
	CodeUnauthorized Code = "unauthorized"
	CodeForbidden    Code = "forbidden"
	CodeNotFound     Code = "not_found"
	CodeConflict     Code = "conflict"
	CodeTooLarge     Code = "too_large"
	// CodeLengthRequired is an upload sent without a Content-Length (411): its size must be
	// known before a byte of it is read.
	CodeLengthRequired Code = "length_required"
	// CodeUnsupportedMedia is a body in a format the route does not take (JSON routes: 415).
	CodeUnsupportedMedia Code = "unsupported_media_type"
	// CodeHeaderTooLarge is request headers over the server's buffer (431).
	CodeHeaderTooLarge Code = "header_too_large"
	// CodeMethodNotAllowed is an HTTP method the server does not serve (405).
	CodeMethodNotAllowed Code = "method_not_allowed"
	CodeRateLimited      Code = "rate_limited"
	CodeUnavailable      Code = "unavailable"
	CodeInternal         Code = "internal"
)

// Error is a categorised error with a message safe to show to the caller.
type Error struct {
	Code    Code
	Message string
	Details any
	cause   error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap exposes the cause to errors.Is / errors.As.
func (e *Error) Unwrap() error { return e.cause }

// FieldError names the input field at fault.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Invalid is bad input; field names the part of the input at fault.
func Invalid(field, reason string) *Error {
	return &Error{Code: CodeInvalid, Message: "invalid input", Details: []FieldError{{Field: field, Reason: reason}}}
}

// InvalidFields is bad input in several fields at once.
func InvalidFields(fields []FieldError) *Error {
	return &Error{Code: CodeInvalid, Message: "invalid input", Details: fields}
}

// Unauthorized is missing or bad credentials. The message never says which part was wrong.
func Unauthorized() *Error {
	return &Error{Code: CodeUnauthorized, Message: "authentication required"}
}

// Forbidden is an action on a visible object that the caller may not do.
func Forbidden(msg string) *Error {
	if msg == "" {
		msg = "not allowed"
	}
	return &Error{Code: CodeForbidden, Message: msg}
}

// NotFound is an object that does not exist or is not visible: the two are indistinguishable.
func NotFound(kind string) *Error {
	return &Error{Code: CodeNotFound, Message: kind + " not found"}
}

// Conflict is a write that clashes with existing state (a taken slug, say).
func Conflict(msg string) *Error { return &Error{Code: CodeConflict, Message: msg} }

// TooLarge is a body or upload over its limit.
func TooLarge(msg string) *Error { return &Error{Code: CodeTooLarge, Message: msg} }

// LengthRequired is an upload of unknown length.
func LengthRequired(msg string) *Error { return &Error{Code: CodeLengthRequired, Message: msg} }

// UnsupportedMedia is a body sent as a media type the route does not take.
func UnsupportedMedia(msg string) *Error { return &Error{Code: CodeUnsupportedMedia, Message: msg} }

// RateLimited is too many attempts; retryAfter is in seconds.
func RateLimited(retryAfter int) *Error {
	return &Error{Code: CodeRateLimited, Message: "too many requests", Details: map[string]int{"retry_after": retryAfter}}
}

// Unavailable is a dependency that is down.
func Unavailable(what string, cause error) *Error {
	return &Error{Code: CodeUnavailable, Message: what + " unavailable", cause: cause}
}

// Busy is a server that is at capacity for the work asked of it: a 503 with Retry-After.
func Busy(msg string, retryAfter int) *Error {
	return &Error{Code: CodeUnavailable, Message: msg, Details: map[string]int{"retry_after": max(retryAfter, 1)}}
}

// As returns the categorised error in err's chain, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err carries the given category.
func Is(err error, code Code) bool {
	e, ok := As(err)
	return ok && e.Code == code
}
