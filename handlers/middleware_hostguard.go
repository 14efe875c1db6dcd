package handlers

import (
	"net"
	"net/http"
	"net/netip"
	"os"
	"strings"
)

// HostGuard defends a server bound to loopback against DNS rebinding, as Ollama does: a page on
// evil.example whose name later resolves to 127.0.0.1 still sends "Host: evil.example", which is refused
// with 403. Loopback, private and unspecified addresses, this machine's own addresses and host name,
// "localhost" and names under .localhost, .local and .internal pass. A server listening on another
// address is reachable by name by design, so the guard is off there.
func HostGuard(listen net.Addr) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if listen == nil {
			return next
		}
		if ap, err := netip.ParseAddrPort(listen.String()); err == nil && !ap.Addr().IsLoopback() {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host, _, err := net.SplitHostPort(r.Host)
			if err != nil {
				host = r.Host
			}
			host = strings.Trim(host, "[]")
			if a, err := netip.ParseAddr(host); err == nil {
				if a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || isLocalAddr(a) {
					next.ServeHTTP(w, r)
					return
				}
			}
			if allowedHostName(host) {
				if r.Method == http.MethodOptions {
					w.WriteHeader(http.StatusNoContent)
					return
				}
				next.ServeHTTP(w, r)
				return
			}
			w.WriteHeader(http.StatusForbidden)
		})
	}
}

func allowedHostName(host string) bool {
	host = strings.ToLower(host)
	if host == "" || host == "localhost" {
		return true
	}
	if name, err := os.Hostname(); err == nil && host == strings.ToLower(name) {
		return true
	}
	for _, tld := range []string{".localhost", ".local", ".internal"} {
		if strings.HasSuffix(host, tld) {
			return true
		}
	}
	return false
}

// isLocalAddr reports whether a is assigned to one of this machine's interfaces.
func isLocalAddr(a netip.Addr) bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, ia := range addrs {
		if p, err := netip.ParsePrefix(ia.String()); err == nil && p.Addr() == a.Unmap() {
			return true
		}
	}
	return false
}
