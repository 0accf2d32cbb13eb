// Command net_concurrent sends N concurrent GET requests from one guest:
// net_concurrent N URL. Request i goes to URL?i=<i> and must be answered
// with the body "i=<i>"; the guest prints how many requests were answered
// correctly and exits 1 if any was not.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/timelake/timelake/testdata/go/internal/errname"

	_ "github.com/timelake/timelake/sdk/go/wasip1http"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: net_concurrent N URL")
		os.Exit(64)
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil || n < 1 {
		fmt.Fprintln(os.Stderr, "net_concurrent: bad count", os.Args[1])
		os.Exit(64)
	}
	url := os.Args[2]
	// Every request on its own connection, all in flight at once.
	http.DefaultTransport.(*http.Transport).MaxIdleConnsPerHost = n

	failures := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { failures[i] = fetch(url, i) })
	}
	wg.Wait()
	ok := 0
	for i, f := range failures {
		if f == "" {
			ok++
		} else {
			fmt.Printf("request %d: %s\n", i, f)
		}
	}
	fmt.Printf("%d requests, %d ok\n", n, ok)
	if ok != n {
		os.Exit(1)
	}
}

// fetch makes request i and returns what was wrong with it, or "".
func fetch(url string, i int) string {
	res, err := http.Get(url + "?i=" + strconv.Itoa(i))
	if err != nil {
		return errname.Of(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return "body: " + errname.Of(err)
	}
	if want := "i=" + strconv.Itoa(i); res.StatusCode != 200 || string(body) != want {
		return fmt.Sprintf("status %d body %q, want 200 %q", res.StatusCode, body, want)
	}
	return ""
}
