package trace

import (
	"syscall"
	"time"
)

// cpuTimeIn is the CPU time (user+system) of the process so far.
func cpuTimeIn() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
