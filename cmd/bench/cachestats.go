package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// pageCacheCounters reads the page caches' lookups and hits from the
// server's /metrics (aftercare_pagecache_*), to report what share of the
// order page's parts a load was served from memory.
func pageCacheCounters(ctx context.Context, base string) (lookups, hits float64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "aftercare_pagecache_lookups_total":
			lookups, _ = strconv.ParseFloat(value, 64)
		case "aftercare_pagecache_hits_total":
			hits, _ = strconv.ParseFloat(value, 64)
		}
	}
	return lookups, hits, sc.Err()
}

// cacheShare runs load and returns the share (%) of page-cache lookups it
// made that were hits; -1 when the counters could not be read.
func cacheShare(ctx context.Context, base string, load func()) float64 {
	l0, h0, err := pageCacheCounters(ctx, base)
	load()
	l1, h1, err1 := pageCacheCounters(ctx, base)
	if err != nil || err1 != nil || l1 <= l0 {
		return -1
	}
	return 100 * (h1 - h0) / (l1 - l0)
}
