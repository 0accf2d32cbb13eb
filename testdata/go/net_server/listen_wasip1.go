//go:build wasip1

package main

import (
	"errors"
	"net"

	"github.com/timelake/timelake/sdk/go/wasip1net"
)

// listen binds addr, or takes the first listener the host opened.
func listen(addr string) (net.Listener, error) {
	if addr != "" {
		return wasip1net.Listen("tcp", addr)
	}
	ls, err := wasip1net.PreopenedListeners()
	if err != nil {
		return nil, err
	}
	if len(ls) == 0 {
		return nil, errors.New("no listener: run with --listen ADDR or pass -listen ADDR")
	}
	for _, l := range ls[1:] {
		l.Close()
	}
	return ls[0], nil
}
