//go:build wasip1

// Command bench is a reactor (built with -buildmode=c-shared) exporting
// loops over the hot WASI host functions, so the binding's per-call cost and
// allocations can be measured from the host without the guest's own work.
package main

import (
	"encoding/binary"
	"unsafe"
)

//go:wasmimport wasi_snapshot_preview1 fd_read
func fdRead(fd, iovs, iovsLen, nread uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_write
func fdWrite(fd, iovs, iovsLen, nwritten uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_pread
func fdPread(fd, iovs, iovsLen uint32, offset uint64, nread uint32) uint32

//go:wasmimport wasi_snapshot_preview1 fd_pwrite
func fdPwrite(fd, iovs, iovsLen uint32, offset uint64, nwritten uint32) uint32

//go:wasmimport wasi_snapshot_preview1 clock_time_get
func clockTimeGet(id uint32, precision uint64, time uint32) uint32

//go:wasmimport wasi_snapshot_preview1 poll_oneoff
func pollOneoff(in, out, nsubscriptions, nevents uint32) uint32

//go:wasmimport wasi_snapshot_preview1 random_get
func randomGet(buf, bufLen uint32) uint32

var mem [8192]byte

func at(off int) uint32 { return uint32(uintptr(unsafe.Pointer(&mem[off]))) }

func init() {
	le := binary.LittleEndian
	// two iovecs of 17 and 4096 bytes
	le.PutUint32(mem[0:], at(1024))
	le.PutUint32(mem[4:], 17)
	le.PutUint32(mem[8:], at(2048))
	le.PutUint32(mem[12:], 4096)
	// a clock subscription and an fd_read subscription at 128
	le.PutUint64(mem[128:], 1)
	mem[136] = 0
	le.PutUint32(mem[144:], 1)
	le.PutUint64(mem[152:], 1000)
	le.PutUint64(mem[176:], 2)
	mem[184] = 1
	le.PutUint32(mem[192:], 77)
}

// Each bench_* export calls its host function n times and returns the
// number of calls that failed.

//go:wasmexport bench_fd_read
func benchFDRead(n uint32) uint32 {
	return loop(n, func() uint32 { return fdRead(77, at(0), 2, at(64)) })
}

//go:wasmexport bench_fd_write
func benchFDWrite(n uint32) uint32 {
	return loop(n, func() uint32 { return fdWrite(77, at(0), 1, at(64)) })
}

//go:wasmexport bench_fd_pread
func benchFDPread(n uint32) uint32 {
	return loop(n, func() uint32 { return fdPread(77, at(0), 2, 1<<33, at(64)) })
}

//go:wasmexport bench_fd_pwrite
func benchFDPwrite(n uint32) uint32 {
	return loop(n, func() uint32 { return fdPwrite(77, at(0), 2, 1<<33, at(64)) })
}

//go:wasmexport bench_clock_time_get
func benchClockTimeGet(n uint32) uint32 {
	return loop(n, func() uint32 { return clockTimeGet(1, 1, at(64)) })
}

//go:wasmexport bench_poll_oneoff
func benchPollOneoff(n uint32) uint32 {
	return loop(n, func() uint32 { return pollOneoff(at(128), at(512), 2, at(64)) })
}

//go:wasmexport bench_random_get
func benchRandomGet(n uint32) uint32 {
	return loop(n, func() uint32 { return randomGet(at(1024), 32) })
}

func loop(n uint32, call func() uint32) uint32 {
	failed := uint32(0)
	for range n {
		if call() != 0 {
			failed++
		}
	}
	return failed
}

func main() {}
