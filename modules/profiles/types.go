package profiles

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/swaggest/jsonschema-go"

	"github.com/atelier-hq/atelier/modules/apierr"
)

// Type is a kind of profile: a named, documented settings bundle with its own validation. The
// built-in types are access, privacy and quota; more are registered in code with Register.
type Type struct {
	// Name is the type's key in the API and the database (^[a-z][a-z0-9_]{1,39}$).
	Name        string
	Description string
	// Settings is the JSON Schema of the settings object, for people and clients
	// (GET /profile-types). NewType reflects it from the settings' Go type.
	Settings jsonschema.Schema
	// Default is what a node governed by no profile of this type gets: the type's own defaults.
	Default json.RawMessage
	// Validate checks raw settings strictly (unknown fields are refused) and returns them
	// normalised: every field present, defaults filled in, lists canonical. Bad settings are
	// reported as a *SettingsError; any other error is the environment's (a failed query).
	Validate func(ctx context.Context, env Env, raw json.RawMessage) (json.RawMessage, error)
}

// Env is what validation may ask of the tenant the profile belongs to.
type Env interface {
	// RoleExists reports whether the tenant defines the role.
	RoleExists(name string) (bool, error)
}

// SettingsError is settings that break their type's rules. Each field path is relative to the
// settings object, e.g. "deny.editor[0]"; "" is the settings object itself.
type SettingsError struct {
	Fields []apierr.FieldError
}

func (e *SettingsError) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		parts = append(parts, f.Field+": "+f.Reason)
	}
	return "invalid settings: " + strings.Join(parts, "; ")
}

var typeNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)

// registry holds the types the product knows. Types are registered at start (package init);
// lookups happen on every request.
var registry = struct {
	sync.RWMutex
	types map[string]Type
}{types: map[string]Type{}}

// Register adds a profile type. A malformed or duplicate type is a programming error and panics,
// so it can never be served.
func Register(t Type) {
	if !typeNamePattern.MatchString(t.Name) {
		panic(fmt.Sprintf("profiles: type name %q must match %s", t.Name, typeNamePattern))
	}
	if t.Validate == nil {
		panic(fmt.Sprintf("profiles: type %s has no Validate", t.Name))
	}
	norm, err := t.Validate(context.Background(), noRoles{}, t.Default)
	if err != nil {
		panic(fmt.Sprintf("profiles: default settings of type %s are invalid: %v", t.Name, err))
	}
	t.Default = norm
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.types[t.Name]; dup {
		panic(fmt.Sprintf("profiles: type %s registered twice", t.Name))
	}
	registry.types[t.Name] = t
}

// Lookup returns a registered type.
func Lookup(name string) (Type, bool) {
	registry.RLock()
	defer registry.RUnlock()
	t, ok := registry.types[name]
	return t, ok
}

// Types lists the registered types by name.
func Types() []Type {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]Type, 0, len(registry.types))
	for _, t := range registry.types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func typeNames() string {
	ts := Types()
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// noRoles is the environment of default settings, which name no role.
type noRoles struct{}

func (noRoles) RoleExists(string) (bool, error) { return false, nil }
