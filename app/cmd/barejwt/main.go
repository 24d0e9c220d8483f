// Command barejwt is the yardstick of scripts/bench-http.sh: a bare Fiber v2 handler that
// verifies an HS256 access token (the service's own, signed with JWT_SECRET) and answers a small
// JSON body. The service's routes are measured as a ratio of what this serves on the same machine
// in the same run.
package main

import (
	"errors"
	"log/slog"
	"os"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
)

type claims struct {
	jwt.RegisteredClaims
	TenantID  string `json:"tid"`
	SessionID string `json:"sid"`
}

type answer struct {
	UserID   string `json:"user_id"`
	TenantID string `json:"tenant_id"`
	OK       bool   `json:"ok"`
}

func main() {
	key := []byte(os.Getenv("JWT_SECRET"))
	addr := os.Getenv("HTTP_ADDR")
	if len(key) == 0 || addr == "" {
		slog.Error("barejwt: JWT_SECRET and HTTP_ADDR are required")
		os.Exit(2)
	}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer("atelier"), jwt.WithExpirationRequired())
	keyFunc := func(*jwt.Token) (any, error) { return key, nil }

	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/*", func(c *fiber.Ctx) error {
		scheme, raw, ok := strings.Cut(c.Get(fiber.HeaderAuthorization), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return fiber.ErrUnauthorized
		}
		var cl claims
		if _, err := parser.ParseWithClaims(raw, &cl, keyFunc); err != nil {
			return fiber.ErrUnauthorized
		}
		return c.JSON(answer{UserID: cl.Subject, TenantID: cl.TenantID, OK: true})
	})
	if err := app.Listen(addr); err != nil && !errors.Is(err, os.ErrClosed) {
		slog.Error("barejwt: listen", slog.String("error", err.Error()))
		os.Exit(1)
	}
}
