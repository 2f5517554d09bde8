//go:build soak

package main

import (
	"testing"
	"time"
)

// TestFaultSoakSMTPDownForAMinute is the full-length mail outage of issue 9,
// with a retry base of a second: a minute of doubling retries uses 7 of the
// 12 attempts and the next one comes a few seconds after the server returns.
func TestFaultSoakSMTPDownForAMinute(t *testing.T) { faultSMTPDown(t, time.Minute, time.Second) }
