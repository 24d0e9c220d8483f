package profiles_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/profiles"
	"github.com/atelier-hq/atelier/rbac"
)

// Bad settings are refused with the field at fault, and nothing is written.
func TestProfiles_badSettingsAreRefusedNamingTheField(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	admin := w.a.Admin.Token
	cases := []struct {
		name     string
		typ      string
		settings any
		field    string
	}{
		{"unknown access field", "access", map[string]any{"read_only": true, "archive": true}, "settings.archive"},
		{"unknown action", "access", map[string]any{"deny": map[string]any{"editor": []string{"workspace:update", "workspace:explode"}}}, "settings.deny.editor[1]"},
		{"action of the wrong type", "access", map[string]any{"deny": map[string]any{"editor": []any{7}}}, "settings.deny.editor[0]"},
		{"actions not a list", "access", map[string]any{"deny": map[string]any{"editor": "workspace:update"}}, "settings.deny.editor"},
		{"role missing in the tenant", "access", map[string]any{"deny": map[string]any{"wizard": []string{"workspace:update"}}}, "settings.deny.wizard"},
		{"deny not an object", "access", map[string]any{"deny": []string{"editor"}}, "settings.deny"},
		{"read_only of the wrong type", "access", map[string]any{"read_only": "yes"}, "settings.read_only"},
		{"negative quota", "quota", map[string]any{"max_pending_queue_items_per_user": -1}, "settings.max_pending_queue_items_per_user"},
		{"fractional quota", "quota", map[string]any{"max_bulk_download_bytes": 1.5}, "settings.max_bulk_download_bytes"},
		{"quota as a string", "quota", map[string]any{"max_bulk_download_bytes": "1GB"}, "settings.max_bulk_download_bytes"},
		{"link lifetime too short", "quota", map[string]any{"download_link_ttl_seconds": 59}, "settings.download_link_ttl_seconds"},
		{"link lifetime too long", "quota", map[string]any{"download_link_ttl_seconds": 604801}, "settings.download_link_ttl_seconds"},
		{"link lifetime null", "quota", map[string]any{"download_link_ttl_seconds": nil}, "settings.download_link_ttl_seconds"},
		{"unknown audience", "privacy", map[string]any{"visible_to": []string{"owner", "everyone"}}, "settings.visible_to[1]"},
		{"audience twice", "privacy", map[string]any{"visible_to": []string{"owner", "owner"}}, "settings.visible_to[1]"},
		{"settings a list", "quota", []any{}, "settings"},
		{"settings null", "privacy", nil, "settings"},
		{"settings a string", "access", "read_only", "settings"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := w.env.Do(http.MethodPost, profilesPath, admin, map[string]any{"type": c.typ, "name": c.name, "settings": c.settings})
			apptest.WantInvalid(t, r, c.field)
		})
	}
	for _, c := range []struct {
		name  string
		body  any
		field string
	}{
		{"unknown type", map[string]any{"type": "colour", "name": "x", "settings": map[string]any{}}, "type"},
		{"empty name", map[string]any{"type": "quota", "name": "  ", "settings": map[string]any{}}, "name"},
		{"name too long", map[string]any{"type": "quota", "name": strings.Repeat("n", 101), "settings": map[string]any{}}, "name"},
		{"control character in the name", map[string]any{"type": "quota", "name": "a\x07b", "settings": map[string]any{}}, "name"},
		{"description too long", map[string]any{"type": "quota", "name": "d", "description": strings.Repeat("d", 1001), "settings": map[string]any{}}, "description"},
		{"no settings", map[string]any{"type": "quota", "name": "s"}, "settings"},
		{"unknown field", map[string]any{"type": "quota", "name": "u", "settings": map[string]any{}, "owner": "me"}, "owner"},
	} {
		t.Run(c.name, func(t *testing.T) {
			apptest.WantInvalid(t, w.env.Do(http.MethodPost, profilesPath, admin, c.body), c.field)
		})
	}
	r := w.env.Do(http.MethodGet, profilesPath, admin, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	var got page[profile]
	r.JSON(t, &got)
	if len(got.Items) != 0 {
		t.Fatalf("refused profiles were written: %s", r.Body)
	}

	// A change with bad settings leaves the profile as it was.
	p := w.create(t, admin, "quota", "Kept", map[string]any{"max_pending_queue_items_per_user": 5})
	r = w.env.Do(http.MethodPatch, profilesPath+"/"+p.ID.String(), admin,
		map[string]any{"name": "Renamed", "settings": map[string]any{"max_pending_queue_items_per_user": -5}})
	apptest.WantInvalid(t, r, "settings.max_pending_queue_items_per_user")
	apptest.WantInvalid(t, w.env.Do(http.MethodPatch, profilesPath+"/"+p.ID.String(), admin, map[string]any{}), "body")
	apptest.WantInvalid(t, w.env.Do(http.MethodPatch, profilesPath+"/"+p.ID.String(), admin, map[string]any{"type": "access"}), "type")
	r = w.env.Do(http.MethodGet, profilesPath, admin, nil)
	r.JSON(t, &got)
	if len(got.Items) != 1 || got.Items[0].Name != "Kept" || !sameJSON(t, got.Items[0].Settings, p.Settings) {
		t.Fatalf("profile after a refused change: %s", r.Body)
	}
}

// Settings are stored normalised: defaults filled in, lists in canonical order, and an access
// profile's settings are exactly what the enforcer reads.
func TestProfiles_settingsAreStoredNormalised(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	admin := w.a.Admin.Token
	cases := []struct {
		typ      string
		settings any
		want     string
	}{
		{"quota", map[string]any{}, `{"max_pending_queue_items_per_user":null,"max_bulk_download_images":null,"max_bulk_download_bytes":null,"download_link_ttl_seconds":900}`},
		{"quota", map[string]any{"max_bulk_download_bytes": 0, "download_link_ttl_seconds": 60}, `{"max_pending_queue_items_per_user":null,"max_bulk_download_images":null,"max_bulk_download_bytes":0,"download_link_ttl_seconds":60}`},
		{"quota", map[string]any{"max_bulk_download_images": 10}, `{"max_pending_queue_items_per_user":null,"max_bulk_download_images":10,"max_bulk_download_bytes":null,"download_link_ttl_seconds":900}`},
		{"privacy", map[string]any{"visible_to": []string{"auditors", "owner"}}, `{"hide_generation_metadata":true,"hide_queue_field_values":true,"visible_to":["owner","auditors"]}`},
		{"privacy", map[string]any{"hide_generation_metadata": false, "visible_to": []string{}}, `{"hide_generation_metadata":false,"hide_queue_field_values":true,"visible_to":[]}`},
		{"access", map[string]any{}, `{"read_only":false,"deny":{}}`},
		{"access", map[string]any{"deny": map[string]any{"viewer": []string{}, "editor": []string{"workspace:update", "profile:read"}}},
			`{"read_only":false,"deny":{"editor":["profile:read","workspace:update"]}}`},
	}
	for i, c := range cases {
		p := w.create(t, admin, c.typ, fmt.Sprintf("n%d", i), c.settings)
		if !sameJSON(t, p.Settings, json.RawMessage(c.want)) {
			t.Errorf("%s %v stored as %s, want %s", c.typ, c.settings, p.Settings, c.want)
		}
		if c.typ != "access" {
			continue
		}
		var s rbac.AccessSettings
		dec := json.NewDecoder(bytes.NewReader(p.Settings))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			t.Errorf("access settings %s do not decode strictly into rbac.AccessSettings: %v", p.Settings, err)
		}
	}
	// Every field the enforcer reads is one the access type validates.
	access, _ := profiles.Lookup("access")
	var all map[string]any
	raw, _ := json.Marshal(rbac.AccessSettings{ReadOnly: true, Deny: map[string][]rbac.Action{"editor": {rbac.WorkspaceRead}}})
	_ = json.Unmarshal(raw, &all)
	for field := range all {
		if _, ok := access.Settings.Properties[field]; !ok {
			t.Errorf("rbac.AccessSettings field %s is not a setting of the access type", field)
		}
	}
}

// Names are unique per type, case-insensitively; the same name in another type is fine.
func TestProfiles_duplicateNameOfATypeConflicts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	admin := w.a.Admin.Token
	w.create(t, admin, "quota", "Archive", map[string]any{})
	r := w.env.Do(http.MethodPost, profilesPath, admin, map[string]any{"type": "quota", "name": "ARCHIVE", "settings": map[string]any{}})
	apptest.WantStatus(t, r, http.StatusConflict)
	other := w.create(t, admin, "access", "Archive", map[string]any{"read_only": true})
	second := w.create(t, admin, "quota", "Second", map[string]any{})
	r = w.env.Do(http.MethodPatch, profilesPath+"/"+second.ID.String(), admin, map[string]any{"name": "archive"})
	apptest.WantStatus(t, r, http.StatusConflict)
	r = w.env.Do(http.MethodPatch, profilesPath+"/"+other.ID.String(), admin, map[string]any{"name": "Archived", "description": "old projects"})
	apptest.WantStatus(t, r, http.StatusOK)
	var p profile
	r.JSON(t, &p)
	if p.Name != "Archived" || p.Description != "old projects" || p.OwnerID == nil || *p.OwnerID != w.a.Admin.ID {
		t.Errorf("renamed profile %s", r.Body)
	}
}

// Listing needs profile:read on the root, filters by type and pages by cursor.
func TestProfiles_listFiltersByTypeAndPages(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "msa")
	admin := w.a.Admin.Token
	want := map[uuid.UUID]bool{}
	for i := range 5 {
		want[w.create(t, admin, "quota", fmt.Sprintf("q%d", i), map[string]any{}).ID] = true
	}
	w.create(t, admin, "privacy", "p", map[string]any{})

	viewer := w.env.NewUser(t, w.a, "viewer") // viewer on the tenant root
	seen := map[uuid.UUID]bool{}
	path := profilesPath + "?type=quota&limit=2"
	for pages := 0; ; pages++ {
		if pages > 3 {
			t.Fatal("paging does not end")
		}
		r := w.env.Do(http.MethodGet, path, viewer.Token, nil)
		apptest.WantStatus(t, r, http.StatusOK)
		var got page[profile]
		r.JSON(t, &got)
		for _, p := range got.Items {
			if p.Type != "quota" || seen[p.ID] {
				t.Errorf("listed %+v", p)
			}
			seen[p.ID] = true
		}
		if got.NextCursor == nil {
			break
		}
		path = profilesPath + "?type=quota&limit=2&cursor=" + *got.NextCursor
	}
	if len(seen) != len(want) {
		t.Errorf("listed %d quota profiles, want %d", len(seen), len(want))
	}
	apptest.WantInvalid(t, w.env.Do(http.MethodGet, profilesPath+"?type=colour", admin, nil), "type")
	apptest.WantInvalid(t, w.env.Do(http.MethodGet, profilesPath+"?limit=0", admin, nil), "limit")
	wsAdmin := w.member(t, rbac.RoleAdmin, "msa")
	apptest.WantStatus(t, w.env.Do(http.MethodGet, profilesPath, wsAdmin.Token, nil), http.StatusForbidden)
}

// Another tenant's profiles and workspaces are indistinguishable from missing ones.
func TestProfiles_anotherTenantsProfilesAndWorkspacesAreNotFound(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "msa")
	b := w.env.SignUp(t)
	admin := w.a.Admin.Token
	bProfile := profile{}
	r := w.env.Do(http.MethodPost, profilesPath, b.Admin.Token, map[string]any{"type": "access", "name": "B", "settings": map[string]any{"read_only": true}})
	apptest.WantStatus(t, r, http.StatusCreated)
	r.JSON(t, &bProfile)
	r = w.env.Do(http.MethodPost, wsPath, b.Admin.Token, map[string]any{"name": "Secret", "slug": "secret"})
	apptest.WantStatus(t, r, http.StatusCreated)
	var bWorkspace struct {
		ID uuid.UUID `json:"id"`
	}
	r.JSON(t, &bWorkspace)

	sameAsMissing := func(name string, got, missing apptest.Response) {
		t.Helper()
		if got.Status != http.StatusNotFound || !bytes.Equal(got.Body, missing.Body) {
			t.Errorf("%s: %d %s, want the 404 of a missing one: %s", name, got.Status, got.Body, missing.Body)
		}
	}
	missing := uuid.NewString()
	for _, c := range []struct {
		method string
		body   any
	}{
		{http.MethodPatch, map[string]any{"name": "Owned"}},
		{http.MethodPatch, map[string]any{"settings": map[string]any{}}},
		{http.MethodDelete, nil},
	} {
		ref := w.env.Do(c.method, profilesPath+"/"+missing, admin, c.body)
		sameAsMissing(c.method+" B's profile", w.env.Do(c.method, profilesPath+"/"+bProfile.ID.String(), admin, c.body), ref)
		sameAsMissing(c.method+" a malformed id", w.env.Do(c.method, profilesPath+"/not-an-id", admin, c.body), ref)
	}
	sameAsMissing("assign B's profile", w.assign(admin, "msa", "access", bProfile.ID), w.assign(admin, "msa", "access", uuid.New()))

	for _, at := range []string{"secret", bWorkspace.ID.String()} {
		for _, c := range []struct {
			method, suffix string
			body           any
		}{
			{http.MethodPut, "/profiles/access", map[string]any{"profile_id": bProfile.ID}},
			{http.MethodDelete, "/profiles/access", nil},
			{http.MethodGet, "/effective-profiles", nil},
		} {
			sameAsMissing(c.method+" "+c.suffix+" on B's "+at,
				w.env.Do(c.method, wsPath+"/"+at+c.suffix, admin, c.body),
				w.env.Do(c.method, wsPath+"/nowhere"+c.suffix, admin, c.body))
		}
	}

	// Tenant A sees none of B's profiles, and B's are untouched.
	r = w.env.Do(http.MethodGet, profilesPath, admin, nil)
	var got page[profile]
	r.JSON(t, &got)
	if len(got.Items) != 0 {
		t.Errorf("tenant A lists %s", r.Body)
	}
	r = w.env.Do(http.MethodGet, profilesPath, b.Admin.Token, nil)
	r.JSON(t, &got)
	if len(got.Items) != 1 || got.Items[0].Name != "B" {
		t.Errorf("tenant B's profiles after A's attempts: %s", r.Body)
	}
	// B's root profile does not leak into A's decisions.
	apptest.WantStatus(t, w.env.Do(http.MethodPut, wsPath+"/~/profiles/access", b.Admin.Token, map[string]any{"profile_id": bProfile.ID}), http.StatusOK)
	editor := w.member(t, rbac.RoleEditor, "msa")
	if !w.allowed(t, editor.ID, "msa", rbac.WorkspaceUpdate) {
		t.Error("tenant B's read-only root profile governs tenant A")
	}
}

// More types can be registered in code; they are listed, validated and resolved like the
// built-ins. A malformed or duplicate registration never serves.
func TestRegister_aTypeRegisteredInCodeIsServedLikeTheBuiltins(t *testing.T) {
	t.Parallel()
	name := "retention_" + strings.ReplaceAll(uuid.NewString(), "-", "")[:8]
	type retention struct {
		Days int `json:"days" validate:"gte=1" description:"how many days things are kept"`
	}
	profiles.Register(profiles.NewType(name, "How long things are kept", retention{Days: 30}, nil))
	typ, _ := profiles.Lookup(name)
	if got, _ := json.Marshal(typ.Settings); !sameJSON(t, got, json.RawMessage(`{"type":"object","additionalProperties":false,`+
		`"properties":{"days":{"type":"integer","description":"how many days things are kept","default":30}}}`)) {
		t.Errorf("%s settings schema %s", name, got)
	}
	for _, bad := range []profiles.Type{
		{Name: "access", Validate: func(context.Context, profiles.Env, json.RawMessage) (json.RawMessage, error) {
			return []byte(`{}`), nil
		}},
		{Name: "Bad Name", Validate: func(context.Context, profiles.Env, json.RawMessage) (json.RawMessage, error) {
			return []byte(`{}`), nil
		}},
		{Name: "novalidate"},
		{Name: "baddefault", Default: json.RawMessage(`1`), Validate: func(context.Context, profiles.Env, json.RawMessage) (json.RawMessage, error) {
			return nil, errors.New("no")
		}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q) did not refuse", bad.Name)
				}
			}()
			profiles.Register(bad)
		}()
	}

	w := newWorld(t, "msa")
	admin := w.a.Admin.Token
	apptest.WantInvalid(t, w.env.Do(http.MethodPost, profilesPath, admin, map[string]any{"type": name, "name": "r", "settings": map[string]any{"days": 0}}), "settings.days")
	p := w.create(t, admin, name, "Month", map[string]any{"days": 31})
	if e := w.effective(t, admin, "msa")[name]; e.Profile != nil || !sameJSON(t, e.Settings, json.RawMessage(`{"days":30}`)) {
		t.Errorf("unassigned %s on msa = %+v, want the defaults", name, e)
	}
	apptest.WantStatus(t, w.assign(admin, "", name, p.ID), http.StatusOK)
	if e := w.effective(t, admin, "msa")[name]; e.Profile == nil || e.Profile.ID != p.ID || !e.Inherited {
		t.Errorf("%s on msa = %+v, want Month from the root", name, e)
	}
}
