package downloads

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestLink_verifiesOnlyGenuineUnexpiredLinks(t *testing.T) {
	key := DeriveLinkKey([]byte("server secret of at least thirty-two bytes"))
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	c := linkClaims{TenantID: uuid.New(), DownloadID: uuid.New(), UserID: uuid.New(), ExpiresAt: now.Add(15 * time.Minute)}
	token := signLink(key, c)
	got, err := verifyLink(key, token, now)
	if err != nil || got != c {
		t.Fatalf("verify a fresh link: %+v, %v; want %+v", got, err, c)
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	for _, bad := range []struct {
		name  string
		token string
		key   []byte
		now   time.Time
	}{
		{"expired at its expiry", token, key, c.ExpiresAt},
		{"expired later", token, key, c.ExpiresAt.Add(time.Hour)},
		{"another key (the JWT secret itself)", token, []byte("server secret of at least thirty-two bytes"), now},
		{"payload changed (another download)", flip(token, 30), key, now},
		{"signature changed", flip(token, len(token)-3), key, now},
		{"truncated", token[:len(token)-1], key, now},
		{"empty", "", key, now},
		{"not base64", strings.Repeat("!", len(token)), key, now},
	} {
		t.Run(bad.name, func(t *testing.T) {
			if _, err := verifyLink(bad.key, bad.token, bad.now); err == nil {
				t.Error("accepted")
			}
		})
	}
	if DeriveLinkKey([]byte("a")) == nil || string(DeriveLinkKey([]byte("a"))) == string(DeriveLinkKey([]byte("b"))) {
		t.Error("link keys do not depend on the secret")
	}
}

func TestParseRange(t *testing.T) {
	for _, c := range []struct {
		header          string
		start, length   int64
		ok, satisfiable bool
	}{
		{"bytes=0-9", 0, 10, true, true},
		{"bytes=10-", 10, 90, true, true},
		{"bytes=-10", 90, 10, true, true},
		{"bytes=-1000", 0, 100, true, true},
		{"bytes=90-1000", 90, 10, true, true},
		{"bytes=100-", 0, 0, false, false},
		{"bytes=-0", 0, 0, false, false},
		{"bytes=5-1", 0, 0, false, true},
		{"bytes=0-1,5-6", 0, 0, false, true},
		{"items=0-1", 0, 0, false, true},
		{"bytes=a-b", 0, 0, false, true},
	} {
		s, l, ok, sat := parseRange(c.header, 100)
		if s != c.start || l != c.length || ok != c.ok || sat != c.satisfiable {
			t.Errorf("parseRange(%q) = %d %d %v %v, want %d %d %v %v", c.header, s, l, ok, sat, c.start, c.length, c.ok, c.satisfiable)
		}
	}
}

func TestLocalStorage_onlyCommittedArchivesAreVisible(t *testing.T) {
	root := t.TempDir()
	st, err := NewLocalStorage(root)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	tenant, id, other := uuid.New(), uuid.New(), uuid.New()
	tmp, err := st.Create(ctx, tenant, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.Write([]byte("half")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Open(ctx, tenant, tmp.Name()); err != ErrNoFile {
		t.Fatalf("open while writing: %v, want ErrNoFile", err)
	}
	objs, err := st.List(ctx, tenant)
	if err != nil || len(objs) != 1 || !objs[0].Temp || objs[0].ID != id {
		t.Fatalf("list while writing: %+v %v", objs, err)
	}
	if _, err := st.Open(ctx, tenant, objs[0].Name); err != ErrNoFile {
		t.Fatalf("a temporary object opened by its name: %v", err)
	}
	// A second build of the same download writes under a name of its own.
	again, err := st.Create(ctx, tenant, id)
	if err != nil || again.Name() == tmp.Name() {
		t.Fatalf("second build named %q like the first (%v)", again.Name(), err)
	}
	if err := again.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Commit(); err != nil {
		t.Fatal(err)
	}
	f, err := st.Open(ctx, tenant, tmp.Name())
	if err != nil || f.Size != 4 {
		t.Fatalf("open committed: %+v %v", f, err)
	}
	f.Close()
	// An aborted write leaves nothing.
	tmp2, _ := st.Create(ctx, tenant, other)
	_, _ = tmp2.Write([]byte("gone"))
	if err := tmp2.Abort(); err != nil {
		t.Fatal(err)
	}
	objs, _ = st.List(ctx, tenant)
	if len(objs) != 1 || objs[0].Temp || objs[0].ID != id || objs[0].Name != tmp.Name() {
		t.Fatalf("after commit and aborts: %+v", objs)
	}
	// Foreign files are neither listed nor reachable by a made-up name.
	_ = os.WriteFile(filepath.Join(root, tenant.String(), "notes.txt"), []byte("x"), 0o600)
	if objs, _ = st.List(ctx, tenant); len(objs) != 1 {
		t.Errorf("foreign file listed: %+v", objs)
	}
	for _, bad := range []string{"../" + tmp.Name(), "notes.txt", id.String() + ".zip", ""} {
		if err := st.Delete(ctx, tenant, bad); err == nil {
			t.Errorf("Delete(%q) accepted", bad)
		}
		if _, err := st.Open(ctx, tenant, bad); err != ErrNoFile {
			t.Errorf("Open(%q): %v", bad, err)
		}
	}
	if err := st.Delete(ctx, tenant, tmp.Name()); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, tenant, tmp.Name()); err != nil {
		t.Errorf("second delete: %v", err)
	}
}

// deadlineConn records the write deadlines set on it.
type deadlineConn struct {
	net.Conn
	deadlines []time.Time
}

func (c *deadlineConn) SetWriteDeadline(t time.Time) error {
	c.deadlines = append(c.deadlines, t)
	return nil
}

func TestSectionCloser_rollsTheWriteDeadlineWhileStreaming(t *testing.T) {
	conn := &deadlineConn{}
	r := &sectionCloser{Reader: strings.NewReader(strings.Repeat("x", 100)), c: io.NopCloser(nil), conn: conn}
	start := time.Now()
	buf := make([]byte, 10)
	for {
		if _, err := r.Read(buf); err != nil {
			break
		}
	}
	// Throttled to once a second: the reads above all fall within the first one.
	if len(conn.deadlines) != 1 || conn.deadlines[0].Before(start.Add(writeIdle)) {
		t.Fatalf("deadlines %v", conn.deadlines)
	}
	r.next = time.Time{} // a second later
	_, _ = r.Read(buf)
	if len(conn.deadlines) != 2 {
		t.Errorf("the deadline did not move on: %v", conn.deadlines)
	}
}
