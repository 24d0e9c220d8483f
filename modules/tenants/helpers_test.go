package tenants_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"

	"github.com/atelier-hq/atelier/app/apptest"
	"github.com/atelier-hq/atelier/modules/tenants"
	"github.com/atelier-hq/atelier/tenancy"
)

const tenantsPath = "/api/v1/tenants"

// signUpBody is a valid sign-up for the slug.
func signUpBody(slug string) map[string]any {
	return map[string]any{"name": "Acme", "slug": slug,
		"admin": map[string]any{"email": "ann@" + slug + ".test", "password": apptest.Password, "display_name": "Ann"}}
}

// tenantCount counts the registry's rows, read from the database.
func tenantCount(t *testing.T, env *apptest.Env) int64 {
	t.Helper()
	var n int64
	if err := env.App.DB.Registry(context.Background()).Model(&tenants.Tenant{}).Count(&n).Error; err != nil {
		t.Fatalf("count tenants: %v", err)
	}
	return n
}

// tenantRows counts rows of a tenant table inside the tenant's scope.
func tenantRows(t *testing.T, env *apptest.Env, tenantID uuid.UUID, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	err := env.App.DB.Tx(tenancy.WithTenant(context.Background(), tenantID), func(tx *gorm.DB) error {
		return tx.Table(table).Where(where, args...).Count(&n).Error
	})
	if err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// serve runs the product on a real listener for requests the in-memory transport cannot make
// (apptest's Do fails the test when the server refuses a body as too large).
func serve(t *testing.T, env *apptest.Env) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = env.Server.Fiber.Listener(ln)
	}()
	t.Cleanup(func() {
		_ = env.Server.Fiber.ShutdownWithTimeout(5 * time.Second)
		<-done
	})
	return ln.Addr().String()
}

// rawPost sends a POST over a fresh connection: with Content-Length when chunked is false, else
// as chunked transfer encoding. Write errors are ignored (the server may answer and close before
// the body is sent); the answer is what counts.
func rawPost(t *testing.T, addr, path, token string, body []byte, chunked bool) apptest.Response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))

	var head strings.Builder
	fmt.Fprintf(&head, "POST %s HTTP/1.1\r\nHost: atelier.test\r\nContent-Type: application/json\r\nConnection: close\r\n", path)
	if token != "" {
		fmt.Fprintf(&head, "Authorization: Bearer %s\r\n", token)
	}
	if chunked {
		head.WriteString("Transfer-Encoding: chunked\r\n\r\n")
	} else {
		fmt.Fprintf(&head, "Content-Length: %d\r\n\r\n", len(body))
	}
	go func() {
		w := bufio.NewWriter(conn)
		_, _ = w.WriteString(head.String())
		if !chunked {
			_, _ = w.Write(body)
		} else {
			for rest := body; len(rest) > 0; {
				n := min(len(rest), 64<<10)
				_, _ = fmt.Fprintf(w, "%x\r\n", n)
				_, _ = w.Write(rest[:n])
				_, _ = w.WriteString("\r\n")
				rest = rest[n:]
			}
			_, _ = w.WriteString("0\r\n\r\n")
		}
		_ = w.Flush()
	}()

	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read answer to POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return apptest.Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}
