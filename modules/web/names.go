package web

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/atelier-hq/atelier/modules/apierr"
)

// The one rule for names and free text across modules (workspace, board, image, group, profile,
// token and tenant names, display names, descriptions). Names are one line: no C0 control
// character but tab, no DEL, no C1 control, no bidirectional override or isolate (which make
// "txt.exe" read as "exe.txt") and no line or paragraph separator, and never only white space.
// Free text (descriptions) may also hold line breaks. Struct fields take it as the `name` and
// `text` validate tags; other inputs (multipart fields) call CheckName.

// unsafeRune reports whether r may not appear in a name (multiline: in free text).
func unsafeRune(r rune, multiline bool) bool {
	switch {
	case r == '\t':
		return false
	case r == '\n' || r == '\r':
		return !multiline
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
		return true // bidi embeddings, overrides, isolates and marks
	case r == 0x2028 || r == 0x2029:
		return !multiline
	case r == utf8.RuneError:
		return true
	}
	return false
}

// SafeName reports whether s is an acceptable name: valid UTF-8, no unsafe character, and not
// only white space (the empty string is for `required` to judge).
func SafeName(s string) bool {
	return safe(s, false) && (s == "" || strings.TrimFunc(s, unicode.IsSpace) != "")
}

// SafeText reports whether s is acceptable free text (line breaks allowed).
func SafeText(s string) bool { return safe(s, true) }

func safe(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unsafeRune(r, multiline) {
			return false
		}
	}
	return true
}

// NameRule is the reason given for a name that breaks the rule.
const NameRule = "must not be blank nor hold control, bidirectional-override or line-separator characters"

// CheckName trims a name and checks it against the rule and a length in characters, naming the
// field at fault.
func CheckName(field, s string, maxLen int) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", apierr.Invalid(field, "is required")
	case !SafeName(s):
		return "", apierr.Invalid(field, NameRule)
	case utf8.RuneCountInString(s) > maxLen:
		return "", apierr.Invalid(field, "must be at most "+strconv.Itoa(maxLen)+" characters long")
	}
	return s, nil
}
