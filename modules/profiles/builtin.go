package profiles

import (
	"context"
	"encoding/json"
	"math"
	"slices"

	"github.com/atelier-hq/atelier/rbac"
)

// The built-in profile types.
const (
	TypeAccess  = "access"
	TypePrivacy = "privacy"
	TypeQuota   = "quota"
)

func init() {
	Register(accessType())
	Register(privacyType())
	Register(quotaType())
}

// accessSettings is rbac.AccessSettings as stored: the enforcer reads exactly these fields when
// it loads the policy (profileAllows), so the two must stay in step (a test checks it).
type accessSettings struct {
	ReadOnly bool                     `json:"read_only"`
	Deny     map[string][]rbac.Action `json:"deny"`
}

func accessType() Type {
	return Type{
		Name: TypeAccess,
		Description: "Restrictions layered on top of the grants in a subtree: make it read-only (an archived " +
			"project: nobody but tenant admins writes there) or take actions away from a role. Enforced by " +
			"every authorization decision, from the moment the profile is assigned or changed.",
		Settings: Schema{Type: "object", Properties: map[string]Property{
			"read_only": {Type: "boolean", Default: false,
				Description: "refuse every action that changes something, except to tenant admins"},
			"deny": {Type: "object", Default: map[string][]string{}, Keys: "role names of the tenant",
				Description: "per role, the actions its holders lose in the subtree, wherever the role was granted",
				Values:      &Property{Type: "array", Items: &Property{Type: "string", Description: "an action, object_type:action"}}},
		}},
		Default:  json.RawMessage(`{"read_only": false, "deny": {}}`),
		Validate: validateAccess,
	}
}

func validateAccess(_ context.Context, env Env, raw json.RawMessage) (json.RawMessage, error) {
	var r reader
	m, ok := r.object("", raw, []string{"read_only", "deny"})
	if !ok {
		return nil, r.err()
	}
	s := accessSettings{Deny: map[string][]rbac.Action{}}
	if v, ok := m["read_only"]; ok {
		s.ReadOnly, _ = r.boolean("read_only", v)
	}
	if v, ok := m["deny"]; ok {
		roles, _ := r.object("deny", v, nil)
		for _, role := range keys(roles) {
			path := child("deny", role)
			exists := false
			if rbac.RoleNamePattern.MatchString(role) {
				var err error
				if exists, err = env.RoleExists(role); err != nil {
					return nil, err
				}
			}
			if !exists {
				r.fail(path, "no such role in this tenant")
				continue
			}
			names, ok := r.strings(path, roles[role])
			if !ok {
				continue
			}
			var actions []rbac.Action
			for i, name := range names {
				a := rbac.Action(name)
				switch {
				case !a.Known():
					r.fail(elem(path, i), "unknown action")
				case slices.Contains(actions, a):
					r.fail(elem(path, i), "listed twice")
				default:
					actions = append(actions, a)
				}
			}
			if len(actions) > 0 {
				slices.Sort(actions)
				s.Deny[role] = actions
			}
		}
	}
	if err := r.err(); err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

// lockout returns the settings path of a denial that, in force on the tenant root, would leave
// nobody able to change profiles again: `admin` losing profile:manage there means tenant admins
// can neither edit nor unassign the profile that did it.
func lockout(settings json.RawMessage) (string, bool) {
	var s accessSettings
	if json.Unmarshal(settings, &s) != nil {
		return "", false
	}
	for i, a := range s.Deny[rbac.RoleAdmin] {
		if a == rbac.ProfileManage {
			return elem(child("deny", rbac.RoleAdmin), i), true
		}
	}
	return "", false
}

// Audiences of hidden fields, as privacy settings name them.
const (
	AudienceOwner    = "owner"    // the object's owner (an image's uploader, a queue item's requester)
	AudienceAdmins   = "admins"   // tenant admins and admins of the object's workspace or an ancestor
	AudienceAuditors = "auditors" // the tenant's auditors
)

var audiences = []string{AudienceOwner, AudienceAdmins, AudienceAuditors}

// PrivacySettings say which fields are hidden, and from whom: a hidden field is shown only to
// the audiences in VisibleTo and answered as null with a `hidden` marker to everyone else.
type PrivacySettings struct {
	HideGenerationMetadata bool     `json:"hide_generation_metadata"`
	HideQueueFieldValues   bool     `json:"hide_queue_field_values"`
	VisibleTo              []string `json:"visible_to"`
}

// Shows reports whether hidden fields are shown to the audience.
func (p PrivacySettings) Shows(audience string) bool { return slices.Contains(p.VisibleTo, audience) }

func privacyType() Type {
	return Type{
		Name: TypePrivacy,
		Description: "Which fields are hidden from whom in a subtree. Hidden fields are answered as null with a " +
			"`hidden` marker to everyone but the audiences in visible_to. Without a profile, generation " +
			"metadata and queue field values are hidden from everyone but the owner and admins.",
		Settings: Schema{Type: "object", Properties: map[string]Property{
			"hide_generation_metadata": {Type: "boolean", Default: true,
				Description: "hide images' generation metadata (prompts, seeds, the workflow graph)"},
			"hide_queue_field_values": {Type: "boolean", Default: true,
				Description: "hide queue items' field_values and results"},
			"visible_to": {Type: "array", Default: []string{AudienceOwner, AudienceAdmins},
				Description: "who still sees the hidden fields: owner (the object's owner), admins (tenant admins " +
					"and admins of the workspace or an ancestor), auditors (the tenant's auditors); [] hides them " +
					"from everyone",
				Items: &Property{Type: "string", Enum: audiences}},
		}},
		Default:  json.RawMessage(`{"hide_generation_metadata": true, "hide_queue_field_values": true, "visible_to": ["owner", "admins"]}`),
		Validate: validatePrivacy,
	}
}

func validatePrivacy(_ context.Context, _ Env, raw json.RawMessage) (json.RawMessage, error) {
	var r reader
	m, ok := r.object("", raw, []string{"hide_generation_metadata", "hide_queue_field_values", "visible_to"})
	if !ok {
		return nil, r.err()
	}
	s := PrivacySettings{HideGenerationMetadata: true, HideQueueFieldValues: true,
		VisibleTo: []string{AudienceOwner, AudienceAdmins}}
	if v, ok := m["hide_generation_metadata"]; ok {
		s.HideGenerationMetadata, _ = r.boolean("hide_generation_metadata", v)
	}
	if v, ok := m["hide_queue_field_values"]; ok {
		s.HideQueueFieldValues, _ = r.boolean("hide_queue_field_values", v)
	}
	if v, ok := m["visible_to"]; ok {
		names, _ := r.strings("visible_to", v)
		seen := map[string]bool{}
		for i, n := range names {
			switch {
			case !slices.Contains(audiences, n):
				r.fail(elem("visible_to", i), "must be one of: owner, admins, auditors")
			case seen[n]:
				r.fail(elem("visible_to", i), "listed twice")
			}
			seen[n] = true
		}
		// Canonical order, whatever order they were given in.
		s.VisibleTo = []string{}
		for _, a := range audiences {
			if seen[a] {
				s.VisibleTo = append(s.VisibleTo, a)
			}
		}
	}
	if err := r.err(); err != nil {
		return nil, err
	}
	return json.Marshal(s)
}

// Bounds of the quota settings.
const (
	MinDownloadLinkTTL     = 60     // one minute
	MaxDownloadLinkTTL     = 604800 // one week
	DefaultDownloadLinkTTL = 900    // fifteen minutes
)

// QuotaSettings are limits for a subtree. A nil limit is no limit.
type QuotaSettings struct {
	MaxPendingQueueItemsPerUser *int64 `json:"max_pending_queue_items_per_user"`
	MaxBulkDownloadImages       *int64 `json:"max_bulk_download_images"`
	MaxBulkDownloadBytes        *int64 `json:"max_bulk_download_bytes"`
	DownloadLinkTTLSeconds      int64  `json:"download_link_ttl_seconds"`
}

func quotaType() Type {
	return Type{
		Name: TypeQuota,
		Description: "Limits for a subtree. Every setting is optional: an absent or null limit is no limit; an " +
			"absent link lifetime is the default. The nearest quota profile governs alone (limits are not " +
			"merged with those of profiles further up).",
		Settings: Schema{Type: "object", Properties: map[string]Property{
			"max_pending_queue_items_per_user": {Type: "integer", Nullable: true, Default: nil, Minimum: int64p(0),
				Description: "how many queue items one user may have waiting at once; null: no limit"},
			"max_bulk_download_images": {Type: "integer", Nullable: true, Default: nil, Minimum: int64p(0),
				Description: "the most images one bulk download may hold; null: only the server's own bound"},
			"max_bulk_download_bytes": {Type: "integer", Nullable: true, Default: nil, Minimum: int64p(0),
				Description: "the largest bulk download (sum of the files' sizes) a user may request; null: only the server's own bound"},
			"download_link_ttl_seconds": {Type: "integer", Default: DefaultDownloadLinkTTL,
				Minimum: int64p(MinDownloadLinkTTL), Maximum: int64p(MaxDownloadLinkTTL),
				Description: "how long a signed download link stays valid"},
		}},
		Default:  json.RawMessage(`{"max_pending_queue_items_per_user": null, "max_bulk_download_images": null, "max_bulk_download_bytes": null, "download_link_ttl_seconds": 900}`),
		Validate: validateQuota,
	}
}

func validateQuota(_ context.Context, _ Env, raw json.RawMessage) (json.RawMessage, error) {
	var r reader
	m, ok := r.object("", raw, []string{"max_pending_queue_items_per_user", "max_bulk_download_images", "max_bulk_download_bytes", "download_link_ttl_seconds"})
	if !ok {
		return nil, r.err()
	}
	s := QuotaSettings{DownloadLinkTTLSeconds: DefaultDownloadLinkTTL}
	limit := func(key string) *int64 {
		v, ok := m[key]
		if !ok || kind(v) == "null" {
			return nil
		}
		n, ok := r.integer(key, v, 0, math.MaxInt64)
		if !ok {
			return nil
		}
		return &n
	}
	s.MaxPendingQueueItemsPerUser = limit("max_pending_queue_items_per_user")
	s.MaxBulkDownloadImages = limit("max_bulk_download_images")
	s.MaxBulkDownloadBytes = limit("max_bulk_download_bytes")
	if v, ok := m["download_link_ttl_seconds"]; ok {
		s.DownloadLinkTTLSeconds, _ = r.integer("download_link_ttl_seconds", v, MinDownloadLinkTTL, MaxDownloadLinkTTL)
	}
	if err := r.err(); err != nil {
		return nil, err
	}
	return json.Marshal(s)
}
