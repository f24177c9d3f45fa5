package web

import (
	"strconv"
	"strings"
)

// workTime writes seconds of work as Jira does: weeks of 5 days, days of 8
// hours ("1w 2d 4h 30m"); "0m" for none.
func workTime(seconds int64) string {
	units := []struct {
		suffix string
		size   int64
	}{{"w", 5 * 8 * 3600}, {"d", 8 * 3600}, {"h", 3600}, {"m", 60}}
	var parts []string
	for _, u := range units {
		if n := seconds / u.size; n > 0 {
			parts = append(parts, strconv.FormatInt(n, 10)+u.suffix)
			seconds -= n * u.size
		}
	}
	if seconds > 0 {
		parts = append(parts, strconv.FormatInt(seconds, 10)+"s")
	}
	if len(parts) == 0 {
		return "0m"
	}
	return strings.Join(parts, " ")
}
