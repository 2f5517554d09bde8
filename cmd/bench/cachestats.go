package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// cacheCounters are the server's memory counters from /metrics: the page
// caches' (aftercare_pagecache_*: the order page's parts) and the session
// memo's (aftercare_session_memo_*: the session reads answered without the
// database while the change feed allows).
type cacheCounters struct {
	pageLookups, pageHits, memoLookups, memoHits float64
}

func readCacheCounters(ctx context.Context, base string) (cacheCounters, error) {
	var c cacheCounters
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return c, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return c, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		v, _ := strconv.ParseFloat(value, 64)
		switch name {
		case "aftercare_pagecache_lookups_total":
			c.pageLookups = v
		case "aftercare_pagecache_hits_total":
			c.pageHits = v
		case "aftercare_session_memo_lookups_total":
			c.memoLookups = v
		case "aftercare_session_memo_hits_total":
			c.memoHits = v
		}
	}
	return c, sc.Err()
}

// cacheShares runs load and returns the shares (%) of the page caches'
// lookups and of the session memo's it made that were hits; -1 for one
// whose counters could not be read or did not move.
func cacheShares(ctx context.Context, base string, load func()) (pages, memo float64) {
	c0, err := readCacheCounters(ctx, base)
	load()
	c1, err1 := readCacheCounters(ctx, base)
	pages, memo = -1, -1
	if err != nil || err1 != nil {
		return pages, memo
	}
	if c1.pageLookups > c0.pageLookups {
		pages = 100 * (c1.pageHits - c0.pageHits) / (c1.pageLookups - c0.pageLookups)
	}
	if c1.memoLookups > c0.memoLookups {
		memo = 100 * (c1.memoHits - c0.memoHits) / (c1.memoLookups - c0.memoLookups)
	}
	return pages, memo
}
