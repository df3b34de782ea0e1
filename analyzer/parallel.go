package analyzer

import (
	"context"
	"runtime"
	"sync"
)

// minRangeKernels is the fewest kernels a goroutine is given: below it the
// per-goroutine caches cost more than the work they share out.
const minRangeKernels = 4096

// cancelCheckEvery is how many kernels a range worker handles between
// looks at its context.
const cancelCheckEvery = 8192

// split says how a trace's kernels are shared out among goroutines. The
// zero value is the default; tests cut small traces into many ranges to
// check that results do not depend on the cut.
type split struct {
	// workers is the most ranges (0: GOMAXPROCS).
	workers int
	// minKernels is the fewest kernels of a range (0: minRangeKernels).
	minKernels int
}

// ranges cuts [0, n) into at most s.workers contiguous ranges of at least
// s.minKernels each (one range when n is small). Results computed per
// range and merged in range order do not depend on the cut.
func (s split) ranges(n int) [][2]int {
	workers, minKernels := s.workers, s.minKernels
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if minKernels <= 0 {
		minKernels = minRangeKernels
	}
	parts := min(workers, n/minKernels)
	if parts < 1 {
		parts = 1
	}
	out := make([][2]int, parts)
	for r := range out {
		out[r] = [2]int{r * n / parts, (r + 1) * n / parts}
	}
	return out
}

// forRanges runs fn for each range, each on its own goroutine (the last
// on the caller's), and waits for all of them. fn should return early with
// ctx.Err() when ctx is cancelled (see cancelled); forRanges returns the
// first range's error in range order.
func forRanges(ctx context.Context, ranges [][2]int, fn func(r, lo, hi int) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	errs := make([]error, len(ranges))
	var wg sync.WaitGroup
	for r := 0; r < len(ranges)-1; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[r] = fn(r, ranges[r][0], ranges[r][1])
		}()
	}
	if last := len(ranges) - 1; last >= 0 {
		errs[last] = fn(last, ranges[last][0], ranges[last][1])
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// cancelled reports ctx's error every cancelCheckEvery kernels (i counts
// from the start of a range), nil otherwise.
func cancelled(ctx context.Context, i int) error {
	if i%cancelCheckEvery == cancelCheckEvery-1 {
		return ctx.Err()
	}
	return nil
}
