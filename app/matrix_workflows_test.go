package app_test

import (
	"net/http"
	"testing"

	"github.com/atelier-hq/atelier/app/apptest"
)

// Rows for workflows (SPEC §7). The workflows are saved by a fixed owner in msa/suit
// (app/workflows_kit_test.go), so the actors stand to them as:
//
//   - admins (tenant admin, admin of msa/suit, admin of msa): read and change everything;
//   - readers (editors and viewers of msa/suit and msa, the auditor): read shared workflows
//     only, change nothing; editors and admins may save their own;
//   - outsiders (member with no grant, expired grant): see only system workflows;
//   - system workflows: every user of tenant A reads them, only the tenant admin changes them;
//   - the other tenant's admin: 404; anonymous: 401.
func init() {
	const api = "/api/v1"
	ok, created, noContent := http.StatusOK, http.StatusCreated, http.StatusNoContent
	forbidden, notFound, unauth := http.StatusForbidden, http.StatusNotFound, http.StatusUnauthorized

	// by builds a row's expectations from how the actor stands.
	by := func(admin, aud, reader, outsider int) map[actor]int {
		return map[actor]int{anonymous: unauth, otherTenant: notFound,
			tenantAdmin: admin, wsAdmin: admin, parentAdmin: admin, auditor: aud,
			wsEditor: reader, wsViewer: reader, parentEditor: reader, parentViewer: reader,
			member: outsider, expired: outsider}
	}
	// system: tenant admin sa, every other user of A s.
	system := func(sa, s int) map[actor]int {
		m := by(s, s, s, s)
		m[tenantAdmin] = sa
		return m
	}
	with := func(m map[actor]int, except map[actor]int) map[actor]int {
		for a, s := range except {
			m[a] = s
		}
		return m
	}
	private := wfSpec{}
	shared := wfSpec{shared: true}
	sys := wfSpec{system: true}
	withThumb := func(s wfSpec) wfSpec { s.thumbnail = true; return s }

	once := func(key string, s wfSpec, tail string) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, _ actor) string {
			return api + "/workflows/" + wfKitOf(t, w).cached(t, key, s).String() + tail
		}
	}
	fresh := func(s wfSpec, tail string) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, _ actor) string {
			return api + "/workflows/" + wfKitOf(t, w).create(t, s).String() + tail
		}
	}
	rename := func(*testing.T, *world, actor) any { return map[string]any{"name": "renamed"} }
	thumbBody := func(*testing.T, *world, actor) any {
		return apptest.NewForm(nil, apptest.FormFile{Field: "file", Filename: "t.png", Data: bdPNG(8, 8)})
	}
	create := func(*testing.T, *world, actor) any {
		return map[string]any{"name": "mine", "graph": rawJSON(wfGraph)}
	}
	inSuit := func(p string) func(*testing.T, *world, actor) string {
		return func(t *testing.T, w *world, _ actor) string {
			wfKitOf(t, w).cached(t, "private", private)
			wfKitOf(t, w).cached(t, "shared", shared)
			return api + "/workspaces/msa~suit/workflows" + p
		}
	}
	listable := by(ok, ok, ok, notFound)

	registerRows(
		matrixRow{route: "GET /api/v1/workspaces/:ws/workflows", path: inSuit(""), want: listable},
		matrixRow{route: "GET /api/v1/workspaces/:ws/workflows", name: "category=default", path: inSuit("?category=default"), want: listable},
		matrixRow{route: "GET /api/v1/workspaces/:ws/workflows", name: "bad category", path: inSuit("?category=mine"),
			// The query is checked before the workspace is looked up: nothing about it is told.
			want: expect(http.StatusBadRequest, map[actor]int{anonymous: unauth})},
		matrixRow{route: "POST /api/v1/workspaces/:ws/workflows", path: inSuit(""), body: create,
			want: with(by(created, forbidden, created, notFound), map[actor]int{wsViewer: forbidden, parentViewer: forbidden})},
		matrixRow{route: "GET /api/v1/workspaces/:ws/workflows/counts", path: inSuit("/counts"), want: listable},
		matrixRow{route: "GET /api/v1/workspaces/:ws/workflows/tags", path: inSuit("/tags"), want: listable},

		matrixRow{route: "GET /api/v1/workflows/:id", name: "private", path: once("private", private, ""),
			want: by(ok, notFound, notFound, notFound)},
		matrixRow{route: "GET /api/v1/workflows/:id", name: "shared", path: once("shared", shared, ""),
			want: by(ok, ok, ok, notFound)},
		matrixRow{route: "GET /api/v1/workflows/:id", name: "system", path: once("system", sys, ""),
			want: system(ok, ok)},

		matrixRow{route: "PATCH /api/v1/workflows/:id", name: "private", path: fresh(private, ""), body: rename,
			want: by(ok, notFound, notFound, notFound)},
		matrixRow{route: "PATCH /api/v1/workflows/:id", name: "shared", path: fresh(shared, ""), body: rename,
			want: by(ok, forbidden, forbidden, notFound)},
		matrixRow{route: "PATCH /api/v1/workflows/:id", name: "system", path: fresh(sys, ""), body: rename,
			want: system(ok, forbidden)},

		matrixRow{route: "DELETE /api/v1/workflows/:id", name: "private", path: fresh(private, ""),
			want: by(noContent, notFound, notFound, notFound)},
		matrixRow{route: "DELETE /api/v1/workflows/:id", name: "shared", path: fresh(shared, ""),
			want: by(noContent, forbidden, forbidden, notFound)},
		matrixRow{route: "DELETE /api/v1/workflows/:id", name: "system", path: fresh(sys, ""),
			want: system(noContent, forbidden)},

		matrixRow{route: "GET /api/v1/workflows/:id/thumbnail", name: "private", path: once("private thumb", withThumb(private), "/thumbnail"),
			want: by(ok, notFound, notFound, notFound)},
		matrixRow{route: "GET /api/v1/workflows/:id/thumbnail", name: "shared", path: once("shared thumb", withThumb(shared), "/thumbnail"),
			want: by(ok, ok, ok, notFound)},
		matrixRow{route: "GET /api/v1/workflows/:id/thumbnail", name: "system without thumbnail", path: once("system", sys, "/thumbnail"),
			want: system(notFound, notFound)},

		matrixRow{route: "PUT /api/v1/workflows/:id/thumbnail", name: "private", path: fresh(private, "/thumbnail"), body: thumbBody,
			want: by(noContent, notFound, notFound, notFound)},
		matrixRow{route: "PUT /api/v1/workflows/:id/thumbnail", name: "shared", path: fresh(shared, "/thumbnail"), body: thumbBody,
			want: by(noContent, forbidden, forbidden, notFound)},
		matrixRow{route: "PUT /api/v1/workflows/:id/thumbnail", name: "system", path: fresh(sys, "/thumbnail"), body: thumbBody,
			want: system(noContent, forbidden)},

		matrixRow{route: "GET /api/v1/workflow-node-types", path: fixed(api + "/workflow-node-types"),
			want: expect(ok, map[actor]int{anonymous: unauth})},
	)
}
