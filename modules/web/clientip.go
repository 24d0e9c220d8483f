package web

import (
	"net/netip"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// localClientIP is where ClientIPMiddleware leaves the caller's address.
const localClientIP = "client_ip"

// ClientIPMiddleware works out the caller's address once per request. X-Forwarded-For is only
// believed when the direct peer is a trusted proxy, and then read from the right: the first hop
// that is not itself a trusted proxy is the client. The leftmost entries are whatever the client
// chose to send, so trusting them would let anyone pick a fresh address for every login attempt.
func ClientIPMiddleware(trusted []string) fiber.Handler {
	var prefixes []netip.Prefix
	for _, t := range trusted {
		t = strings.TrimSpace(t)
		if p, err := netip.ParsePrefix(t); err == nil {
			prefixes = append(prefixes, p)
		} else if a, err := netip.ParseAddr(t); err == nil {
			prefixes = append(prefixes, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	isTrusted := func(a netip.Addr) bool {
		for _, p := range prefixes {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return func(c *fiber.Ctx) error {
		ip := c.Context().RemoteIP().String()
		if peer, err := netip.ParseAddr(ip); err == nil && isTrusted(peer) {
			hops := strings.Split(c.Get(fiber.HeaderXForwardedFor), ",")
			for i := len(hops) - 1; i >= 0; i-- {
				a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
				if err != nil {
					break
				}
				ip = a.Unmap().String()
				if !isTrusted(a) {
					break
				}
			}
		}
		c.Locals(localClientIP, ip)
		return c.Next()
	}
}

// ClientIP is the caller's address as ClientIPMiddleware worked it out.
func ClientIP(c *fiber.Ctx) string {
	if ip, ok := c.Locals(localClientIP).(string); ok {
		return ip
	}
	return c.Context().RemoteIP().String()
}
