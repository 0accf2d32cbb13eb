package main

import "crypto/rand"

// cryptoRand gives the baseline the same random source as timelake's sandbox.
type cryptoRand struct{}

func (cryptoRand) Read(p []byte) (int, error) { return rand.Read(p) }
