package profiles

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// roles is a tenant that defines the given roles.
type roles []string

func (r roles) RoleExists(name string) (bool, error) {
	for _, n := range r {
		if n == name {
			return true, nil
		}
	}
	return false, nil
}

// Every bad setting is refused naming the exact place at fault, nested ones included, whether
// the shape check, the validate tags or the type's own check finds it.
func TestValidate_namesTheExactPlaceAtFault(t *testing.T) {
	t.Parallel()
	cases := []struct {
		typ, settings, field string
	}{
		{TypeAccess, `{"read_only": null}`, "read_only"},
		{TypeAccess, `{"deny": null}`, "deny"},
		{TypeAccess, `{"deny": {"editor": null}}`, "deny.editor"},
		{TypeAccess, `{"deny": {"editor": [null]}}`, "deny.editor[0]"},
		{TypeAccess, `{"deny": {"editor": ["workspace:read", "workspace:read"]}}`, "deny.editor[1]"},
		{TypeAccess, `{"deny": {"Not A Role": ["workspace:read"]}}`, "deny.Not A Role"},
		{TypeAccess, `{"read_only": true, "zebra": 1, "apple": 2}`, "apple"},
		{TypePrivacy, `{"visible_to": null}`, "visible_to"},
		{TypePrivacy, `{"visible_to": ["owner", 3]}`, "visible_to[1]"},
		{TypePrivacy, `{"visible_to": ["owner", "everyone"]}`, "visible_to[1]"},
		{TypePrivacy, `{"hide_queue_field_values": 1}`, "hide_queue_field_values"},
		{TypeQuota, `{"max_bulk_download_images": -1}`, "max_bulk_download_images"},
		{TypeQuota, `{"max_bulk_download_images": 1e30}`, "max_bulk_download_images"},
		{TypeQuota, `{"download_link_ttl_seconds": 604801}`, "download_link_ttl_seconds"},
		{TypeQuota, `{"download_link_ttl_seconds": "60"}`, "download_link_ttl_seconds"},
		{TypeQuota, `7`, ""},
		{TypeQuota, `null`, ""},
	}
	for _, c := range cases {
		typ, _ := Lookup(c.typ)
		_, err := typ.Validate(context.Background(), roles{"editor"}, json.RawMessage(c.settings))
		var bad *SettingsError
		if !errors.As(err, &bad) || bad.Fields[0].Field != c.field || bad.Fields[0].Reason == "" {
			t.Errorf("%s %s: %v, want the first error at %q", c.typ, c.settings, err, c.field)
		}
	}
}

// Absent settings take the defaults, each in a fresh value: a default map or list is never
// shared between two validations.
func TestValidate_fillsDefaultsFreshEachTime(t *testing.T) {
	t.Parallel()
	access, _ := Lookup(TypeAccess)
	got, err := access.Validate(context.Background(), roles{"editor"}, json.RawMessage(`{"deny": {"editor": ["workspace:update"]}}`))
	if err != nil || string(got) != `{"read_only":false,"deny":{"editor":["workspace:update"]}}` {
		t.Fatalf("access = %s, %v", got, err)
	}
	got, err = access.Validate(context.Background(), roles{"editor"}, json.RawMessage(`{}`))
	if err != nil || string(got) != `{"read_only":false,"deny":{}}` {
		t.Errorf("access after another = %s, %v", got, err)
	}
	for _, typ := range Types() {
		if norm, err := typ.Validate(context.Background(), roles{}, typ.Default); err != nil || string(norm) != string(typ.Default) {
			t.Errorf("%s defaults %s validate as %s, %v", typ.Name, typ.Default, norm, err)
		}
	}
}

// The settings schema says what the validation enforces: bounds, nullable limits, the allowed
// audiences, and no other property.
func TestSchema_isReflectedFromTheSettingsTypes(t *testing.T) {
	t.Parallel()
	quota, _ := Lookup(TypeQuota)
	raw, _ := json.Marshal(quota.Settings)
	var s struct {
		AdditionalProperties *bool `json:"additionalProperties"`
		Properties           map[string]struct {
			Type     string `json:"type"`
			Nullable bool   `json:"nullable"`
			Minimum  *int64 `json:"minimum"`
			Maximum  *int64 `json:"maximum"`
			Default  any    `json:"default"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatalf("quota schema %s: %v", raw, err)
	}
	ttl, limit := s.Properties["download_link_ttl_seconds"], s.Properties["max_bulk_download_bytes"]
	if s.AdditionalProperties == nil || *s.AdditionalProperties ||
		ttl.Type != "integer" || ttl.Nullable || *ttl.Minimum != 60 || *ttl.Maximum != 604800 || ttl.Default != float64(DefaultDownloadLinkTTL) ||
		limit.Type != "integer" || !limit.Nullable || *limit.Minimum != 0 || limit.Maximum != nil || limit.Default != nil {
		t.Errorf("quota schema %s", raw)
	}
	privacy, _ := Lookup(TypePrivacy)
	raw, _ = json.Marshal(privacy.Settings.Properties["visible_to"])
	if !strings.Contains(string(raw), `"type":"array"`) || !strings.Contains(string(raw), `"items":{"enum":["owner","admins","auditors"],"type":"string"}`) {
		t.Errorf("visible_to schema %s", raw)
	}
}
