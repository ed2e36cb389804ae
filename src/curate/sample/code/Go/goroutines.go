// Goroutines and channels: doing work concurrently in Go.
//
// A goroutine is a function running at the same time as others. Channels are
// typed pipes that goroutines use to send values to each other safely.
package main

import (
	"fmt"
	"sync"
)

// square reads numbers from `jobs` and sends their squares to `results`.
// The arrows in the types show direction: jobs is receive-only, results send-only.
func square(id int, jobs <-chan int, results chan<- string, wg *sync.WaitGroup) {
	defer wg.Done() // tell the WaitGroup this worker has finished
	for n := range jobs { // the loop ends when `jobs` is closed
		results <- fmt.Sprintf("worker %d: %d squared is %d", id, n, n*n)
	}
}

func main() {
	jobs := make(chan int)
	results := make(chan string)
	var wg sync.WaitGroup

	// Start three workers. "go" launches each call as a goroutine.
	for id := 1; id <= 3; id++ {
		wg.Add(1)
		go square(id, jobs, results, &wg)
	}

	// Send the work from another goroutine, then close the channel so the
	// workers' range loops can finish.
	go func() {
		for n := 1; n <= 6; n++ {
			jobs <- n
		}
		close(jobs)
	}()

	// Close `results` once every worker is done, so the loop below ends.
	go func() {
		wg.Wait()
		close(results)
	}()

	// Results arrive in whatever order the workers finish.
	for line := range results {
		fmt.Println(line)
	}
}
