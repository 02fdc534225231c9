// The Go peer for bench/client/run.sh: net/http's client making N GETs at once.
//
// The issue: "10,000 concurrent GETs to /delay/1, one connection each, all started at once, against
// one delay server (weft serve) on the same machine: weft's client, Go's net/http client and Node's
// http client in the same run. Reach: at most 1.5 s, and at most half of Go's time."
//
// This starts N goroutines in one go, each doing one GET to URL over its own connection (keep-alive
// off, no limit on connections per host), reading the whole body; a response counts as ok when its
// status is 200. It prints one line, elapsed_s=<float> ok=<n> failed=<n>, the time from before the
// first request starts to when the last one ends. The first error is printed on stderr.
//
// usage: go_many URL N
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: go_many URL N")
		os.Exit(2)
	}
	url := os.Args[1]
	n, err := strconv.Atoi(os.Args[2])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "go_many: N must be a positive integer")
		os.Exit(2)
	}

	// One descriptor per connection: take as many as the hard limit allows (Go 1.19+ does this by
	// itself when it imports os; doing it here keeps older toolchains equal).
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}

	// DisableKeepAlives: every request dials its own connection and closes it afterwards.
	// MaxConnsPerHost 0: no cap, so all N dial at once.
	transport := &http.Transport{
		Proxy:             nil,
		DisableKeepAlives: true,
		MaxConnsPerHost:   0,
	}
	client := &http.Client{Transport: transport, Timeout: 60 * time.Second}

	var ok, failed int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	wg.Add(n)
	start := time.Now()
	for i := 0; i < n; i++ {
		go func() {
			defer wg.Done()
			resp, err := client.Get(url)
			if err == nil {
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err == nil && resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			if err != nil {
				firstErr.CompareAndSwap(nil, err.Error())
				atomic.AddInt64(&failed, 1)
				return
			}
			atomic.AddInt64(&ok, 1)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	if e := firstErr.Load(); e != nil {
		fmt.Fprintf(os.Stderr, "go_many: first error: %s\n", e)
	}
	fmt.Printf("elapsed_s=%.4f ok=%d failed=%d\n", elapsed.Seconds(), ok, failed)
}
