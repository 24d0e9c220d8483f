package workflows

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/atelier-hq/atelier/modules/apierr"
	"github.com/atelier-hq/atelier/modules/workflows/graph"
)

func checkCategory(c string) error {
	switch c {
	case "", CategoryUser, CategoryShared, CategoryDefault:
		return nil
	}
	return apierr.Invalid("category", "must be user, shared or default")
}

func cleanFilter(f Filter) (Filter, error) {
	if err := checkCategory(f.Category); err != nil {
		return f, err
	}
	if f.Tag != "" {
		tag, err := normaliseTag("tag", f.Tag)
		if err != nil {
			return f, err
		}
		f.Tag = tag
	}
	if utf8.RuneCountInString(f.Query) > MaxQueryLen || strings.ContainsRune(f.Query, 0) {
		return f, apierr.Invalid("q", fmt.Sprintf("at most %d characters, no NUL", MaxQueryLen))
	}
	return f, nil
}

// parseGraph validates a graph and returns its canonical JSON. A graph error is a 400 naming
// the graph's node and field ("graph.nodes[2].fields.width").
func parseGraph(raw json.RawMessage) (string, error) {
	if len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return "", apierr.Invalid("graph", "is required")
	}
	g, err := graph.Parse(raw)
	if err != nil {
		var ge *graph.Error
		if errors.As(err, &ge) {
			field := "graph"
			if ge.Field != "graph" {
				field += "." + ge.Field
			}
			reason := ge.Reason
			if ge.Node != "" {
				reason = "node " + ge.Node + ": " + reason
			}
			return "", apierr.Invalid(field, reason)
		}
		return "", err
	}
	out, err := json.Marshal(g)
	return string(out), err
}

// cleanText trims a name or description and refuses what PostgreSQL cannot store.
func cleanText(field, s string, required bool) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case required && s == "":
		return "", apierr.Invalid(field, "is required")
	case strings.ContainsRune(s, 0) || !utf8.ValidString(s):
		return "", apierr.Invalid(field, "must be valid text without NUL characters")
	}
	return s, nil
}

func normaliseTag(field, t string) (string, error) {
	t = strings.ToLower(strings.TrimSpace(t))
	switch {
	case t == "":
		return "", apierr.Invalid(field, "must not be empty")
	case utf8.RuneCountInString(t) > MaxTagLen:
		return "", apierr.Invalid(field, fmt.Sprintf("at most %d characters", MaxTagLen))
	case !utf8.ValidString(t) || strings.IndexFunc(t, unicode.IsControl) >= 0:
		return "", apierr.Invalid(field, "must be printable text")
	}
	return t, nil
}

// normaliseTags trims, case-folds, de-duplicates and sorts tags, and makes the shared tag follow
// the flag (whatever the caller sent).
func normaliseTags(in []string, shared bool) ([]string, error) {
	seen := map[string]bool{}
	out := []string{}
	for i, raw := range in {
		t, err := normaliseTag(fmt.Sprintf("tags[%d]", i), raw)
		if err != nil {
			return nil, err
		}
		if t == SharedTag || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
	}
	if shared {
		out = append(out, SharedTag)
	}
	if len(out) > MaxTags {
		return nil, apierr.Invalid("tags", fmt.Sprintf("at most %d tags", MaxTags))
	}
	sort.Strings(out)
	return out, nil
}
