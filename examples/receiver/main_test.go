package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Deliveries to one receiver come at once (each cluster and action has its
// queue): the handler must take them side by side, duplicates included.
func TestConcurrentDeliveries(t *testing.T) {
	const secret = "whsec_c2VjcmV0LXNlY3JldA=="
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	srv := httptest.NewServer(handler(secret))
	defer srv.Close()
	send := func(id string) (int, error) {
		body := `{"rule":"r","status":"firing","cluster":"c"}`
		ts := strconv.FormatInt(time.Now().Unix(), 10)
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "." + body))
		req, err := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		if err != nil {
			return 0, err
		}
		req.Header.Set("webhook-id", id)
		req.Header.Set("webhook-timestamp", ts)
		req.Header.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 4 {
				id := fmt.Sprintf("msg_%d_%d", i, j%2) // each twice
				if code, err := send(id); err != nil || code != http.StatusOK {
					t.Errorf("%s: %d %v", id, code, err)
				}
			}
		})
	}
	wg.Wait()
}
