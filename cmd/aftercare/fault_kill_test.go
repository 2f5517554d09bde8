package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aftercare/aftercare/internal/auth"
	"github.com/aftercare/aftercare/internal/commerce"
	"github.com/aftercare/aftercare/internal/db"
	"github.com/aftercare/aftercare/internal/mail/mailtest"
	"github.com/aftercare/aftercare/internal/pglocal/pgtest"
)

// TestFaultKillDuringBatchImport kills the server and an importer with
// SIGKILL while batches and a CSV import are under way; the soak variant
// moves more data.
func TestFaultKillDuringBatchImport(t *testing.T) {
	faultKillDuringImport(t, killLoad{batchWorkers: 1, batches: 3, csvOrders: 20000, liveOrders: 20, mailWait: 7 * time.Minute})
}

// killLoad sizes faultKillDuringImport.
type killLoad struct {
	batchWorkers, batches, csvOrders int
	// liveOrders are posted one by one before the kill. When liveUntilKill
	// is false they end a few seconds before it, so that no delivery job
	// is running at the kill; when true they go on until it, and a job the
	// kill interrupts must be rescued after the restart.
	liveOrders    int
	liveUntilKill bool
	// mailWait covers a delivery job the kill cut off while running: River
	// rescues it after RescueStuckJobsAfter (5 min, internal/jobs) plus its
	// rescuer's 30 s interval.
	mailWait time.Duration
}

// faultKillDuringImport proves that a kill -9 loses nothing committed and
// leaves nothing half-written: every order of a batch whose response came
// back is stored whole, no order lacks lines nor any line its order, every
// committed live order's confirmation (pending at the kill, the mail server
// refusing) goes out once after the restart and none goes to a back-filled
// order, and a second run of the import finds what the first committed
// unchanged and adds the rest.
func faultKillDuringImport(t *testing.T, load killLoad) {
	bin := buildBinary(t)
	dbURL := pgtest.URL(t)
	direct, err := db.Open(context.Background(), dbURL, db.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { direct.Close() })
	key, err := auth.NewAPIKeys(direct).Create(context.Background(), "kill test")
	if err != nil {
		t.Fatal(err)
	}
	smtp := mailtest.NewServer(t)
	// Confirmations stay pending until after the restart: the jobs the
	// killed server left behind are the ones that must run.
	smtp.FailNext(1 << 30)
	env := []string{"AFTERCARE_DATABASE_URL=" + dbURL, "AFTERCARE_SIGNING_KEYS=" + testKeys, "AFTERCARE_SMTP_URL=" + smtp.URL(),
		"AFTERCARE_MAIL_FROM=Store <care@example.test>", "AFTERCARE_LOG_LEVEL=warn", "PATH=" + os.Getenv("PATH")}
	srv := startServe(t, bin, env, "first")

	csvPath := filepath.Join(t.TempDir(), "orders.csv")
	writeOrdersCSV(t, csvPath, load.csvOrders)

	client := &http.Client{Timeout: 60 * time.Second}
	var (
		mu         sync.Mutex
		ackedBatch = map[string]bool{}
		completed  int
		wg         sync.WaitGroup
		stop       = make(chan struct{})
	)
	for w := 0; w < load.batchWorkers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for b := 0; b < load.batches; b++ {
				var orders []any
				for i := 0; i < 500; i++ {
					orders = append(orders, faultOrder(fmt.Sprintf("batch-%d-%d-%d", w, b, i), time.Now().Add(-30*24*time.Hour)))
				}
				// A batch that runs out of time answers 503 with what it
				// committed kept; the client sends it again, as told.
				status, _, raw, err := rawPost(client, srv.base, key, "/api/v1/orders/batch", map[string]any{"orders": orders})
				for try := 0; err == nil && status == 503 && try < 5; try++ {
					status, _, raw, err = rawPost(client, srv.base, key, "/api/v1/orders/batch", map[string]any{"orders": orders})
				}
				if err != nil || status != 200 {
					t.Logf("batch %d-%d: no answer (%d %v): %.200s", w, b, status, err, raw)
					return // the kill: this batch has no answer
				}
				var res struct {
					Results []commerce.BatchResult `json:"results"`
				}
				if err := json.Unmarshal(raw, &res); err != nil {
					t.Errorf("batch answer: %v", err)
					return
				}
				mu.Lock()
				for _, r := range res.Results {
					if r.Outcome != commerce.BatchFailed {
						ackedBatch[r.ExternalID] = true
					}
				}
				completed++
				mu.Unlock()
			}
		}(w)
	}
	// The order of events: a batch comes back; the importer starts and
	// writes some of its file; live orders come in, each with its
	// confirmation (refused for now); then the kill, with the next batch
	// and the import half done.
	waitUntil := func(what string, cond func() bool) {
		deadline := time.Now().Add(5 * time.Minute)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitUntil("a batch answer", func() bool { mu.Lock(); defer mu.Unlock(); return completed >= 1 })
	importer := startProcess(t, bin, env, "import", []string{"import", "orders", csvPath})
	waitUntil("the importer's first orders", func() bool {
		var imported int
		direct.Get(&imported, `SELECT count(*) FROM orders WHERE external_id LIKE 'csv-%'`) //nolint:errcheck // polled
		return imported > 0
	})
	liveDone := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(liveDone)
		for n := 0; n < load.liveOrders || load.liveUntilKill; n++ {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			rawPost(client, srv.base, key, "/api/v1/orders", faultOrder(fmt.Sprintf("live-%d", n), time.Now().Add(-time.Hour))) //nolint:errcheck // the database says what was committed
		}
	}()
	if load.liveUntilKill {
		time.Sleep(5 * time.Second)
	} else {
		<-liveDone
		// Every first delivery attempt (refused) is over; the retries wait
		// for their backoff, so no job is running at the kill.
		time.Sleep(3 * time.Second)
	}
	srv.kill(t)
	importer.kill(t)
	close(stop)
	wg.Wait()

	var before struct {
		CSV   int `db:"csv"`
		Live  int `db:"live"`
		Batch int `db:"batch"`
	}
	if err := direct.Get(&before, `SELECT count(*) FILTER (WHERE external_id LIKE 'csv-%') AS csv,
		count(*) FILTER (WHERE external_id LIKE 'live-%') AS live, count(*) FILTER (WHERE external_id LIKE 'batch-%') AS batch FROM orders`); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed with %d batches answered (%d orders acknowledged), %d batch orders, %d CSV orders of %d and %d live orders committed",
		completed, len(ackedBatch), before.Batch, before.CSV, load.csvOrders, before.Live)
	if before.CSV == load.csvOrders {
		t.Error("the importer had finished before the kill: make the file larger")
	}

	stored := checkWholeOrders(t, direct)
	for id := range ackedBatch {
		if !stored[id] {
			t.Errorf("order %s was acknowledged in a batch answer but is lost", id)
		}
	}

	smtp.FailNext(0)
	restarted := startServe(t, bin, env, "restarted")
	want := map[string]bool{}
	for id := range stored {
		if regexp.MustCompile(`^live-`).MatchString(id) {
			want[id+"@example.com"] = true
		}
	}
	began := time.Now()
	deliveredOnce(t, smtp, want, load.mailWait)
	t.Logf("the %d confirmations left by the killed server were delivered within %s of the restart", len(want), time.Since(began).Round(time.Millisecond))
	_ = restarted

	// The importer again: what it committed is unchanged, the rest is new.
	again := startProcess(t, bin, env, "import-again", []string{"import", "orders", csvPath})
	out, err := again.wait(5 * time.Minute)
	if err != nil {
		t.Fatalf("second import: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(\d+) orders in \d+ rows: (\d+) imported, (\d+) unchanged, (\d+) failed`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no summary in the second import's output:\n%s", out)
	}
	total, _ := strconv.Atoi(m[1])
	imported, _ := strconv.Atoi(m[2])
	unchanged, _ := strconv.Atoi(m[3])
	failed, _ := strconv.Atoi(m[4])
	t.Logf("second import: %s", m[0])
	if total != load.csvOrders || unchanged != before.CSV || imported != load.csvOrders-before.CSV || failed != 0 {
		t.Errorf("second import: %d orders, %d imported, %d unchanged, %d failed; want %d, %d, %d, 0",
			total, imported, unchanged, failed, load.csvOrders, load.csvOrders-before.CSV, before.CSV)
	}
	checkWholeOrders(t, direct)
}
