package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/chromedp/chromedp"
)

// browser is a headless Chromium (Debian's) with one tab.
type browser struct {
	ctx    context.Context
	cancel func()
}

func newBrowser(profile string) (*browser, error) {
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath("/usr/bin/chromium"), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profile), chromedp.WindowSize(1400, 1000)}
	if _, err := os.Stat("/usr/bin/chromium"); err != nil {
		return nil, fmt.Errorf("Chromium is needed: make deps (Debian package chromium): %w", err)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		return nil, fmt.Errorf("starting Chromium: %w", err)
	}
	return &browser{ctx: ctx, cancel: func() { cancel(); cancelAlloc() }}, nil
}

func (b *browser) navigate(url string) error {
	return chromedp.Do(b.ctx, chromedp.Navigate(url))
}

// eval runs JavaScript in the page and decodes its value.
func eval[T any](b *browser, js string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](js))
}

// waitFor waits until a JavaScript condition holds, and says how long it
// took.
func (b *browser) waitFor(what, js string, limit time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		ok, err := eval[bool](b, "!!("+js+")")
		if err != nil {
			return 0, fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return time.Since(start), nil
		}
		if time.Since(start) > limit {
			return 0, fmt.Errorf("%s: not within %s", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// heapMB is the page's JavaScript heap in use.
func (b *browser) heapMB() float64 {
	v, _ := eval[float64](b, `(() => { if (window.gc) gc(); return performance.memory.usedJSHeapSize / 1e6; })()`)
	return v
}
