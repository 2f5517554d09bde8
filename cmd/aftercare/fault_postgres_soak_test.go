//go:build soak

package main

import (
	"testing"
	"time"
)

// TestFaultSoakPostgresDownTenSeconds is the full-length outage of issue 9:
// the database gone for 10 s during ingestion.
func TestFaultSoakPostgresDownTenSeconds(t *testing.T) { faultPostgresDown(t, 10*time.Second) }
