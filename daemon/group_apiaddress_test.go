package daemon

import "testing"

// The others call a node's API at the host its certificate names: the one
// written in server.listen, not the address it resolved to.
func TestAPIAddress(t *testing.T) {
	tests := []struct {
		name, listen, bound, advertise, want string
	}{
		{"ip", "10.0.0.1:9464", "10.0.0.1:9464", "10.0.0.9:7401", "10.0.0.1:9464"},
		{"host name as written", "lh1.example.com:9464", "10.0.0.1:9464", "10.0.0.9:7401", "lh1.example.com:9464"},
		{"every interface: advertise host", "0.0.0.0:9464", "[::]:9464", "lh1.example.com:7401", "lh1.example.com:9464"},
		{"no host: advertise host", ":9464", "[::]:9464", "10.0.0.9:7401", "10.0.0.9:9464"},
		{"port 0: the bound port", "127.0.0.1:0", "127.0.0.1:41234", "127.0.0.1:7401", "127.0.0.1:41234"},
		{"ipv6", "[::1]:9464", "[::1]:9464", "[::1]:7401", "[::1]:9464"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apiAddress(tt.listen, tt.bound, tt.advertise); got != tt.want {
				t.Errorf("apiAddress(%q, %q, %q) = %q, want %q", tt.listen, tt.bound, tt.advertise, got, tt.want)
			}
		})
	}
}
