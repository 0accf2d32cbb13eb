// Command net_https talks HTTPS through host TLS (hTLS): net_https URL
// sends GET URL and POST URL/echo with a body, over an http.Client of its
// own whose transport dials with wasip1net.DialTLSContext. The guest never
// sees TLS: the host verifies the server and encrypts. It prints each
// status and body; a failure prints "net_https: ERRNO" and exits 1.
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/timelake/timelake/sdk/go/wasip1http"
	"github.com/timelake/timelake/testdata/go/internal/errname"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: net_https URL")
		os.Exit(64)
	}
	url := strings.TrimSuffix(os.Args[1], "/")
	client := &http.Client{Transport: wasip1http.NewTransport()}
	if err := show(client.Get(url + "/")); err != nil {
		fail(err)
	}
	body := strings.NewReader("sealed by the host, clear to the guest")
	if err := show(client.Post(url+"/echo", "text/plain", body)); err != nil {
		fail(err)
	}
}

func show(res *http.Response, err error) error {
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	fmt.Printf("%s %s: %s\n", res.Request.Method, res.Status, body)
	return nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "net_https:", errname.Of(err))
	os.Exit(1)
}
