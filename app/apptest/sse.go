package apptest

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// SSEEvent is one message of an event stream.
type SSEEvent struct {
	ID   string
	Name string
	Data string
}

// SSE is an open event stream read by a background goroutine.
type SSE struct {
	Status int
	Body   []byte // the answer's body when Status is not 200
	events chan SSEEvent
	closed chan struct{}
	cancel context.CancelFunc
}

// maxWait bounds how long a test waits for a stream before it fails (a bound on a failure, not
// a sleep: events normally arrive in milliseconds).
const maxWait = 5 * time.Second

// OpenSSE opens GET path (with its query) on the server at base (Env.URL) with the headers. The
// stream is closed when the test ends.
func OpenSSE(t testing.TB, base, path string, header http.Header) *SSE {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", path, err)
	}
	s := &SSE{Status: resp.StatusCode, events: make(chan SSEEvent, 1024), closed: make(chan struct{}), cancel: cancel}
	t.Cleanup(s.Close)
	if resp.StatusCode != http.StatusOK {
		s.Body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		close(s.events)
		close(s.closed)
		return s
	}
	go func() {
		defer close(s.closed)
		defer close(s.events)
		defer resp.Body.Close()
		r := bufio.NewReader(resp.Body)
		var ev SSEEvent
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				if ev.Name != "" || ev.Data != "" {
					s.events <- ev
				}
				ev = SSEEvent{}
			case strings.HasPrefix(line, ":"): // a heartbeat
			case strings.HasPrefix(line, "id: "):
				ev.ID = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				ev.Name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.Data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return s
}

// Next returns the next event, failing the test when the stream ends first or nothing comes.
func (s *SSE) Next(t testing.TB) SSEEvent {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			t.Fatal("event stream ended while an event was expected")
		}
		return ev
	case <-time.After(maxWait):
		t.Fatalf("no event within %s", maxWait)
	}
	return SSEEvent{}
}

// NextNamed skips to the next event with the name.
func (s *SSE) NextNamed(t testing.TB, name string) SSEEvent {
	t.Helper()
	for {
		if ev := s.Next(t); ev.Name == name {
			return ev
		}
	}
}

// WaitClosed waits until the server ends the stream and returns the events it sent meanwhile.
func (s *SSE) WaitClosed(t testing.TB) []SSEEvent {
	t.Helper()
	var got []SSEEvent
	deadline := time.After(maxWait)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return got
			}
			got = append(got, ev)
		case <-deadline:
			t.Fatalf("event stream still open after %s", maxWait)
			return got
		}
	}
}

// Close closes the client side.
func (s *SSE) Close() { s.cancel() }
