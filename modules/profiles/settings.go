package profiles

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/swaggest/jsonschema-go"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/web"
)

// Check applies the rules of a type that its settings' tags cannot say (a role must exist in
// the tenant, an item may be listed once) and may put the settings in canonical form. It returns
// the fields at fault, or an error of the environment (a failed query).
type Check[S any] func(ctx context.Context, env Env, s *S) ([]apierr.FieldError, error)

// NewType makes a profile type whose settings are the Go struct S. Its JSON Schema is reflected
// from S (json names, description and minimum/maximum tags) with the defaults filled in, and its
// validation decodes strictly into S on top of the defaults, checks S's `validate` tags as
// request bodies are checked, then runs check (nil: none). Errors name the exact place at fault,
// e.g. "deny.editor[0]".
func NewType[S any](name, description string, defaults S, check Check[S]) Type {
	def, err := json.Marshal(defaults)
	if err != nil {
		panic(fmt.Sprintf("profiles: default settings of type %s: %v", name, err))
	}
	return Type{
		Name:        name,
		Description: description,
		Settings:    settingsSchema(name, defaults, def),
		Default:     def,
		Validate: func(ctx context.Context, env Env, raw json.RawMessage) (json.RawMessage, error) {
			s, bad := decodeSettings[S](raw, def)
			if len(bad) == 0 {
				bad = validationErrors(web.Validate(s))
			}
			if len(bad) == 0 && check != nil {
				// A local err: the closure runs concurrently, once per request.
				var err error
				if bad, err = check(ctx, env, s); err != nil {
					return nil, err
				}
			}
			if len(bad) > 0 {
				return nil, &SettingsError{Fields: bad}
			}
			return json.Marshal(s)
		},
	}
}

// settingsSchema reflects the JSON Schema of S: every definition inlined, unknown properties
// refused, a pointer field `nullable` (OpenAPI 3.0's form, as the rest of the API document),
// and each property's default taken from the type's defaults.
func settingsSchema[S any](name string, defaults S, def json.RawMessage) jsonschema.Schema {
	var r jsonschema.Reflector
	s, err := r.Reflect(defaults, jsonschema.InlineRefs,
		jsonschema.InterceptNullability(func(p jsonschema.InterceptNullabilityParams) {
			if !p.NullAdded {
				return
			}
			p.Schema.RemoveType(jsonschema.Null)
			if p.Type.Kind() == reflect.Pointer {
				p.Schema.WithExtraPropertiesItem("nullable", true)
			}
		}))
	if err != nil {
		panic(fmt.Sprintf("profiles: settings schema of type %s: %v", name, err))
	}
	var values map[string]any
	if err := json.Unmarshal(def, &values); err != nil {
		panic(fmt.Sprintf("profiles: default settings of type %s are not an object: %v", name, err))
	}
	for key, prop := range s.Properties {
		if prop.TypeObject != nil {
			s.Properties[key] = prop.TypeObject.WithDefault(values[key]).ToSchemaOrBool()
		}
	}
	return *s.WithAdditionalProperties(jsonschema.SchemaOrBool{TypeBoolean: new(false)})
}

// decodeSettings reads raw into an S that starts as the defaults, so absent settings keep their
// default. The shape is checked first, element by element, because encoding/json names only the
// outer field of a map or a list; the strict decode then refuses anything else.
func decodeSettings[S any](raw, def json.RawMessage) (*S, []apierr.FieldError) {
	var sh shape
	if sh.check("", raw, reflect.TypeFor[S]()); len(sh.errs) > 0 {
		return nil, sh.errs
	}
	s := new(S)
	if err := json.Unmarshal(def, s); err != nil {
		panic(fmt.Sprintf("profiles: defaults do not decode into %T: %v", s, err))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(s); err != nil {
		return nil, []apierr.FieldError{{Field: "", Reason: "must be a well-formed JSON object"}}
	}
	return s, nil
}

// shape checks JSON against a Go type, naming each place at fault: the wrong kind of value, a
// null where the type has no pointer, a field the struct does not have.
type shape struct{ errs []apierr.FieldError }

func (sh *shape) fail(path, reason string) {
	sh.errs = append(sh.errs, apierr.FieldError{Field: path, Reason: reason})
}

func (sh *shape) check(path string, raw json.RawMessage, t reflect.Type) {
	if string(bytes.TrimSpace(raw)) == "null" {
		if t.Kind() != reflect.Pointer {
			sh.fail(path, "must be "+kindOf(t))
		}
		return
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil || m == nil {
			sh.fail(path, "must be an object")
			return
		}
		fields := jsonFields(t)
		for _, key := range slices.Sorted(maps.Keys(m)) {
			ft, ok := fields[key]
			if t.Kind() == reflect.Map {
				ft, ok = t.Elem(), true
			}
			if !ok {
				sh.fail(child(path, key), "unknown field")
				continue
			}
			sh.check(child(path, key), m[key], ft)
		}
	case reflect.Slice:
		var items []json.RawMessage
		if json.Unmarshal(raw, &items) != nil || items == nil {
			sh.fail(path, "must be an array")
			return
		}
		for i, it := range items {
			sh.check(elem(path, i), it, t.Elem())
		}
	default:
		if json.Unmarshal(raw, reflect.New(t).Interface()) != nil {
			sh.fail(path, "must be "+kindOf(t))
		}
	}
}

// jsonFields maps a struct's JSON field names to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for _, f := range reflect.VisibleFields(t) {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.IsExported() && !f.Anonymous && name != "-" {
			out[cmp.Or(name, f.Name)] = f.Type
		}
	}
	return out
}

// kindOf says what JSON a Go type takes, as the caller knows it.
func kindOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "a whole number in range"
	case reflect.Slice:
		return "an array"
	default:
		return "an object"
	}
}

// validationErrors turns what web.Validate found into settings paths: its map keys, written
// [key], become .key ("deny[editor][0]" is "deny.editor[0]").
func validationErrors(err error) []apierr.FieldError {
	e, ok := apierr.As(err)
	if !ok {
		return nil
	}
	fields, _ := e.Details.([]apierr.FieldError)
	for i := range fields {
		fields[i].Field = mapKey.ReplaceAllString(fields[i].Field, ".$1")
	}
	return fields
}

var mapKey = regexp.MustCompile(`\[([^\]]*[^\]0-9][^\]]*)\]`)

func child(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func elem(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }
