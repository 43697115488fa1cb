// Command receiver is an example webhook receiver that verifies
// leaderhook's Standard Webhooks signatures. Run it with the action's
// secret:
//
//	LEADERHOOK_SECRET=whsec_... go run ./examples/receiver -listen 127.0.0.1:8080
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// verify checks the webhook-signature header: v1,<base64 HMAC-SHA256 of
// "id.timestamp.body">, keyed with the base64 after "whsec_" (or the raw
// secret), with the timestamp no more than five minutes off.
func verify(secret string, h http.Header, body []byte, now time.Time) error {
	key := []byte(secret)
	if rest, ok := strings.CutPrefix(secret, "whsec_"); ok {
		k, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return fmt.Errorf("secret: %w", err)
		}
		key = k
	}
	id, ts := h.Get("webhook-id"), h.Get("webhook-timestamp")
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("bad webhook-timestamp %q", ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("webhook-timestamp is %s off: replayed?", d.Round(time.Second))
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	// The header may hold several space-separated signatures (key rotation).
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("no valid signature")
}

func main() {
	listen := flag.String("listen", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	secret := os.Getenv("LEADERHOOK_SECRET")
	if secret == "" {
		log.Fatal("set LEADERHOOK_SECRET to the action's secret")
	}
	http.Handle("/", handler(secret))
	log.Fatal(http.ListenAndServe(*listen, nil))
}

// handler verifies and prints each delivery once.
func handler(secret string) http.HandlerFunc {
	// webhook-id: a retry of a delivery already handled. Requests are
	// served side by side, so the set has a lock.
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := verify(secret, r.Header, body, time.Now()); err != nil {
			log.Printf("rejected %s: %v", r.Header.Get("webhook-id"), err)
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		// The payload, or with format: cloudevents the envelope that holds
		// it in "data".
		var p struct {
			Rule, Status, Cluster string
			SpecVersion           string          `json:"specversion"`
			Data                  json.RawMessage `json:"data"`
		}
		err = json.Unmarshal(body, &p)
		if err == nil && p.SpecVersion != "" {
			err = json.Unmarshal(p.Data, &p)
		}
		if err == nil && p.Rule == "" {
			err = errors.New("no rule")
		}
		if err != nil {
			// Signed, so from leaderhook, yet unreadable: a 4xx, which
			// leaderhook does not retry.
			http.Error(w, fmt.Sprintf("not a leaderhook payload: %v", err), http.StatusBadRequest)
			return
		}
		id := r.Header.Get("webhook-id")
		mu.Lock()
		dup := seen[id]
		seen[id] = true
		mu.Unlock()
		if dup {
			fmt.Fprintln(w, "duplicate")
			return
		}
		fmt.Printf("verified %s: %s %s on %s\n", id, p.Rule, p.Status, p.Cluster)
	}
}
