package app

import (
	"bytes"
	"html/template"
	"sort"
	"strings"

	"github.com/atelier-hq/atelier/modules/web"
)

var docsPage = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Atelier API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:70rem;margin:2rem auto;padding:0 1rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left}
code{font-size:90%}.m{font-weight:600}</style></head><body>
<h1>Atelier API</h1>
<p>The machine-readable document is <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.
Errors always have the shape <code>{"error":{"code","message","details"}}</code>.
Authenticate with <code>Authorization: Bearer &lt;token&gt;</code> (an access token from
<code>POST /api/v1/auth/login</code>, or a personal access token).</p>
{{range .}}<h2>{{.Tag}}</h2><table><tr><th>Method</th><th>Path</th><th>Requires</th><th>What it does</th></tr>
{{range .Routes}}<tr><td class="m">{{.Method}}</td><td><code>{{.Path}}</code></td><td><code>{{.Access}}</code></td><td>{{.Summary}}</td></tr>
{{end}}</table>{{end}}
</body></html>`))

type docsRoute struct{ Method, Path, Access, Summary string }

type docsGroup struct {
	Tag    string
	Routes []docsRoute
}

func renderDocs(routers []*web.Router) ([]byte, error) {
	byTag := map[string][]docsRoute{}
	for _, r := range routers {
		for _, rt := range r.Routes() {
			byTag[rt.Tag] = append(byTag[rt.Tag], docsRoute{Method: strings.ToUpper(rt.Method),
				Path: web.OpenAPIPath(rt.FullPath(r.Prefix())), Access: rt.Access.String(), Summary: rt.Summary})
		}
	}
	groups := make([]docsGroup, 0, len(byTag))
	for tag, routes := range byTag {
		groups = append(groups, docsGroup{Tag: tag, Routes: routes})
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Tag < groups[j].Tag })
	var buf bytes.Buffer
	err := docsPage.Execute(&buf, groups)
	return buf.Bytes(), err
}
