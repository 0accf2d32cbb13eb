// Command query runs SQL over the lake's tables. It is not built yet: it
// prints its usage and exits 2.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "usage: query [--lake URL] (sql|runs|describe|logs|export|views) ...\n\nquery is not available in this version of timelake.")
	os.Exit(2)
}
