// Package netaddr holds the one test of whether a host name is this
// machine, shared by the HTTP listener's auth rule and the database DSN
// parsers.
package netaddr

import (
	"net"
	"strings"
)

// IsLoopback reports whether host (a name or an IP address, without a
// port) only reaches this machine: "localhost" or a loopback address. An
// empty host is not loopback: to a listener it means every interface.
func IsLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
