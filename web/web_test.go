package web

import (
	"strings"
	"sync"
	"testing"
)

// TestAPageRendersInTheOtherLayoutOnDemand renders the error page in its
// own frame and, from many goroutines at once, in the staff's: the copy
// made on first use is the page in the other layout, made once.
func TestAPageRendersInTheOtherLayoutOnDemand(t *testing.T) {
	e, err := NewEngine(nil)
	if err != nil {
		t.Fatal(err)
	}
	data := map[string]any{"heading": "Not found", "message": "No such <page>", "requestID": "r-1"}
	var own strings.Builder
	if err := e.Render(&own, "errors/error", data); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(own.String(), `<body class="admin">`) || !strings.Contains(own.String(), "No such &lt;page&gt;") {
		t.Fatalf("own layout:\n%s", own.String())
	}
	var wg sync.WaitGroup
	pages := make([]string, 8)
	for i := range pages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b strings.Builder
			if err := e.Render(&b, "errors/error", data, "layouts/admin"); err != nil {
				t.Error(err)
			}
			pages[i] = b.String()
		}()
	}
	wg.Wait()
	for _, p := range pages {
		if !strings.Contains(p, `<body class="admin">`) || !strings.Contains(p, "No such &lt;page&gt;") || p != pages[0] {
			t.Fatalf("other layout:\n%s", p)
		}
	}
	if err := e.Render(&own, "errors/error", data, "layouts/nope"); err == nil {
		t.Error("an unknown layout rendered")
	}
}
