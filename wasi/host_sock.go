package wasi

import (
	"context"

	"github.com/tetratelabs/wazero/api"
)

// sockAccept is sock_accept: accept a new incoming connection.
//
// Parameters: fd (i32) is the listening socket; flags (i32) are the desired
// fdflags of the accepted socket; result.fd (i32) receives the new socket
// (u32).
// Result: errno.
var sockAccept = &function{
	id:     FuncSockAccept,
	params: []param{{"fd", i32}, {"flags", i32}, {"result.fd", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		out, ok := region(b.memory(mod), uint32(stack[2]), 4)
		if !ok {
			return EFAULT
		}
		fd, errno := b.sys.SockAccept(ctx, uint32(stack[0]), FDFlags(stack[1]))
		if errno != ESUCCESS {
			return errno
		}
		le.PutUint32(out, fd)
		return ESUCCESS
	},
}

// sockRecv is sock_recv: receive a message from a socket.
//
// Parameters: fd (i32); ri_data (i32) and ri_data_len (i32) are the list of
// iovecs to which to store data; ri_flags (i32) are the riflags (peek,
// waitall); result.ro_datalen (i32) receives the number of bytes stored
// (u32); result.ro_flags (i32) receives the roflags (u16).
// Result: errno.
var sockRecv = &function{
	id: FuncSockRecv,
	params: []param{{"fd", i32}, {"ri_data", i32}, {"ri_data_len", i32}, {"ri_flags", i32},
		{"result.ro_datalen", i32}, {"result.ro_flags", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		mem := b.memory(mod)
		lenOut, ok := region(mem, uint32(stack[4]), 4)
		if !ok {
			return EFAULT
		}
		flagsOut, ok := region(mem, uint32(stack[5]), 2)
		if !ok {
			return EFAULT
		}
		iovs, ok := readIOVecs(mem, b.iovs, uint32(stack[1]), uint32(stack[2]))
		b.iovs = iovs
		if !ok {
			return EFAULT
		}
		n, roflags, errno := b.sys.SockRecv(ctx, uint32(stack[0]), iovs, RIFlags(stack[3]))
		clear(iovs)
		if errno != ESUCCESS {
			return errno
		}
		le.PutUint32(lenOut, n)
		le.PutUint16(flagsOut, uint16(roflags))
		return ESUCCESS
	},
}

// sockSend is sock_send: send a message on a socket.
//
// Parameters: fd (i32); si_data (i32) and si_data_len (i32) are the list of
// ciovecs to send; si_flags (i32) are the siflags (none defined);
// result.so_datalen (i32) receives the number of bytes sent (u32).
// Result: errno.
var sockSend = &function{
	id:     FuncSockSend,
	params: []param{{"fd", i32}, {"si_data", i32}, {"si_data_len", i32}, {"si_flags", i32}, {"result.so_datalen", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		mem := b.memory(mod)
		out, ok := region(mem, uint32(stack[4]), 4)
		if !ok {
			return EFAULT
		}
		iovs, ok := readIOVecs(mem, b.iovs, uint32(stack[1]), uint32(stack[2]))
		b.iovs = iovs
		if !ok {
			return EFAULT
		}
		n, errno := b.sys.SockSend(ctx, uint32(stack[0]), iovs, SIFlags(stack[3]))
		clear(iovs)
		if errno != ESUCCESS {
			return errno
		}
		le.PutUint32(out, n)
		return ESUCCESS
	},
}

// sockShutdown is sock_shutdown: shut down socket send and receive
// channels.
//
// Parameters: fd (i32); how (i32) are the sdflags selecting which channels
// to shut down (rd, wr).
// Result: errno.
var sockShutdown = &function{
	id:     FuncSockShutdown,
	params: []param{{"fd", i32}, {"how", i32}},
	call: func(b *binding, ctx context.Context, mod api.Module, stack []uint64) Errno {
		return b.sys.SockShutdown(ctx, uint32(stack[0]), SDFlags(stack[1]))
	},
}
