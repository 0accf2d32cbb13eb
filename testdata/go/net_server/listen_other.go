//go:build !wasip1

package main

import (
	"errors"
	"net"
)

// listen binds addr: natively there is no host to open a listener.
func listen(addr string) (net.Listener, error) {
	if addr == "" {
		return nil, errors.New("-listen ADDR is required outside wasip1")
	}
	return net.Listen("tcp", addr)
}
