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

func spawn(p, m int) {
	var wg sync.WaitGroup
	wg.Add(p * m)
	start := time.Now()
	for i := 0; i < p; i++ {
		go func() {
			for j := 0; j < m; j++ {
				go wg.Done()
			}
		}()
	}
	wg.Wait()
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
