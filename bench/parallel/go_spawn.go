// Go's peer for parallel_bench: spawn (P goroutines each start M trivial goroutines) and pingpong
// (two goroutines bounce a value over two unbuffered channels). GOMAXPROCS comes from the environment.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// Each of p spawners starts m goroutines in batches of 1,000 that it waits for (as parallel_bench does).
func spawn(p, m int) {
	const batch = 1000
	var all sync.WaitGroup
	all.Add(p)
	start := time.Now()
	for i := 0; i < p; i++ {
		go func() {
			var wg sync.WaitGroup
			for j := 0; j < m; j += batch {
				n := batch
				if m-j < n {
					n = m - j
				}
				wg.Add(n)
				for k := 0; k < n; k++ {
					go wg.Done()
				}
				wg.Wait()
			}
			all.Done()
		}()
	}
	all.Wait()
	ns := float64(time.Since(start).Nanoseconds())
	fmt.Printf("spawn go workers=%d tasks=%d ns_per_task=%.1f\n", runtime.GOMAXPROCS(0), p*m, ns/float64(p*m))
}

func pingpong(n int) {
	ping := make(chan int)
	pong := make(chan int)
	go func() {
		for v := range ping {
			pong <- v
		}
	}()
	start := time.Now()
	for i := 0; i < n; i++ {
		ping <- i
		<-pong
	}
	ns := float64(time.Since(start).Nanoseconds())
	close(ping)
	fmt.Printf("pingpong go workers=%d rounds=%d ns_per_round_trip=%.1f\n", runtime.GOMAXPROCS(0), n, ns/float64(n))
}

func main() {
	switch os.Args[1] {
	case "spawn":
		p, _ := strconv.Atoi(os.Args[2])
		m, _ := strconv.Atoi(os.Args[3])
		spawn(p, m)
	case "pingpong":
		n, _ := strconv.Atoi(os.Args[2])
		pingpong(n)
	}
}
