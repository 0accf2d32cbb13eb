// Command manyfiles creates and keeps open up to N files (default 64) under
// DIR: manyfiles DIR [N]. It stops at the first error and prints how many
// files it held open and the errno name, e.g. "opened 4 files, then EMFILE".
package main

import (
	"fmt"
	"os"
	"path"
	"strconv"

	"github.com/timelake/timelake/testdata/go/internal/errname"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: manyfiles DIR [N]")
		os.Exit(64)
	}
	n := 64
	if len(os.Args) > 2 {
		v, err := strconv.Atoi(os.Args[2])
		if err != nil || v < 0 {
			fmt.Fprintln(os.Stderr, "usage: manyfiles DIR [N]")
			os.Exit(64)
		}
		n = v
	}
	var open []*os.File
	for i := 0; i < n; i++ {
		f, err := os.Create(path.Join(os.Args[1], fmt.Sprintf("file%03d", i)))
		if err != nil {
			fmt.Printf("opened %d files, then %s\n", len(open), errname.Of(err))
			closeAll(open)
			return
		}
		open = append(open, f)
	}
	fmt.Printf("opened %d files\n", len(open))
	closeAll(open)
}

func closeAll(files []*os.File) {
	for _, f := range files {
		if err := f.Close(); err != nil {
			fmt.Println("close:", errname.Of(err))
			os.Exit(1)
		}
	}
}
