package main

import (
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
)

// defaultMemoryLimit is serve's soft limit on the Go runtime's memory. The
// collector otherwise lets garbage build up to twice the live heap: a first
// index of a million commits held 100 MiB of heap, most of it garbage, and
// the process passed 256 MiB (265 MiB with a 128 MiB limit; 209 MiB with
// this one, for the same CPU time). Under the limit the collector runs more
// often instead; serve's live heap is 10–55 MiB, indexing included. Were it
// to pass the limit, the runtime bounds the collector to half the CPU.
const defaultMemoryLimit = "64MiB"

// memoryLimitDefault is --memory-limit's default: FORGEBRIDGE_MEMORY_LIMIT,
// else off when GOMEMLIMIT is set (the runtime already applies it), else
// defaultMemoryLimit.
func memoryLimitDefault(getenv func(string) string) string {
	if v := getenv("FORGEBRIDGE_MEMORY_LIMIT"); v != "" {
		return v
	}
	if getenv("GOMEMLIMIT") != "" {
		return "off"
	}
	return defaultMemoryLimit
}

// parseMemoryLimit reads a size in GOMEMLIMIT's syntax: a whole number of
// bytes with an optional unit B, KiB, MiB, GiB or TiB, or "off" (-1: no
// limit set here).
func parseMemoryLimit(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if s == "off" {
		return -1, nil
	}
	num, mult := s, int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("--memory-limit must be a size such as 128MiB or 1GiB, or off, not %q", s)
	}
	if n*mult < 32<<20 {
		// Below the heap a server needs, the collector would run all the time.
		return 0, fmt.Errorf("--memory-limit %s is below 32MiB", s)
	}
	return n * mult, nil
}

// setMemoryLimit applies a limit parsed by parseMemoryLimit.
func setMemoryLimit(limit int64) {
	if limit > 0 {
		debug.SetMemoryLimit(limit)
	}
}
