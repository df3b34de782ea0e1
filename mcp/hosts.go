package mcp

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// hostSet is the set of hosts probe_server may reach. Empty means loopback
// only: localhost, 127.0.0.0/8 and ::1.
type hostSet struct {
	names []string // lower-case host names or IP literals, no port
}

func newHostSet(hosts []string) hostSet {
	var hs hostSet
	for _, h := range hosts {
		h = strings.ToLower(strings.TrimSpace(h))
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if h != "" {
			hs.names = append(hs.names, h)
		}
	}
	return hs
}

// describe names the allowed hosts for error messages.
func (hs hostSet) describe() string {
	if len(hs.names) == 0 {
		return "loopback only (localhost, 127.0.0.1, ::1)"
	}
	return strings.Join(hs.names, ", ")
}

// allowed reports whether host (a name or IP literal, no port) may be
// reached.
func (hs hostSet) allowed(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if len(hs.names) == 0 {
		if host == "localhost" {
			return true
		}
		ip := net.ParseIP(host)
		return ip != nil && ip.IsLoopback()
	}
	for _, n := range hs.names {
		if n == host {
			return true
		}
		if a, b := net.ParseIP(n), net.ParseIP(host); a != nil && b != nil && a.Equal(b) {
			return true
		}
	}
	return false
}

// checkURL parses raw as an http(s) URL whose host is allowed.
func (hs hostSet) checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("url %q is not an http:// or https:// URL of a server, such as http://127.0.0.1:30000", raw)
	}
	if !hs.allowed(u.Hostname()) {
		return nil, fmt.Errorf("url %q names host %q, which this server may not reach (allowed: %s); use an allowed host or restart the server with --allow-host %s", raw, u.Hostname(), hs.describe(), u.Hostname())
	}
	return u, nil
}
