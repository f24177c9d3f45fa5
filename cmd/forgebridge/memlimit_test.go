package main

import "testing"

func TestParseMemoryLimit(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64 // 0: refused
	}{
		{"128MiB", 128 << 20},
		{"1GiB", 1 << 30},
		{"65536KiB", 64 << 20},
		{"33554432", 32 << 20},
		{"33554432B", 32 << 20},
		{" 256MiB ", 256 << 20},
		{"off", -1},
		{"1MiB", 0},  // too small to run in
		{"128MB", 0}, // GOMEMLIMIT's units are binary
		{"128 MiB", 0},
		{"-1", 0},
		{"0", 0},
		{"", 0},
		{"MiB", 0},
		{"1.5GiB", 0},
		{"99999999999TiB", 0}, // overflows
	} {
		got, err := parseMemoryLimit(tc.in)
		if tc.want == 0 {
			if err == nil {
				t.Errorf("parseMemoryLimit(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseMemoryLimit(%q) = %d, %v, want %d", tc.in, got, err, tc.want)
		}
	}
}

func TestMemoryLimitDefault(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{nil, defaultMemoryLimit},
		{map[string]string{"FORGEBRIDGE_MEMORY_LIMIT": "256MiB"}, "256MiB"},
		{map[string]string{"GOMEMLIMIT": "64MiB"}, "off"},
		{map[string]string{"GOMEMLIMIT": "64MiB", "FORGEBRIDGE_MEMORY_LIMIT": "200MiB"}, "200MiB"},
	} {
		if got := memoryLimitDefault(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("memoryLimitDefault(%v) = %q, want %q", tc.env, got, tc.want)
		}
	}
}
