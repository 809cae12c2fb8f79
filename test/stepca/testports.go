// testports.go: the test CA's hook (test/stepca/build.sh, not upstream) that sends http-01 and tls-alpn-01 validation to non-privileged loopback ports.
package api

// Environment of the step-ca process:
//   STEPCA_HTTP01_PORT    port used instead of 80 for http-01
//   STEPCA_TLSALPN01_PORT port used instead of 443 for tls-alpn-01
// Unset or empty: stock behaviour (80 / 443).

import (
	"net"
	"net/http"
	"net/url"
	"os"
)

func testPortsHTTPGet(get func(string) (*http.Response, error)) func(string) (*http.Response, error) {
	return func(u string) (*http.Response, error) {
		if p := os.Getenv("STEPCA_HTTP01_PORT"); p != "" {
			if pu, err := url.Parse(u); err == nil && pu.Port() == "" {
				pu.Host = net.JoinHostPort(pu.Hostname(), p)
				u = pu.String()
			}
		}
		return get(u)
	}
}

func testPortsTLSAddr(addr string) string {
	if p := os.Getenv("STEPCA_TLSALPN01_PORT"); p != "" {
		if h, port, err := net.SplitHostPort(addr); err == nil && port == "443" {
			return net.JoinHostPort(h, p)
		}
	}
	return addr
}
