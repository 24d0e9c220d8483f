package profiles

import (
	"context"
	"encoding/json"
	"maps"
	"slices"

	"github.com/swaggest/jsonschema-go"

	"github.com/atelier-hq/atelier/modules/apierr"
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
	ReadOnly bool                     `json:"read_only" description:"refuse every action that changes something, except to tenant admins"`
	Deny     map[string][]rbac.Action `json:"deny" description:"per role, the actions its holders lose in the subtree, wherever the role was granted"`
}

// PrepareJSONSchema says what the keys of deny are, which its Go type cannot.
func (accessSettings) PrepareJSONSchema(s *jsonschema.Schema) error {
	deny := s.Properties["deny"].TypeObject
	deny.WithExtraPropertiesItem("x-keys", "role names of the tenant")
	if items := deny.AdditionalProperties.TypeObject.Items; items != nil && items.SchemaOrBool.TypeObject != nil {
		items.SchemaOrBool.TypeObject.WithDescription("an action, object_type:action")
	}
	return nil
}

func accessType() Type {
	return NewType(TypeAccess,
		"Restrictions layered on top of the grants in a subtree: make it read-only (an archived "+
			"project: nobody but tenant admins writes there) or take actions away from a role. Enforced by "+
			"every authorization decision, from the moment the profile is assigned or changed.",
		accessSettings{Deny: map[string][]rbac.Action{}}, checkAccess)
}

// checkAccess refuses a role the tenant does not define and an unknown or repeated action, and
// keeps each role's actions sorted and no role with none.
func checkAccess(_ context.Context, env Env, s *accessSettings) ([]apierr.FieldError, error) {
	var bad []apierr.FieldError
	for _, role := range slices.Sorted(maps.Keys(s.Deny)) {
		path := child("deny", role)
		exists := false
		if rbac.RoleNamePattern.MatchString(role) {
			var err error
			if exists, err = env.RoleExists(role); err != nil {
				return nil, err
			}
		}
		if !exists {
			bad = append(bad, apierr.FieldError{Field: path, Reason: "no such role in this tenant"})
			continue
		}
		var actions []rbac.Action
		for i, a := range s.Deny[role] {
			switch {
			case !a.Known():
				bad = append(bad, apierr.FieldError{Field: elem(path, i), Reason: "unknown action"})
			case slices.Contains(actions, a):
				bad = append(bad, apierr.FieldError{Field: elem(path, i), Reason: "listed twice"})
			default:
				actions = append(actions, a)
			}
		}
		slices.Sort(actions)
		if len(actions) > 0 {
			s.Deny[role] = actions
		} else {
			delete(s.Deny, role)
		}
	}
	return bad, nil
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

// Audience is who may see hidden fields, as privacy settings name them.
type Audience string

// The audiences, in their canonical order.
const (
	AudienceOwner    Audience = "owner"    // the object's owner (an image's uploader, a queue item's requester)
	AudienceAdmins   Audience = "admins"   // tenant admins and admins of the object's workspace or an ancestor
	AudienceAuditors Audience = "auditors" // the tenant's auditors
)

var audiences = []Audience{AudienceOwner, AudienceAdmins, AudienceAuditors}

// Enum lists the audiences in the settings' JSON Schema.
func (Audience) Enum() []any { return []any{AudienceOwner, AudienceAdmins, AudienceAuditors} }

// PrivacySettings say which fields are hidden, and from whom: a hidden field is shown only to
// the audiences in VisibleTo and answered as null with a `hidden` marker to everyone else.
type PrivacySettings struct {
	HideGenerationMetadata bool       `json:"hide_generation_metadata" description:"hide images' generation metadata (prompts, seeds, the workflow graph)"`
	HideQueueFieldValues   bool       `json:"hide_queue_field_values" description:"hide queue items' field_values and results"`
	VisibleTo              []Audience `json:"visible_to" validate:"dive,oneof=owner admins auditors" description:"who still sees the hidden fields: owner (the object's owner), admins (tenant admins and admins of the workspace or an ancestor), auditors (the tenant's auditors); [] hides them from everyone"`
}

// Shows reports whether hidden fields are shown to the audience.
func (p PrivacySettings) Shows(audience Audience) bool { return slices.Contains(p.VisibleTo, audience) }

func privacyType() Type {
	return NewType(TypePrivacy,
		"Which fields are hidden from whom in a subtree. Hidden fields are answered as null with a "+
			"`hidden` marker to everyone but the audiences in visible_to. Without a profile, generation "+
			"metadata and queue field values are hidden from everyone but the owner and admins.",
		PrivacySettings{HideGenerationMetadata: true, HideQueueFieldValues: true, VisibleTo: []Audience{AudienceOwner, AudienceAdmins}},
		checkPrivacy)
}

// checkPrivacy refuses an audience listed twice and puts the audiences in canonical order,
// whatever order they were given in.
func checkPrivacy(_ context.Context, _ Env, s *PrivacySettings) ([]apierr.FieldError, error) {
	var bad []apierr.FieldError
	for i, a := range s.VisibleTo {
		if slices.Contains(s.VisibleTo[:i], a) {
			bad = append(bad, apierr.FieldError{Field: elem("visible_to", i), Reason: "listed twice"})
		}
	}
	s.VisibleTo = slices.DeleteFunc(slices.Clone(audiences), func(a Audience) bool { return !slices.Contains(s.VisibleTo, a) })
	return bad, nil
}

// DefaultDownloadLinkTTL is the lifetime of a signed download link, in seconds, where no quota
// profile sets one: fifteen minutes. A profile may set one minute to one week (the tags below).
const DefaultDownloadLinkTTL = 900

// QuotaSettings are limits for a subtree. A nil limit is no limit.
type QuotaSettings struct {
	MaxPendingQueueItemsPerUser *int64 `json:"max_pending_queue_items_per_user" validate:"omitnil,gte=0" minimum:"0" description:"how many queue items one user may have waiting at once; null: no limit"`
	MaxBulkDownloadImages       *int64 `json:"max_bulk_download_images" validate:"omitnil,gte=0" minimum:"0" description:"the most images one bulk download may hold; null: only the server's own bound"`
	MaxBulkDownloadBytes        *int64 `json:"max_bulk_download_bytes" validate:"omitnil,gte=0" minimum:"0" description:"the largest bulk download (sum of the files' sizes) a user may request; null: only the server's own bound"`
	DownloadLinkTTLSeconds      int64  `json:"download_link_ttl_seconds" validate:"gte=60,lte=604800" minimum:"60" maximum:"604800" description:"how long a signed download link stays valid"`
}

func quotaType() Type {
	return NewType[QuotaSettings](TypeQuota,
		"Limits for a subtree. Every setting is optional: an absent or null limit is no limit; an "+
			"absent link lifetime is the default. The nearest quota profile governs alone (limits are not "+
			"merged with those of profiles further up).",
		QuotaSettings{DownloadLinkTTLSeconds: DefaultDownloadLinkTTL}, nil)
}
