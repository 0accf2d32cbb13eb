package wasi

import (
	"encoding/binary"
	"reflect"

	"github.com/tetratelabs/wazero/api"
)

// Guest memory access for the binding. Every helper bounds-checks with
// 64-bit arithmetic (a pointer near 4 GiB plus a length never wraps) and
// reports failure with false, which the host functions turn into EFAULT: a
// bad guest pointer never panics the host.
//
// Slices returned by region alias guest memory. Writing results through them
// costs no allocation (api.Memory.Write with a stack buffer would escape).

var le = binary.LittleEndian

// region returns the n bytes of guest memory at ptr.
func region(mem api.Memory, ptr, n uint32) ([]byte, bool) {
	if mem == nil {
		return nil, false
	}
	return mem.Read(ptr, n)
}

// array returns the count elements of size bytes each at ptr.
func array(mem api.Memory, ptr, count, size uint32) ([]byte, bool) {
	total := uint64(count) * uint64(size)
	if total > 1<<32-1 {
		return nil, false
	}
	return region(mem, ptr, uint32(total))
}

// readString copies a guest string (paths: allocation is acceptable there).
func readString(mem api.Memory, ptr, n uint32) (string, bool) {
	b, ok := region(mem, ptr, n)
	if !ok {
		return "", false
	}
	return string(b), true
}

// MaxIOBytes caps the bytes one read or write call moves. Reads and writes
// may legally transfer less than asked, and guests loop; the cap keeps every
// recorded call well below the segment format's frame limit.
const MaxIOBytes = 16 << 20

// readIOVecs decodes iovsLen iovecs (buf u32, buf_len u32) at ptr into dst,
// reusing its capacity. Each element aliases guest memory. Every iovec is
// bounds-checked; the slices returned are trimmed to MaxIOBytes in total.
func readIOVecs(mem api.Memory, dst [][]byte, ptr, iovsLen uint32) ([][]byte, bool) {
	raw, ok := array(mem, ptr, iovsLen, IOVecSize)
	if !ok {
		return dst[:0], false
	}
	dst = dst[:0]
	total := 0
	for off := 0; off < len(raw); off += IOVecSize {
		buf, ok := region(mem, le.Uint32(raw[off:]), le.Uint32(raw[off+4:]))
		if !ok {
			clear(dst)
			return dst[:0], false
		}
		if total+len(buf) > MaxIOBytes {
			buf = buf[:MaxIOBytes-total]
		}
		total += len(buf)
		if total == MaxIOBytes && len(buf) == 0 {
			continue // past the cap: the guest sees a short transfer
		}
		dst = append(dst, buf)
	}
	return dst, true
}

// putFileStat encodes a filestat (64 bytes):
//
//	dev u64 @0, ino u64 @8, filetype u8 @16, nlink u64 @24,
//	size u64 @32, atim u64 @40, mtim u64 @48, ctim u64 @56.
func putFileStat(dst []byte, st *FileStat) {
	dst = dst[:FileStatSize]
	clear(dst)
	le.PutUint64(dst[0:], st.Dev)
	le.PutUint64(dst[8:], st.Ino)
	dst[16] = byte(st.Filetype)
	le.PutUint64(dst[24:], st.NLink)
	le.PutUint64(dst[32:], st.Size)
	le.PutUint64(dst[40:], st.ATim)
	le.PutUint64(dst[48:], st.MTim)
	le.PutUint64(dst[56:], st.CTim)
}

// putFDStat encodes an fdstat (24 bytes):
//
//	fs_filetype u8 @0, fs_flags u16 @2, fs_rights_base u64 @8,
//	fs_rights_inheriting u64 @16.
func putFDStat(dst []byte, st *FDStat) {
	dst = dst[:FDStatSize]
	clear(dst)
	dst[0] = byte(st.Filetype)
	le.PutUint16(dst[2:], uint16(st.Flags))
	le.PutUint64(dst[8:], uint64(st.RightsBase))
	le.PutUint64(dst[16:], uint64(st.RightsInheriting))
}

// putPrestat encodes a prestat (8 bytes): tag u8 @0, pr_name_len u32 @4.
func putPrestat(dst []byte, ps *Prestat) {
	dst = dst[:PrestatSize]
	clear(dst)
	dst[0] = byte(ps.Type)
	le.PutUint32(dst[4:], ps.NameLen)
}

// getSubscription decodes a subscription (48 bytes):
//
//	userdata u64 @0, tag u8 @8, then the union at @16:
//	clock: id u32 @16, timeout u64 @24, precision u64 @32, flags u16 @40;
//	fd_read, fd_write: file_descriptor u32 @16.
//
// An unknown tag or clock id is EINVAL.
func getSubscription(src []byte, s *Subscription) Errno {
	src = src[:SubscriptionSize]
	*s = Subscription{UserData: le.Uint64(src[0:]), EventType: EventType(src[8])}
	switch s.EventType {
	case EventTypeClock:
		id := le.Uint32(src[16:])
		if id > uint32(ClockThreadCPUTimeID) {
			return EINVAL
		}
		s.ClockID = ClockID(id)
		s.Timeout = le.Uint64(src[24:])
		s.Precision = le.Uint64(src[32:])
		s.Flags = SubclockFlags(le.Uint16(src[40:]))
	case EventTypeFDRead, EventTypeFDWrite:
		s.FD = le.Uint32(src[16:])
	default:
		return EINVAL
	}
	return ESUCCESS
}

// putEvent encodes an event (32 bytes):
//
//	userdata u64 @0, error u16 @8, type u8 @10,
//	fd_readwrite: nbytes u64 @16, flags u16 @24.
func putEvent(dst []byte, e *Event) {
	dst = dst[:EventSize]
	clear(dst)
	le.PutUint64(dst[0:], e.UserData)
	le.PutUint16(dst[8:], uint16(e.Errno))
	dst[10] = byte(e.EventType)
	if e.EventType != EventTypeClock {
		le.PutUint64(dst[16:], e.NBytes)
		le.PutUint16(dst[24:], uint16(e.Flags))
	}
}

// putDirent writes the 24-byte dirent header followed by the name into dst,
// truncated to len(dst), and returns the number of bytes written:
//
//	d_next u64 @0, d_ino u64 @8, d_namlen u32 @16, d_type u8 @20.
func putDirent(dst []byte, d *DirEntry) int {
	var hdr [DirentHeaderSize]byte
	le.PutUint64(hdr[0:], d.Next)
	le.PutUint64(hdr[8:], d.Ino)
	le.PutUint32(hdr[16:], uint32(len(d.Name)))
	hdr[20] = byte(d.Type)
	n := copy(dst, hdr[:])
	n += copy(dst[n:], d.Name)
	return n
}

// memory returns the memory of the calling module, or nil if it has none.
// wazero hands out a typed nil in that case, which only reflection can
// see; the answer is cached per module so the hot path stays a pointer
// comparison.
func (b *binding) memory(mod api.Module) api.Memory {
	if mod != b.mod {
		b.mod = mod
		b.mem = mod.Memory()
		if b.mem != nil && reflect.ValueOf(b.mem).IsNil() {
			b.mem = nil
		}
	}
	return b.mem
}
