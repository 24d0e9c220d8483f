package profiles_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/profiles"
	"github.com/atelier-hq/atelier/rbac"
	"github.com/atelier-hq/atelier/tenancy"
)

// The effective profile of a type is the nearest assignment from the node up to the tenant root,
// named by where it comes from; the node's own assignment wins; PUT replaces it; without any,
// the type's defaults apply.
func TestProfiles_effectiveProfileIsTheNearestAssignment(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "msa", "msa/suit", "msa/suit/first")
	admin := w.a.Admin.Token
	viewer := w.member(t, rbac.RoleViewer, "msa/suit")

	tenantQuota := w.create(t, admin, "quota", "Tenant", map[string]any{"max_pending_queue_items_per_user": 10})
	msaPrivacy := w.create(t, admin, "privacy", "MSA", map[string]any{"visible_to": []string{"admins"}})
	firstQuota := w.create(t, admin, "quota", "First", map[string]any{"max_pending_queue_items_per_user": 2})
	otherQuota := w.create(t, admin, "quota", "Other", map[string]any{"max_bulk_download_bytes": 1000})
	apptest.WantStatus(t, w.assign(admin, "", "quota", tenantQuota.ID), http.StatusOK)
	apptest.WantStatus(t, w.assign(admin, "msa", "privacy", msaPrivacy.ID), http.StatusOK)

	// A viewer of msa/suit/first may see what governs it.
	got := w.effective(t, viewer.Token, "msa/suit/first")
	if q := got["quota"]; q.Profile == nil || q.Profile.ID != tenantQuota.ID || !q.Inherited || q.From == nil ||
		q.From.Node != rbac.Root || q.From.WorkspaceID != nil || q.From.Path != "" {
		t.Errorf("quota on msa/suit/first = %+v, want the tenant's, inherited from the root", q)
	}
	if p := got["privacy"]; p.Profile == nil || p.Profile.ID != msaPrivacy.ID || !p.Inherited || p.From == nil ||
		p.From.Path != "msa" || p.From.WorkspaceID == nil || *p.From.WorkspaceID != w.ws["msa"] || p.From.Node != w.node("msa") {
		t.Errorf("privacy on msa/suit/first = %+v, want msa's, inherited from msa", p)
	}
	access := got["access"]
	def, _ := profiles.Lookup("access")
	if access.Profile != nil || access.From != nil || access.Inherited || !sameJSON(t, access.Settings, def.Default) {
		t.Errorf("access on msa/suit/first = %+v, want the type's defaults from nowhere", access)
	}
	if !sameJSON(t, got["privacy"].Settings, msaPrivacy.Settings) {
		t.Errorf("privacy settings %s, want the profile's %s", got["privacy"].Settings, msaPrivacy.Settings)
	}

	// The node's own assignment wins over the inherited one; its parent keeps the tenant's.
	apptest.WantStatus(t, w.assign(admin, "msa/suit/first", "quota", firstQuota.ID), http.StatusOK)
	if q := w.effective(t, viewer.Token, "msa/suit/first")["quota"]; q.Profile == nil || q.Profile.ID != firstQuota.ID ||
		q.Inherited || q.From == nil || q.From.Path != "msa/suit/first" {
		t.Errorf("quota on msa/suit/first after assigning there = %+v", q)
	}
	if q := w.effective(t, viewer.Token, "msa/suit")["quota"]; q.Profile == nil || q.Profile.ID != tenantQuota.ID {
		t.Errorf("quota on msa/suit = %+v, want still the tenant's", q)
	}

	// PUT replaces: one quota assignment on the node, the new one.
	r := w.assign(admin, "msa/suit/first", "quota", otherQuota.ID)
	apptest.WantStatus(t, r, http.StatusOK)
	var assigned struct {
		Node    string  `json:"node"`
		Path    string  `json:"path"`
		Type    string  `json:"type"`
		Profile profile `json:"profile"`
	}
	r.JSON(t, &assigned)
	if assigned.Node != w.node("msa/suit/first") || assigned.Path != "msa/suit/first" || assigned.Type != "quota" || assigned.Profile.ID != otherQuota.ID {
		t.Errorf("assignment answer %s", r.Body)
	}
	if q := w.effective(t, admin, "msa/suit/first")["quota"]; q.Profile == nil || q.Profile.ID != otherQuota.ID {
		t.Errorf("quota after replacing = %+v, want Other", q)
	}
	apptest.WantStatus(t, w.unassign(admin, "msa/suit/first", "quota"), http.StatusNoContent)
	apptest.WantStatus(t, w.unassign(admin, "msa/suit/first", "quota"), http.StatusNotFound)
	if q := w.effective(t, admin, "msa/suit/first")["quota"]; q.Profile == nil || q.Profile.ID != tenantQuota.ID || !q.Inherited {
		t.Errorf("quota after unassigning = %+v, want the tenant's again", q)
	}

	// The tenant root, by ~: its own assignment, not inherited.
	if q := w.effective(t, admin, "")["quota"]; q.Profile == nil || q.Profile.ID != tenantQuota.ID || q.Inherited || q.From.Node != rbac.Root {
		t.Errorf("quota on the root = %+v", q)
	}

	// Other modules read the same answer, typed.
	ctx := tenancy.WithTenant(context.Background(), w.a.ID)
	quota, err := w.env.App.Profiles.Quota(ctx, w.node("msa/suit/first"))
	if err != nil {
		t.Fatal(err)
	}
	if quota.MaxPendingQueueItemsPerUser == nil || *quota.MaxPendingQueueItemsPerUser != 10 || quota.MaxBulkDownloadBytes != nil ||
		quota.DownloadLinkTTLSeconds != profiles.DefaultDownloadLinkTTL {
		t.Errorf("Quota(msa/suit/first) = %+v", quota)
	}
	privacy, err := w.env.App.Profiles.Privacy(ctx, w.node("msa/suit"))
	if err != nil {
		t.Fatal(err)
	}
	if privacy.Shows(profiles.AudienceOwner) || !privacy.Shows(profiles.AudienceAdmins) || !privacy.HideQueueFieldValues {
		t.Errorf("Privacy(msa/suit) = %+v", privacy)
	}
	if _, err := w.env.App.Profiles.Effective(ctx, w.node("msa"), "nope"); err == nil {
		t.Error("Effective of an unknown type answered")
	}
}

// A workspace admin assigns profiles in their subtree, but never over a profile in force from
// above that they may not manage, nor outside their subtree.
func TestProfiles_workspaceAdminAssignsBelowButCannotOverrideFromAbove(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "msa", "msa/suit", "msa/suit/first", "msa/rocket")
	admin := w.a.Admin.Token
	wsAdmin := w.member(t, rbac.RoleAdmin, "msa/suit")
	editor := w.member(t, rbac.RoleEditor, "msa/suit")
	outsider := w.member(t, "", "")
	parentViewer := w.member(t, rbac.RoleViewer, "msa")

	limit := w.create(t, admin, "quota", "Tight", map[string]any{"max_bulk_download_bytes": 10})
	loose := w.create(t, admin, "quota", "Loose", map[string]any{})
	quiet := w.create(t, admin, "privacy", "Quiet", map[string]any{"visible_to": []string{"owner"}})
	apptest.WantStatus(t, w.assign(admin, "msa", "quota", limit.ID), http.StatusOK)

	cases := []struct {
		name  string
		token string
		path  string
		typ   string
		id    any
		want  int
	}{
		{"override the parent's quota from below", wsAdmin.Token, "msa/suit/first", "quota", loose.ID, http.StatusForbidden},
		{"privacy in the subtree, none above", wsAdmin.Token, "msa/suit/first", "privacy", quiet.ID, http.StatusOK},
		{"outside the subtree", wsAdmin.Token, "msa/rocket", "privacy", quiet.ID, http.StatusNotFound},
		{"above the subtree, which they cannot see", wsAdmin.Token, "msa", "privacy", quiet.ID, http.StatusNotFound},
		{"viewer of the parent", parentViewer.Token, "msa", "privacy", quiet.ID, http.StatusForbidden},
		{"editor", editor.Token, "msa/suit", "privacy", quiet.ID, http.StatusForbidden},
		{"member without a grant", outsider.Token, "msa/suit", "privacy", quiet.ID, http.StatusNotFound},
		{"tenant admin overrides anywhere", admin, "msa/suit/first", "quota", loose.ID, http.StatusOK},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := w.env.Do(http.MethodPut, w.profilesOf(c.path)+"/"+c.typ, c.token, map[string]any{"profile_id": c.id})
			if r.Status != c.want {
				t.Errorf("PUT %s/%s: %d %s, want %d", c.path, c.typ, r.Status, r.Body, c.want)
			}
		})
	}
	// Once the node has its own, the workspace admin may replace and remove it there.
	apptest.WantStatus(t, w.assign(wsAdmin.Token, "msa/suit/first", "quota", limit.ID), http.StatusOK)
	apptest.WantStatus(t, w.unassign(wsAdmin.Token, "msa/suit/first", "quota"), http.StatusNoContent)
	if q := w.effective(t, wsAdmin.Token, "msa/suit/first")["quota"]; q.Profile == nil || q.Profile.ID != limit.ID || q.From.Path != "msa" {
		t.Errorf("quota after the workspace admin's unassignment = %+v, want msa's", q)
	}
}

// The route's type and the profile's type must agree; nothing is written when they do not.
func TestProfiles_assignRefusesAProfileOfAnotherType(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "msa")
	admin := w.a.Admin.Token
	q := w.create(t, admin, "quota", "Q", map[string]any{})
	apptest.WantInvalid(t, w.assign(admin, "msa", "privacy", q.ID), "profile_id")
	apptest.WantInvalid(t, w.env.Do(http.MethodPut, w.profilesOf("msa")+"/quota", admin, map[string]any{"profile_id": "nope"}), "profile_id")
	apptest.WantInvalid(t, w.env.Do(http.MethodPut, w.profilesOf("msa")+"/quota", admin, map[string]any{"profile_id": q.ID, "x": 1}), "x")
	apptest.WantStatus(t, w.assign(admin, "msa", "colour", q.ID), http.StatusNotFound)
	apptest.WantStatus(t, w.unassign(admin, "msa", "colour"), http.StatusNotFound)
	for typ, e := range w.effective(t, admin, "msa") {
		if e.Profile != nil {
			t.Errorf("%s: a refused assignment was written: %+v", typ, e)
		}
	}
}

// The types are described for clients: every built-in with its settings and defaults.
func TestProfileTypes_describeEveryBuiltinTypeWithDefaults(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	apptest.WantStatus(t, w.env.Do(http.MethodGet, "/api/v1/profile-types", "", nil), http.StatusUnauthorized)
	member := w.member(t, "", "")
	r := w.env.Do(http.MethodGet, "/api/v1/profile-types", member.Token, nil)
	apptest.WantStatus(t, r, http.StatusOK)
	var got page[struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Settings    struct {
			Type       string                     `json:"type"`
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"settings"`
		Default json.RawMessage `json:"default"`
	}]
	r.JSON(t, &got)
	want := map[string][]string{
		"access":  {"read_only", "deny"},
		"privacy": {"hide_generation_metadata", "hide_queue_field_values", "visible_to"},
		"quota":   {"max_pending_queue_items_per_user", "max_bulk_download_images", "max_bulk_download_bytes", "download_link_ttl_seconds"},
	}
	for _, tv := range got.Items {
		fields, ok := want[tv.Name]
		if !ok {
			continue
		}
		delete(want, tv.Name)
		var def map[string]json.RawMessage
		if err := json.Unmarshal(tv.Default, &def); err != nil {
			t.Fatalf("%s default %s: %v", tv.Name, tv.Default, err)
		}
		if tv.Description == "" || tv.Settings.Type != "object" || len(tv.Settings.Properties) != len(fields) || len(def) != len(fields) {
			t.Errorf("%s described as %+v", tv.Name, tv)
		}
		for _, f := range fields {
			if _, ok := tv.Settings.Properties[f]; !ok {
				t.Errorf("%s: setting %s is not described", tv.Name, f)
			}
			if _, ok := def[f]; !ok {
				t.Errorf("%s: setting %s has no default", tv.Name, f)
			}
		}
	}
	for name := range want {
		t.Errorf("type %s is not listed", name)
	}
}
