package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/go-playground/validator/v10"
	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/modules/apierr"
)

var (
	validateOnce sync.Once
	validate     *validator.Validate
)

// Validator is the shared validator; it reports fields by their JSON names.
func Validator() *validator.Validate {
	validateOnce.Do(func() {
		validate = validator.New(validator.WithRequiredStructEnabled())
		validate.RegisterTagNameFunc(func(f reflect.StructField) string {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				return ""
			}
			if name == "" {
				return f.Name
			}
			return name
		})
		_ = validate.RegisterValidation("slug", func(fl validator.FieldLevel) bool {
			return SlugPattern.MatchString(fl.Field().String())
		})
		_ = validate.RegisterValidation("name", func(fl validator.FieldLevel) bool {
			return SafeName(fl.Field().String())
		})
		_ = validate.RegisterValidation("text", func(fl validator.FieldLevel) bool {
			return SafeText(fl.Field().String())
		})
	})
	return validate
}

// Decode reads the JSON body into dst, rejecting malformed JSON, unknown fields, trailing data
// and values that fail dst's `validate` tags, each as a 400 that names the field at fault. A
// body sent as anything but application/json is a 415.
func Decode(c *fiber.Ctx, dst any) error {
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return apierr.Invalid("body", "a JSON body is required")
	}
	if !isJSON(c.Get(fiber.HeaderContentType)) {
		return apierr.UnsupportedMedia("the body must be sent as Content-Type: application/json")
	}
	// A lone UTF-16 surrogate escape decodes to U+FFFD in Go but is refused by PostgreSQL's
	// jsonb (and is no character at all): bad input, named, on every backend alike.
	if HasLoneSurrogate(body) {
		return apierr.Invalid("body", "a \\u escape is a lone UTF-16 surrogate")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err, dst, body)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apierr.Invalid("body", "unexpected data after the JSON value")
	}
	// PostgreSQL cannot store a NUL character in text: refusing it here, naming the field, keeps
	// every module's bad input a 400 instead of a failed insert.
	if field, ok := findNUL(reflect.ValueOf(dst), ""); ok {
		return apierr.Invalid(field, "must not contain NUL characters")
	}
	return Validate(dst)
}

// isJSON reports whether a Content-Type names JSON (application/json or a +json type).
func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == fiber.MIMEApplicationJSON || strings.HasSuffix(mt, "+json"))
}

// HasLoneSurrogate reports whether raw JSON holds a \uXXXX escape of a UTF-16 surrogate that is
// not part of a high-low pair.
func HasLoneSurrogate(raw []byte) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		if i+1 >= len(raw) || raw[i+1] != 'u' {
			i++ // an escaped character: skip it (it may be a backslash)
			continue
		}
		r, ok := hex4(raw, i+2)
		if !ok {
			continue
		}
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true // a low surrogate with no high one before it
		case r >= 0xD800 && r <= 0xDBFF:
			if i+7 < len(raw) && raw[i+6] == '\\' && raw[i+7] == 'u' {
				if lo, ok := hex4(raw, i+8); ok && lo >= 0xDC00 && lo <= 0xDFFF {
					i += 11
					continue
				}
			}
			return true
		}
		i += 5
	}
	return false
}

func hex4(raw []byte, at int) (rune, bool) {
	if at+4 > len(raw) {
		return 0, false
	}
	var r rune
	for _, b := range raw[at : at+4] {
		var v byte
		switch {
		case b >= '0' && b <= '9':
			v = b - '0'
		case b >= 'a' && b <= 'f':
			v = b - 'a' + 10
		case b >= 'A' && b <= 'F':
			v = b - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	return r, true
}

// Validate checks v's `validate` tags.
func Validate(v any) error {
	err := Validator().Struct(v)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return apierr.Invalid("body", "invalid value")
	}
	fields := make([]apierr.FieldError, 0, len(verrs))
	for _, fe := range verrs {
		fields = append(fields, apierr.FieldError{Field: fieldPath(fe), Reason: reason(fe)})
	}
	return apierr.InvalidFields(fields)
}

func fieldPath(fe validator.FieldError) string {
	// Namespace is "Type.field.sub"; drop the root type name.
	ns := fe.Namespace()
	if _, rest, ok := strings.Cut(ns, "."); ok {
		return rest
	}
	return fe.Field()
}

func reason(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "email":
		return "must be an e-mail address"
	case "min":
		return "must be at least " + fe.Param() + " long"
	case "max":
		return "must be at most " + fe.Param() + " long"
	case "oneof":
		return "must be one of: " + fe.Param()
	case "slug":
		return "must match " + SlugPattern.String()
	case "name":
		return NameRule
	case "text":
		return "must not hold control or bidirectional-override characters"
	case "gte":
		return "must be at least " + fe.Param()
	case "lte":
		return "must be at most " + fe.Param()
	default:
		return "fails the " + fe.Tag() + " rule"
	}
}

func decodeError(err error, dst any, body []byte) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return apierr.Invalid("body", fmt.Sprintf("malformed JSON at byte %d", syn.Offset))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return apierr.Invalid(field, "must be "+jsonKind(typ.Type))
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apierr.Invalid("body", "malformed JSON: unexpected end")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apierr.Invalid(name, "unknown field")
	}
	// A value's own parser refused it (a time, a UUID): find the field, and say what it must be
	// rather than repeat the parser's text.
	if field, t, ok := locate(dst, body); ok {
		return apierr.Invalid(field, "must be "+jsonKind(t))
	}
	return apierr.Invalid("body", "malformed JSON")
}

var (
	timeType = reflect.TypeOf(time.Time{})
	uuidType = reflect.TypeOf(uuid.UUID{})
)

// jsonKind says, for the caller, what JSON a Go type takes: never the Go type's name.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == timeType:
		return "a time in RFC 3339 form, e.g. 2030-01-02T15:04:05Z"
	case t == uuidType:
		return "a UUID"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number in range"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array whose items are each " + jsonKind(t.Elem())
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a valid value"
}

// locate finds the top-level field of dst (a pointer to a struct) whose value in body does not
// decode, and the field's type.
func locate(dst any, body []byte) (string, reflect.Type, bool) {
	v := reflect.ValueOf(dst)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return "", nil, false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return "", nil, false
	}
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		raw, ok := fields[name]
		if !ok || name == "-" || !f.IsExported() {
			continue
		}
		if json.Unmarshal(raw, reflect.New(f.Type).Interface()) != nil {
			return name, f.Type, true
		}
	}
	return "", nil, false
}

// ParamUUID reads a path parameter that must be a UUID. A malformed id can name nothing, so it
// answers 404 exactly like a missing object.
func ParamUUID(c *fiber.Ctx, name, kind string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Params(name))
	if err != nil {
		return uuid.Nil, apierr.NotFound(kind)
	}
	return id, nil
}

// findNUL returns the JSON path of the first string in v that holds a NUL character.
func findNUL(v reflect.Value, path string) (string, bool) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return findNUL(v.Elem(), path)
	case reflect.String:
		if strings.ContainsRune(v.String(), 0) {
			return path, true
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if p, ok := findNUL(v.Field(i), join(path, name)); ok {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if p, ok := findNUL(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); ok {
				return p, true
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if p, ok := findNUL(iter.Value(), join(path, fmt.Sprint(iter.Key()))); ok {
				return p, true
			}
			if k := iter.Key(); k.Kind() == reflect.String && strings.ContainsRune(k.String(), 0) {
				return path, true
			}
		}
	}
	return "", false
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}
