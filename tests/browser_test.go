package tests

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// chromium is Debian's Chromium, which `make deps` installs.
const chromium = "/usr/bin/chromium"

// browser is a headless Chromium with one tab. It records what the page
// writes to the console and every response the page loads.
type browser struct {
	ctx       context.Context
	mu        sync.Mutex
	console   []chromedp.ConsoleMessage
	responses []string // URLs
}

// newBrowser starts Chromium with a fresh profile and nothing that reaches
// out to the network on its own. A missing Chromium fails the test: the
// page is a promise like any other.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	if _, err := os.Stat(chromium); err != nil {
		t.Fatalf("Chromium is needed for the page's tests: run `make deps` (Debian package chromium): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(chromium), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1400, 1000)}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	b := &browser{ctx: ctx}
	b.record()
	return b
}

// record keeps the console's messages and the URLs of the responses.
func (b *browser) record() {
	console := chromedp.Console(b.ctx)
	responses := chromedp.Events(b.ctx, network.ResponseReceived)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.console = append(b.console, m)
			b.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range responses {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.responses = append(b.responses, ev.Response.URL)
			b.mu.Unlock()
		}
	}()
}

func (b *browser) navigate(t *testing.T, url string) {
	t.Helper()
	if err := chromedp.Do(b.ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("opening %s: %v", url, err)
	}
}

// eval runs JavaScript in the page and decodes its value.
func eval[T any](t *testing.T, b *browser, js string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluating %s: %v", js, err)
	}
	return v
}

// waitJS waits until a JavaScript condition holds in the page.
func (b *browser) waitJS(t *testing.T, what, js string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !eval[bool](t, b, "!!("+js+")") {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s (%s)\nconsole: %v", what, js, b.messages(0))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// messages lists the console's messages from the i-th on.
func (b *browser) messages(i int) []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.console[min(i, len(b.console)):]...)
}

// errorsFrom lists the errors and exceptions on the console from the i-th
// message on, but those of a source allowed (e.g. "network" while the
// daemon restarts).
func (b *browser) errorsFrom(i int, allowed string) []string {
	var out []string
	for _, m := range b.messages(i) {
		if (m.Type == chromedp.ConsoleError || m.IsException()) && (allowed == "" || m.Source != allowed) {
			out = append(out, fmt.Sprintf("%s (%s:%d)", m, m.URL, m.Line+1))
		}
	}
	return out
}

// noErrors fails the test on any error or exception on the console.
func (b *browser) noErrors(t *testing.T) {
	t.Helper()
	if errs := b.errorsFrom(0, ""); len(errs) > 0 {
		t.Errorf("the page wrote errors to the console:\n%s", strings.Join(errs, "\n"))
	}
}

func (b *browser) loaded() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.responses...)
}

// screenshot saves the whole page as a PNG.
func (b *browser) screenshot(t *testing.T, path string) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
}
