package rbac_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/casbin/casbin/v2/model"
)

// TestModel_fileParsesAndDefinitionsArePinned guards model.conf against accidental edits: it
// parses, and every definition, the matcher above all, is exactly the reviewed text. Changing
// the model means changing this test in the same review.
func TestModel_fileParsesAndDefinitionsArePinned(t *testing.T) {
	t.Parallel()
	const matcher = `r.dom == p.dom && g2(p.role, r.act, r.dom) && g(r.obj, p.role + "@" + r.sub, r.dom) && profileAllows(r.sub, r.obj, p.role, r.act)`
	want := map[string]string{
		"request_definition/r": "sub, dom, obj, act",
		"policy_definition/p":  "dom, role",
		"role_definition/g":    "_, _, _",
		"role_definition/g2":   "_, _, _",
		"policy_effect/e":      "some(where (p.eft == allow))",
		"matchers/m":           matcher,
	}

	got := definitions(t, "model.conf")
	for key, w := range want {
		if got[key] != w {
			t.Errorf("model.conf [%s] = %q, want %q", key, got[key], w)
		}
	}
	for key := range got {
		if _, ok := want[key]; !ok {
			t.Errorf("model.conf has an unreviewed definition [%s] = %q", key, got[key])
		}
	}

	m, err := model.NewModelFromFile("model.conf")
	if err != nil {
		t.Fatalf("model.conf does not parse: %v", err)
	}
	escaped := strings.NewReplacer("r.", "r_", "p.", "p_").Replace(matcher)
	if v := m["m"]["m"].Value; v != escaped {
		t.Errorf("parsed matcher = %q, want %q", v, escaped)
	}
	if n := len(m["g"]); n != 2 {
		t.Errorf("parsed %d role definitions, want g and g2", n)
	}
}

// definitions reads "section/key" → value from a casbin model file, comments dropped.
func definitions(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
		default:
			key, value, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("model.conf: unexpected line %q", line)
			}
			out[section+"/"+strings.TrimSpace(key)] = strings.TrimSpace(value)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
