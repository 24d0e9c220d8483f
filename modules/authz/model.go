// Package authz answers "may this user do this action on this object, and why?" for people:
// the explain endpoint over the enforcer's decision.
package authz

import "github.com/atelier-hq/atelier/rbac"

// Query is the explain request.
type Query struct {
	Subject string `query:"subject" description:"a user id (or user:<id>); omitted: the caller"`
	Action  string `query:"action" required:"true" description:"object_type:action, e.g. workspace:update"`
	Object  string `query:"object" required:"true" description:"tenant, tenant:<id>, workspace:<id or path with ~>, board:<id>, image:<id>"`
}

// Answer is the decision and the path that decided it. Allowed always equals what the decision
// point answers for the same subject, action and node.
type Answer struct {
	Subject string      `json:"subject"`
	Action  string      `json:"action"`
	Object  string      `json:"object"`
	Node    string      `json:"node"`
	Allowed bool        `json:"allowed"`
	Reason  string      `json:"reason"`
	Path    []rbac.Step `json:"path"`
}
