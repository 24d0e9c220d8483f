// Package audit is the tenant's audit log: every denied authorization decision and every granted
// change of data or permissions, recorded off the request path and queried by tenant admins and
// auditors.
package audit

import (
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"gorm.io/datatypes"

	"github.com/atelier-hq/atelier/modules/web"
)

// Results an entry can carry.
const (
	ResultAllow = "allow"
	ResultDeny  = "deny"
)

// Entry is one row of the audit log. Rows are only ever added (and pruned past the retention).
type Entry struct {
	TenantID  uuid.UUID `gorm:"primaryKey"`
	ID        uuid.UUID `gorm:"primaryKey"`
	At        time.Time
	RequestID string
	Subject   string
	Action    string
	Object    string
	Result    string
	Reason    datatypes.JSON
}

// TableName is the audit log table.
func (Entry) TableName() string { return "audit_log" }

// View is an entry as the API shows it.
type View struct {
	ID        uuid.UUID       `json:"id"`
	At        time.Time       `json:"at"`
	RequestID string          `json:"request_id"`
	Subject   string          `json:"subject"`
	Action    string          `json:"action"`
	Object    string          `json:"object"`
	Result    string          `json:"result" enum:"allow,deny"`
	Reason    json.RawMessage `json:"reason"`
}

func (e Entry) view() View {
	reason := json.RawMessage(e.Reason)
	if len(reason) == 0 {
		reason = json.RawMessage(`{}`)
	}
	return View{ID: e.ID, At: e.At.UTC(), RequestID: e.RequestID, Subject: e.Subject, Action: e.Action,
		Object: e.Object, Result: e.Result, Reason: reason}
}

// Filter narrows a listing; zero fields match everything. From and To bound `at` inclusively.
type Filter struct {
	Subject string
	Action  string
	Object  string
	Result  string
	From    time.Time
	To      time.Time
}

// ListQuery documents the listing's query parameters.
type ListQuery struct {
	web.PageQuery
	Subject string    `query:"subject" description:"a user id (matched as user:<id>) or a raw subject such as group:<id>"`
	Action  string    `query:"action" description:"exact action, e.g. user:create"`
	Object  string    `query:"object" description:"exact object, e.g. tenant, ws:<id>, user:<id>"`
	Result  string    `query:"result" enum:"allow,deny"`
	From    time.Time `query:"from" description:"RFC 3339; entries at or after"`
	To      time.Time `query:"to" description:"RFC 3339; entries at or before"`
}
