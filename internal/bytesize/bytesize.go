// Package bytesize renders byte counts for people, in binary units, the way
// every timelake command prints sizes.
package bytesize

import "fmt"

// Format renders n as "512 B", "1.5 KiB", "3.2 GiB".
func Format(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
