//go:build wasip1

// Command abi drives the raw WASI preview 1 imports with chosen pointers
// (good and bad) so the binding tests can check decoding, memory layouts and
// errnos. os.Args[1] names the scenario. Each scenario brackets its raw calls
// with begin and end (fd_write on fd 99, which the test System treats as a
// marker), performs no allocation in between so the Go runtime makes no host
// calls of its own there, and prints its findings after end.
package main

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"unsafe"
)

// mem is the scratch area whose addresses the scenarios pass to the host.
var mem [16384]byte

// at returns the guest address of mem[off].
func at(off int) uint32 { return uint32(uintptr(unsafe.Pointer(&mem[off]))) }

// bad is an address far beyond guest memory; bad+len also wraps 4 GiB.
const bad = 0xFFFFFFF0

var (
	errs  [64]uint32
	nerrs int
)

func e(errno uint32) { errs[nerrs] = errno; nerrs++ }

func begin() { fdWrite(99, at(0), 0, at(len(mem)-4)) }
func end()   { fdWrite(99, at(0), 0, at(len(mem)-4)) }

func fill(off, n int, b byte) {
	for i := off; i < off+n; i++ {
		mem[i] = b
	}
}

func putU32(off int, v uint32) { binary.LittleEndian.PutUint32(mem[off:], v) }
func putU64(off int, v uint64) { binary.LittleEndian.PutUint64(mem[off:], v) }
func u32(off int) uint32       { return binary.LittleEndian.Uint32(mem[off:]) }
func putStr(off int, s string) { copy(mem[off:], s) }
func dump(off, n int) string   { return hex.EncodeToString(mem[off : off+n]) }

// iov stores an iovec {buf, len} at off.
func iov(off int, buf uint32, n uint32) { putU32(off, buf); putU32(off+4, n) }

func printErrnos() { fmt.Println("errnos", errs[:nerrs]) }

func main() {
	scenarios := map[string]func(){
		"args": func() { strings(argsSizesGet, argsGet) }, "environ": func() { strings(environSizesGet, environGet) },
		"clock": clock, "fd_read": read, "fd_write": write, "fd_pread_pwrite": preadPwrite,
		"fd_seek_tell": seekTell, "stat": stat, "fd_misc": misc, "readdir": readdir, "path": path,
		"poll": poll, "random": random, "sock": sock, "exit": exit,
	}
	if len(os.Args) < 2 || scenarios[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: abi <scenario>")
		os.Exit(2)
	}
	scenarios[os.Args[1]]()
}

func strings(sizes func(uint32, uint32) uint32, get func(uint32, uint32) uint32) {
	fill(0, 256, 0xAA)
	begin()
	e(sizes(at(0), at(4)))
	e(get(at(16), at(64)))
	e(get(bad, at(64)))
	e(get(at(16), bad))
	e(sizes(bad, at(4)))
	e(sizes(at(0), bad))
	end()
	printErrnos()
	count, size := u32(0), u32(4)
	fmt.Println("count", count, "size", size)
	fmt.Print("offsets")
	for i := range int(count) {
		fmt.Print(" ", u32(16+4*i)-at(64))
	}
	fmt.Println()
	fmt.Printf("buf %q\n", mem[64:64+size+1])
}

func clock() {
	fill(0, 64, 0xAA)
	begin()
	e(clockResGet(1, at(0)))
	e(clockTimeGet(2, 0x8000000000000001, at(8)))
	e(clockTimeGet(4, 0, at(16)))
	e(clockResGet(0xFFFFFFFF, at(16)))
	e(clockTimeGet(0, 0, bad))
	e(clockResGet(0, 0xFFFFFFFC))
	end()
	printErrnos()
	fmt.Println("mem", dump(0, 24))
}

func read() {
	fill(0, 128, 0xAA)
	fill(64, 16, '.')
	iov(0, at(64), 3)
	iov(8, at(70), 4)
	iov(16, bad, 4)
	begin()
	e(fdRead(77, at(0), 2, at(32)))
	e(fdRead(77, bad, 1, at(32)))
	e(fdRead(77, at(16), 1, at(32)))
	e(fdRead(77, at(0), 2, bad))
	e(fdRead(77, at(0), 0x20000000, at(32)))
	end()
	printErrnos()
	fmt.Printf("nread %d data %q\n", u32(32), mem[64:80])
}

func write() {
	fill(0, 128, 0xAA)
	putStr(64, "hello world")
	iov(0, at(64), 5)
	iov(8, at(69), 1)
	iov(16, at(70), 5)
	iov(24, at(64), 0)
	begin()
	e(fdWrite(77, at(0), 4, at(40)))
	e(fdWrite(77, at(0), 4, bad))
	e(fdWrite(77, bad, 4, at(40)))
	e(fdWrite(7, at(0), 1, at(44)))
	end()
	printErrnos()
	fmt.Println("nwritten", u32(40), "mem", dump(44, 4))
}

func preadPwrite() {
	fill(0, 128, 0xAA)
	iov(0, at(64), 6)
	putStr(80, "data")
	iov(8, at(80), 4)
	begin()
	e(fdPread(77, at(0), 1, 0x123456789ab, at(40)))
	e(fdPwrite(77, at(8), 1, 0xfedcba9876543210, at(44)))
	e(fdPread(77, at(0), 1, 0, bad))
	e(fdPwrite(77, bad, 1, 0, at(44)))
	end()
	printErrnos()
	fmt.Printf("nread %d nwritten %d data %q\n", u32(40), u32(44), mem[64:70])
}

func seekTell() {
	fill(0, 32, 0xAA)
	begin()
	minus5 := int64(-5)
	e(fdSeek(77, uint64(minus5), 2, at(0)))
	e(fdSeek(77, 0, 3, at(16)))
	e(fdSeek(77, 0, 0, bad))
	e(fdTell(77, at(8)))
	e(fdTell(77, bad))
	end()
	printErrnos()
	fmt.Println("mem", dump(0, 24))
}

func stat() {
	fill(0, 256, 0xAA)
	begin()
	e(fdFdstatGet(77, at(0)))
	e(fdFilestatGet(77, at(32)))
	e(fdPrestatGet(77, at(96)))
	e(fdPrestatDirName(77, at(112), 5))
	e(fdPrestatDirName(77, at(120), 3))
	e(fdFdstatGet(77, bad))
	e(fdFilestatGet(77, 0xFFFFFFC0))
	e(fdPrestatGet(77, bad))
	e(fdPrestatDirName(77, bad, 5))
	e(fdFdstatGet(5, at(128)))
	end()
	printErrnos()
	fmt.Println("fdstat", dump(0, 32))
	fmt.Println("filestat", dump(32, 64))
	fmt.Println("prestat", dump(96, 16))
	fmt.Println("name", dump(112, 16))
	fmt.Println("untouched", dump(128, 24))
}

func misc() {
	begin()
	e(fdAdvise(77, 1<<33, 100, 4))
	e(fdAdvise(77, 0, 0, 6))
	e(fdAllocate(77, 1<<40, 1<<41))
	e(fdClose(78))
	e(fdDatasync(77))
	e(fdSync(77))
	e(fdFdstatSetFlags(77, 0x15))
	e(fdFdstatSetRights(77, 0x1FFFFFFF, 0x3))
	e(fdFilestatSetSize(77, 1<<40))
	e(fdFilestatSetTimes(77, 111, 222, 0xF))
	e(fdRenumber(77, 78))
	e(procRaise(9))
	e(procRaise(31))
	e(schedYield())
	end()
	printErrnos()
}

func readdir() {
	fill(0, 8192, 0xAA)
	begin()
	e(fdReaddir(77, at(0), 200, 0, at(8000)))
	e(fdReaddir(77, at(200), 60, 0, at(8004)))
	e(fdReaddir(77, at(300), 200, 2, at(8008)))
	e(fdReaddir(77, at(600), 40, 0, at(8012)))
	e(fdReaddir(77, bad, 10, 0, at(8016)))
	e(fdReaddir(77, at(0), 10, 0, bad))
	e(fdReaddir(78, at(1000), 4096, 0, at(8020)))
	e(fdReaddir(5, at(700), 100, 0, at(8024)))
	e(fdReaddir(77, at(700), 0, 0, at(8028)))
	end()
	printErrnos()
	fmt.Println("bufused", u32(8000), u32(8004), u32(8008), u32(8012), u32(8020), u32(8028))
	fmt.Println("full", dump(0, int(u32(8000))+2))
	fmt.Println("trunc60", dump(200, 62))
	fmt.Println("cookie2", dump(300, 32))
	fmt.Println("trunc40", dump(600, 42))
	fmt.Println("many", dump(1000, int(u32(8020))+2))
}

func path() {
	fill(0, 256, 0xAA)
	for off, s := range map[int]string{512: "dir/file.txt", 540: "x", 544: "y", 548: "old", 552: "new",
		556: "link", 560: "a", 562: "b", 564: "tgt", 568: "lnk", 572: "gone", 576: "mk"} {
		putStr(off, s)
	}
	begin()
	e(pathOpen(77, 1, at(512), 12, 0x9, 0x1234567890, 0x42, 0x11, at(0)))
	e(pathOpen(77, 1, at(512), 12, 0x9, 0, 0, 0, bad))
	e(pathOpen(77, 1, bad, 12, 0, 0, 0, 0, at(0)))
	e(pathCreateDirectory(77, at(576), 2))
	e(pathFilestatGet(77, 1, at(540), 1, at(8)))
	e(pathFilestatGet(77, 0, at(540), 1, bad))
	e(pathFilestatSetTimes(77, 0, at(544), 1, 5, 6, 0xA))
	e(pathLink(77, 1, at(548), 3, 78, at(552), 3))
	e(pathLink(77, 1, at(548), 3, 78, bad, 3))
	e(pathReadlink(77, at(556), 4, at(80), 4, at(96)))
	e(pathReadlink(77, at(556), 4, at(100), 16, at(120)))
	e(pathReadlink(77, at(556), 4, at(100), 16, bad))
	e(pathRemoveDirectory(77, at(576), 2))
	e(pathRename(77, at(560), 1, 78, at(562), 1))
	e(pathSymlink(at(564), 3, 77, at(568), 3))
	e(pathUnlinkFile(77, at(572), 4))
	e(pathUnlinkFile(77, bad, 4))
	e(pathCreateDirectory(77, at(512), 0xFFFFFFFF))
	end()
	printErrnos()
	fmt.Println("opened", u32(0))
	fmt.Println("filestat", dump(8, 64))
	fmt.Printf("readlink %d %q %d %q\n", u32(96), mem[80:84], u32(120), mem[100:116])
}

func poll() {
	fill(0, 512, 0xAA)
	// clock subscription
	putU64(0, 0x1111)
	mem[8] = 0
	putU32(16, 1)
	putU64(24, 5000)
	putU64(32, 10)
	binary.LittleEndian.PutUint16(mem[40:], 1)
	// fd_read subscription
	putU64(48, 0x2222)
	mem[56] = 1
	putU32(64, 77)
	// fd_write subscription
	putU64(96, 0x3333)
	mem[104] = 2
	putU32(112, 78)
	// an unknown event type, then an unknown clock
	copy(mem[400:448], mem[48:96])
	mem[408] = 3
	copy(mem[448:496], mem[0:48])
	putU32(464, 9)
	begin()
	e(pollOneoff(at(0), at(200), 3, at(300)))
	e(pollOneoff(at(0), at(200), 0, at(300)))
	e(pollOneoff(at(400), at(200), 1, at(304)))
	e(pollOneoff(at(448), at(200), 1, at(304)))
	e(pollOneoff(bad, at(200), 1, at(304)))
	e(pollOneoff(at(0), bad, 1, at(304)))
	e(pollOneoff(at(0), at(200), 1, bad))
	e(pollOneoff(at(0), at(200), 0x10000000, at(304)))
	end()
	printErrnos()
	fmt.Println("nevents", u32(300), "untouched", dump(304, 4))
	fmt.Println("events", dump(200, 96))
}

func random() {
	fill(0, 32, 0xAA)
	begin()
	e(randomGet(at(0), 16))
	e(randomGet(bad, 16))
	e(randomGet(at(20), 0))
	e(randomGet(0xFFFFFFFF, 2))
	end()
	printErrnos()
	fmt.Println("mem", dump(0, 20))
}

func sock() {
	fill(0, 128, 0xAA)
	fill(64, 16, '.')
	iov(0, at(64), 3)
	iov(8, at(72), 5)
	putStr(96, "ping")
	iov(16, at(96), 4)
	begin()
	e(sockAccept(77, 4, at(32)))
	e(sockAccept(77, 4, bad))
	e(sockRecv(77, at(0), 2, 3, at(40), at(44)))
	e(sockRecv(77, at(0), 2, 3, at(40), bad))
	e(sockRecv(77, bad, 2, 3, at(40), at(44)))
	e(sockSend(77, at(16), 1, 0, at(48)))
	e(sockSend(77, at(16), 1, 0, bad))
	e(sockShutdown(77, 3))
	end()
	printErrnos()
	fmt.Printf("accepted %d recv %s data %q sent %d\n", u32(32), dump(40, 8), mem[64:80], u32(48))
}

func exit() {
	code, err := strconv.ParseUint(os.Args[2], 10, 32)
	if err != nil {
		panic(err)
	}
	fmt.Println("exiting")
	procExit(uint32(code))
	fmt.Println("after proc_exit")
}
