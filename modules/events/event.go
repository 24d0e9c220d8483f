// Package events is the live event stream: other modules publish events through Redis pub/sub,
// every API node keeps the streams (Server-Sent Events) of its own clients and delivers to each
// only what its user may see. A stream is opened with a short-lived single-use ticket, because a
// browser's EventSource cannot send an Authorization header.
package events

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"

	"github.com/atelier-hq/atelier/rbac"
)

// Event is one thing that happened, for an audience inside one tenant.
//
// The audience is exactly one of: UserID (the owner sees it; with WorkspaceID too, so do the
// callers for whom AdminAction is allowed on that workspace), or TenantWide (every user of the
// tenant). Nothing ever reaches another tenant.
type Event struct {
	TenantID uuid.UUID
	// Name is the SSE event name ("queue_item", "queue_counts", "download", …).
	Name string
	// Data is encoded as JSON.
	Data any

	UserID      uuid.UUID
	WorkspaceID uuid.UUID
	// AdminAction is what makes a caller an admin of WorkspaceID for this event; zero means the
	// hub's default (board:admin, which workspace and tenant admins hold).
	AdminAction rbac.Action
	TenantWide  bool
}

// Publisher is what a module that emits events depends on.
type Publisher interface {
	Publish(ctx context.Context, e Event) error
}

// Limits of an event.
const (
	MaxNameLen  = 64
	MaxDataSize = 64 << 10
)

// ErrBadEvent is an event the hub refuses to publish (a programming error of the publisher).
var ErrBadEvent = errors.New("events: bad event")

// envelope is an event as it travels through Redis. The publishing script prefixes it with the
// tenant's next event id.
type envelope struct {
	Tenant     uuid.UUID       `json:"t"`
	Name       string          `json:"n"`
	User       *uuid.UUID      `json:"u,omitempty"`
	Workspace  *uuid.UUID      `json:"w,omitempty"`
	Action     rbac.Action     `json:"a,omitempty"`
	TenantWide bool            `json:"tw,omitempty"`
	Data       json.RawMessage `json:"d"`
}

// encode validates e and returns its envelope.
func (e Event) encode(defaultAdmin rbac.Action) ([]byte, error) {
	switch {
	case e.TenantID == uuid.Nil:
		return nil, fmt.Errorf("%w: no tenant", ErrBadEvent)
	case e.Name == "" || len(e.Name) > MaxNameLen || !validName(e.Name):
		return nil, fmt.Errorf("%w: name %q", ErrBadEvent, e.Name)
	case e.TenantWide == (e.UserID != uuid.Nil):
		return nil, fmt.Errorf("%w: the audience is exactly one of a user or the whole tenant", ErrBadEvent)
	case e.TenantWide && e.WorkspaceID != uuid.Nil:
		return nil, fmt.Errorf("%w: a tenant-wide event names no workspace", ErrBadEvent)
	}
	data, err := json.Marshal(e.Data)
	if err != nil {
		return nil, fmt.Errorf("%w: data: %v", ErrBadEvent, err)
	}
	if len(data) > MaxDataSize {
		return nil, fmt.Errorf("%w: data of %d bytes", ErrBadEvent, len(data))
	}
	env := envelope{Tenant: e.TenantID, Name: e.Name, TenantWide: e.TenantWide, Data: data}
	if e.UserID != uuid.Nil {
		env.User = &e.UserID
	}
	if e.WorkspaceID != uuid.Nil {
		env.Workspace = &e.WorkspaceID
		env.Action = e.AdminAction
		if env.Action == "" {
			env.Action = defaultAdmin
		}
	}
	return json.Marshal(env)
}

// validName keeps event names to what an SSE `event:` line can carry and a client can name.
func validName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// frame is a received event: its audience and its bytes on the wire, encoded once for every
// subscriber of the node.
type frame struct {
	id         int64
	tenant     uuid.UUID
	user       uuid.UUID
	workspace  uuid.UUID
	action     rbac.Action
	tenantWide bool
	wire       []byte
}

// decodeFrame parses "<id> <envelope>" as published by the script.
func decodeFrame(payload string) (*frame, error) {
	idText, body, ok := bytes.Cut([]byte(payload), []byte{' '})
	if !ok {
		return nil, errors.New("no event id")
	}
	id, err := strconv.ParseInt(string(idText), 10, 64)
	if err != nil || id <= 0 {
		return nil, fmt.Errorf("bad event id %q", idText)
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decode envelope: %w", err)
	}
	if env.Tenant == uuid.Nil || !validName(env.Name) || env.Name == "" {
		return nil, errors.New("envelope without tenant or name")
	}
	f := &frame{id: id, tenant: env.Tenant, action: env.Action, tenantWide: env.TenantWide}
	if env.User != nil {
		f.user = *env.User
	}
	if env.Workspace != nil {
		f.workspace = *env.Workspace
	}
	f.wire = wireEvent(id, env.Name, env.Data)
	return f, nil
}

// wireEvent is one SSE message. JSON from encoding/json holds no raw newline, so data is one
// line; compact guards against a publisher's json.RawMessage that does.
func wireEvent(id int64, name string, data []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(data) + len(name) + 40)
	if id > 0 {
		buf.WriteString("id: ")
		buf.WriteString(strconv.FormatInt(id, 10))
		buf.WriteByte('\n')
	}
	buf.WriteString("event: ")
	buf.WriteString(name)
	buf.WriteString("\ndata: ")
	if bytes.ContainsAny(data, "\r\n") {
		var c bytes.Buffer
		if err := json.Compact(&c, data); err == nil {
			data = c.Bytes()
		} else {
			data = []byte("null")
		}
	}
	buf.Write(data)
	buf.WriteString("\n\n")
	return buf.Bytes()
}
