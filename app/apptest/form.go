package apptest

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"sort"
)

// Form is a multipart/form-data body. Env.Do sends it with its own content type (boundary
// included), so matrix rows and tests can upload through the same call as JSON requests.
type Form struct {
	ContentType string
	Body        []byte
}

// FormFile is one file part of a Form.
type FormFile struct {
	Field    string // the form field, e.g. "file"
	Filename string
	Data     []byte
}

// NewForm builds a multipart body from plain fields (sent in name order) and files.
func NewForm(fields map[string]string, files ...FormFile) Form {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		_ = mw.WriteField(k, fields[k])
	}
	for _, f := range files {
		w, _ := mw.CreateFormFile(f.Field, f.Filename)
		_, _ = w.Write(f.Data)
	}
	_ = mw.Close()
	return Form{ContentType: mw.FormDataContentType(), Body: buf.Bytes()}
}

// DoWith sends a request without a body and with extra headers (Range, If-None-Match…).
func (e *Env) DoWith(method, path, token string, header http.Header) Response {
	e.T.Helper()
	req := httptest.NewRequest(method, path, nil)
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("X-Forwarded-For", e.ClientIP)
	return e.DoRequest(req)
}
