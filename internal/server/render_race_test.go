package server_test

import (
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aftercare/aftercare/internal/server"
)

// TestFirstPagesRenderedTogetherDoNotRace renders the first pages of a new
// app from several goroutines at once. Fiber initializes its app list on
// the first Render without a lock; under -race this test fails unless
// server.New has done that first render already.
func TestFirstPagesRenderedTogetherDoNotRace(t *testing.T) {
	app := newApp(t, server.Options{})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := app.Test(httptest.NewRequest("GET", "/page/missing", nil), -1)
			if err != nil {
				t.Error(err)
				return
			}
			if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Errorf("status %d, %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		}()
	}
	wg.Wait()
}
