package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// POST and DELETE /v1/expect: token-protected like POST /v1/events, the
// body checked before the daemon sees it, its errors answered by kind.
func TestExpectEndpoints(t *testing.T) {
	var calls []string
	s := &Server{
		Expect: func(_ context.Context, cluster string, d time.Duration, reason string) (any, error) {
			calls = append(calls, fmt.Sprintf("expect %s %s %q", cluster, d, reason))
			switch cluster {
			case "nope":
				return nil, fmt.Errorf("%w: %q", ErrNoSuchCluster, cluster)
			case "busy":
				return nil, fmt.Errorf("%w: no leader", ErrBusy)
			}
			return map[string]string{"cluster": cluster}, nil
		},
		Unexpect: func(_ context.Context, cluster string) (any, error) {
			calls = append(calls, "end "+cluster)
			return map[string]string{"cluster": cluster}, nil
		},
	}
	s.SetLimits(Limits{Token: "s3cret"})
	long := strings.Repeat("x", MaxExpectReason+1)
	for _, c := range []struct {
		method, target, auth, body string
		want                       int
		says                       string
	}{
		{"POST", "/v1/expect", "", `{"cluster":"ziti","for":"30m"}`, 401, "bearer token"},
		{"DELETE", "/v1/expect?cluster=ziti", "Bearer wrong", "", 401, "bearer token"},
		{"POST", "/v1/expect", "Bearer s3cret", `{"cluster":"ziti","for":"30m","reason":"rolling upgrade"}`, 200, "ziti"},
		{"POST", "/v1/expect", "Bearer s3cret", `{"cluster":"ziti","for":"30m","reasons":"typo"}`, 400, `unknown field "reasons"`},
		{"POST", "/v1/expect", "Bearer s3cret", `{"for":"30m"}`, 400, `"cluster" is required`},
		{"POST", "/v1/expect", "Bearer s3cret", `{"cluster":"ziti"}`, 400, `"for" is required`},
		{"POST", "/v1/expect", "Bearer s3cret", `{"cluster":"ziti","for":"30"}`, 400, `is not a duration`},
		{"POST", "/v1/expect", "Bearer s3cret", `{"cluster":"ziti","for":30}`, 400, `"for": got number, want string`},
		{"POST", "/v1/expect", "Bearer s3cret", `["ziti"]`, 400, `got array, want object`},
		{"POST", "/v1/expect", "Bearer s3cret", `{"cluster":"ziti","for":"30m"} {"cluster":"other","for":"1m"}`, 400, `more after the JSON object`},
		{"POST", "/v1/expect", "Bearer s3cret", `{"cluster":"ziti","for":"30m"} garbage`, 400, `more after the JSON object`},
		{"POST", "/v1/expect", "Bearer s3cret", "{\"cluster\":\"ziti\",\"for\":\"30m\"}\n", 200, "ziti"},
		{"POST", "/v1/expect", "Bearer s3cret", `{"cluster":"ziti","for":"-1m"}`, 400, `is not in (0, 168h0m0s]`},
		{"POST", "/v1/expect", "Bearer s3cret", `{"cluster":"ziti","for":"169h"}`, 400, `is not in (0, 168h0m0s]`},
		{"POST", "/v1/expect", "Bearer s3cret", `{"cluster":"ziti","for":"1h","reason":"` + long + `"}`, 400, "over the limit of 256"},
		{"POST", "/v1/expect", "Bearer s3cret", `{"cluster":"nope","for":"1h"}`, 404, "no such cluster"},
		{"POST", "/v1/expect", "Bearer s3cret", `{"cluster":"busy","for":"1h"}`, 503, "no leader"},
		{"DELETE", "/v1/expect", "Bearer s3cret", "", 400, "DELETE /v1/expect?cluster=NAME"},
		{"DELETE", "/v1/expect?cluster=ziti", "Bearer s3cret", "", 200, "ziti"},
	} {
		r := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
		r.RemoteAddr = "192.0.2.1:5000"
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		var answer map[string]string
		json.Unmarshal(w.Body.Bytes(), &answer)
		if w.Code != c.want || !strings.Contains(answer["error"]+answer["cluster"], c.says) {
			t.Errorf("%s %s %s: %d %s, want %d saying %s", c.method, c.target, c.body, w.Code, w.Body, c.want, c.says)
		}
	}
	want := []string{`expect ziti 30m0s "rolling upgrade"`, `expect ziti 30m0s ""`, `expect nope 1h0m0s ""`, `expect busy 1h0m0s ""`, "end ziti"}
	if fmt.Sprint(calls) != fmt.Sprint(want) {
		t.Errorf("the daemon was asked %q, want %q", calls, want)
	}
}
