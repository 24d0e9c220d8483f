package profiles

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/atelier-hq/atelier/modules/apierr"
)

// reader decodes a settings document strictly, field by field, so that every error names the
// exact place at fault ("deny.editor[0]") — encoding/json only names the outer field of a map.
type reader struct {
	errs []apierr.FieldError
}

func (r *reader) fail(path, reason string) {
	r.errs = append(r.errs, apierr.FieldError{Field: path, Reason: reason})
}

// err is the collected errors as a *SettingsError, or nil.
func (r *reader) err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return &SettingsError{Fields: r.errs}
}

func child(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func elem(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// kind is the JSON kind of raw: object, array, string, number, boolean, null or "" (empty).
func kind(raw json.RawMessage) string {
	b := bytes.TrimSpace(raw)
	if len(b) == 0 {
		return ""
	}
	switch b[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// object reads an object whose keys must be among known (nil: any key). Unknown keys are
// reported in sorted order.
func (r *reader) object(path string, raw json.RawMessage, known []string) (map[string]json.RawMessage, bool) {
	if kind(raw) != "object" {
		r.fail(path, "must be an object")
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		r.fail(path, "must be a well-formed JSON object")
		return nil, false
	}
	if known != nil {
		allowed := map[string]bool{}
		for _, k := range known {
			allowed[k] = true
		}
		var unknown []string
		for k := range m {
			if !allowed[k] {
				unknown = append(unknown, k)
			}
		}
		sort.Strings(unknown)
		for _, k := range unknown {
			r.fail(child(path, k), "unknown field")
		}
		if len(unknown) > 0 {
			return nil, false
		}
	}
	return m, true
}

// keys returns an object's keys in sorted order, so errors come out deterministically.
func keys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (r *reader) boolean(path string, raw json.RawMessage) (bool, bool) {
	var v bool
	if kind(raw) != "boolean" || json.Unmarshal(raw, &v) != nil {
		r.fail(path, "must be true or false")
		return false, false
	}
	return v, true
}

func (r *reader) str(path string, raw json.RawMessage) (string, bool) {
	var v string
	if kind(raw) != "string" || json.Unmarshal(raw, &v) != nil {
		r.fail(path, "must be a string")
		return "", false
	}
	return v, true
}

// integer reads a whole number in [lo, hi].
func (r *reader) integer(path string, raw json.RawMessage, lo, hi int64) (int64, bool) {
	reason := fmt.Sprintf("must be an integer between %d and %d", lo, hi)
	if kind(raw) != "number" {
		r.fail(path, reason)
		return 0, false
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
	if err != nil || n < lo || n > hi {
		r.fail(path, reason)
		return 0, false
	}
	return n, true
}

// array reads an array's elements.
func (r *reader) array(path string, raw json.RawMessage) ([]json.RawMessage, bool) {
	var v []json.RawMessage
	if kind(raw) != "array" || json.Unmarshal(raw, &v) != nil {
		r.fail(path, "must be an array")
		return nil, false
	}
	return v, true
}

// strings reads an array of strings.
func (r *reader) strings(path string, raw json.RawMessage) ([]string, bool) {
	items, ok := r.array(path, raw)
	if !ok {
		return nil, false
	}
	out := make([]string, 0, len(items))
	ok = true
	for i, it := range items {
		s, good := r.str(elem(path, i), it)
		ok = ok && good
		out = append(out, s)
	}
	return out, ok
}

func int64p(v int64) *int64 { return &v }
