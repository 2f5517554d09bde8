// Package browsertest starts headless Chromium for the journey tests. `make
// test` installs Debian's chromium when it is missing; without it these tests
// fail with a message saying so (set AFTERCARE_SKIP_BROWSER=1 to skip them on
// a machine that cannot have a browser).
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// New returns a browser tab context that lives until the test ends. Give
// each step its own deadline with Step, so a failed step can still be shown.
func New(t testing.TB) context.Context {
	t.Helper()
	path := findChromium()
	if path == "" {
		if os.Getenv("AFTERCARE_SKIP_BROWSER") == "1" {
			t.Skip("no Chromium and AFTERCARE_SKIP_BROWSER=1")
		}
		t.Fatal("Chromium is not installed: run `make deps` (apt-get install chromium) or set AFTERCARE_SKIP_BROWSER=1")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(412, 915), // a phone: shoppers come from email on phones
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		cancelCtx()
		cancelAlloc()
	})
	return ctx
}

// Step runs actions with a deadline; when they fail it saves a screenshot
// and logs the page's address and text before failing the test.
func Step(t testing.TB, ctx context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		dctx, dcancel := context.WithTimeout(ctx, 5*time.Second)
		defer dcancel()
		loc, _ := chromedp.Run(dctx, chromedp.Location())
		body, _ := chromedp.Run(dctx, chromedp.Text(chromedp.CSS("body")))
		shot := Screenshot(t, dctx, os.TempDir(), "failed-"+strings.ReplaceAll(t.Name(), "/", "_"))
		t.Fatalf("%s: %v\nat %s (screenshot %s):\n%s", name, err, loc, shot, body)
	}
}

// Screenshot saves a full-page PNG (quality 100 means PNG, not JPEG) in dir and returns its path.
func Screenshot(t testing.TB, ctx context.Context, dir, name string) string {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot: %v", err)
		return ""
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}
