package ratelimit

import (
	"net/http"
	"testing"
)

func TestClientAddr(t *testing.T) {
	proxies, err := ParseProxies([]string{"10.0.0.0/8", " 192.0.2.1 "})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseProxies([]string{"not-an-address"}); err == nil {
		t.Fatal("garbage accepted")
	}
	for _, c := range []struct {
		peer, xff string
		proxies   bool
		want      string
	}{
		{"203.0.113.7:5000", "198.51.100.1", true, "203.0.113.7"},                  // untrusted peer: header ignored
		{"10.1.2.3:5000", "", true, "10.1.2.3"},                                    // trusted peer, no header
		{"10.1.2.3:5000", "198.51.100.1", true, "198.51.100.1"},                    // one proxy
		{"10.1.2.3:5000", "6.6.6.6, 198.51.100.1, 10.9.9.9", true, "198.51.100.1"}, // forged left part
		{"10.1.2.3:5000", "garbage, 198.51.100.1", true, "198.51.100.1"},
		{"10.1.2.3:5000", "198.51.100.1, garbage", true, "10.1.2.3"},
		{"192.0.2.1:5000", "198.51.100.1", true, "198.51.100.1"},
		{"10.1.2.3:5000", "198.51.100.1", false, "10.1.2.3"}, // no proxies configured
		{"[::ffff:10.1.2.3]:5000", "198.51.100.1", true, "198.51.100.1"},
	} {
		r, _ := http.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		var ps = proxies
		if !c.proxies {
			ps = nil
		}
		if got := ClientAddr(r, ps); got != c.want {
			t.Errorf("peer %s XFF %q: %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
}
