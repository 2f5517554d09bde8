//go:build soak

package main

import (
	"testing"
	"time"
)

// TestFaultSoakKillDuringBatchImport is the kill -9 of issue 9 at full
// size, with live orders until the kill: a delivery job the kill cuts off
// is left "running" and must be rescued after the restart (River's
// RescueStuckJobsAfter, set in internal/jobs), so the wait for the mail is
// longer than that.
func TestFaultSoakKillDuringBatchImport(t *testing.T) {
	faultKillDuringImport(t, killLoad{batchWorkers: 3, batches: 4, csvOrders: 10000, liveOrders: 200, liveUntilKill: true, mailWait: 7 * time.Minute})
}
