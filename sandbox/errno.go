package sandbox

import (
	"context"
	"errors"

	"golang.org/x/sys/unix"

	"github.com/timelake/timelake/wasi"
)

// errnoTable maps a Linux errno (the index) to its WASI errno. Entries left
// zero have no WASI counterpart and become EIO.
var errnoTable [256]wasi.Errno

func init() {
	for _, p := range [...]struct {
		host unix.Errno
		wasi wasi.Errno
	}{
		{unix.E2BIG, wasi.E2BIG}, {unix.EACCES, wasi.EACCES}, {unix.EADDRINUSE, wasi.EADDRINUSE},
		{unix.EADDRNOTAVAIL, wasi.EADDRNOTAVAIL}, {unix.EAFNOSUPPORT, wasi.EAFNOSUPPORT},
		{unix.EAGAIN, wasi.EAGAIN}, {unix.EALREADY, wasi.EALREADY}, {unix.EBADF, wasi.EBADF},
		{unix.EBADMSG, wasi.EBADMSG}, {unix.EBUSY, wasi.EBUSY}, {unix.ECANCELED, wasi.ECANCELED},
		{unix.ECHILD, wasi.ECHILD}, {unix.ECONNABORTED, wasi.ECONNABORTED},
		{unix.ECONNREFUSED, wasi.ECONNREFUSED}, {unix.ECONNRESET, wasi.ECONNRESET},
		{unix.EDEADLK, wasi.EDEADLK}, {unix.EDESTADDRREQ, wasi.EDESTADDRREQ}, {unix.EDOM, wasi.EDOM},
		{unix.EDQUOT, wasi.EDQUOT}, {unix.EEXIST, wasi.EEXIST}, {unix.EFAULT, wasi.EFAULT},
		{unix.EFBIG, wasi.EFBIG}, {unix.EHOSTUNREACH, wasi.EHOSTUNREACH}, {unix.EIDRM, wasi.EIDRM},
		{unix.EILSEQ, wasi.EILSEQ}, {unix.EINPROGRESS, wasi.EINPROGRESS}, {unix.EINTR, wasi.EINTR},
		{unix.EINVAL, wasi.EINVAL}, {unix.EIO, wasi.EIO}, {unix.EISCONN, wasi.EISCONN},
		{unix.EISDIR, wasi.EISDIR}, {unix.ELOOP, wasi.ELOOP}, {unix.EMFILE, wasi.EMFILE},
		{unix.EMLINK, wasi.EMLINK}, {unix.EMSGSIZE, wasi.EMSGSIZE}, {unix.EMULTIHOP, wasi.EMULTIHOP},
		{unix.ENAMETOOLONG, wasi.ENAMETOOLONG}, {unix.ENETDOWN, wasi.ENETDOWN},
		{unix.ENETRESET, wasi.ENETRESET}, {unix.ENETUNREACH, wasi.ENETUNREACH},
		{unix.ENFILE, wasi.ENFILE}, {unix.ENOBUFS, wasi.ENOBUFS}, {unix.ENODEV, wasi.ENODEV},
		{unix.ENOENT, wasi.ENOENT}, {unix.ENOEXEC, wasi.ENOEXEC}, {unix.ENOLCK, wasi.ENOLCK},
		{unix.ENOLINK, wasi.ENOLINK}, {unix.ENOMEM, wasi.ENOMEM}, {unix.ENOMSG, wasi.ENOMSG},
		{unix.ENOPROTOOPT, wasi.ENOPROTOOPT}, {unix.ENOSPC, wasi.ENOSPC}, {unix.ENOSYS, wasi.ENOSYS},
		{unix.ENOTCONN, wasi.ENOTCONN}, {unix.ENOTDIR, wasi.ENOTDIR}, {unix.ENOTEMPTY, wasi.ENOTEMPTY},
		{unix.ENOTRECOVERABLE, wasi.ENOTRECOVERABLE}, {unix.ENOTSOCK, wasi.ENOTSOCK},
		{unix.ENOTSUP, wasi.ENOTSUP}, {unix.ENOTTY, wasi.ENOTTY}, {unix.ENXIO, wasi.ENXIO},
		{unix.EOVERFLOW, wasi.EOVERFLOW}, {unix.EOWNERDEAD, wasi.EOWNERDEAD}, {unix.EPERM, wasi.EPERM},
		{unix.EPIPE, wasi.EPIPE}, {unix.EPROTO, wasi.EPROTO}, {unix.EPROTONOSUPPORT, wasi.EPROTONOSUPPORT},
		{unix.EPROTOTYPE, wasi.EPROTOTYPE}, {unix.ERANGE, wasi.ERANGE}, {unix.EROFS, wasi.EROFS},
		{unix.ESPIPE, wasi.ESPIPE}, {unix.ESRCH, wasi.ESRCH}, {unix.ESTALE, wasi.ESTALE},
		{unix.ETIMEDOUT, wasi.ETIMEDOUT}, {unix.ETXTBSY, wasi.ETXTBSY}, {unix.EXDEV, wasi.EXDEV},
		// Linux aliases and near relatives.
		{unix.ENOTBLK, wasi.ENOTSUP}, {unix.ECOMM, wasi.EIO}, {unix.ENODATA, wasi.ENOENT},
		{unix.ETIME, wasi.ETIMEDOUT}, {unix.EHOSTDOWN, wasi.EHOSTUNREACH},
		{unix.ESOCKTNOSUPPORT, wasi.EPROTONOSUPPORT}, {unix.EPFNOSUPPORT, wasi.EAFNOSUPPORT},
		{unix.ESHUTDOWN, wasi.EPIPE}, {unix.EUSERS, wasi.EDQUOT}, {unix.ETOOMANYREFS, wasi.ENOBUFS},
	} {
		errnoTable[p.host] = p.wasi
	}
}

// fromErrno maps a raw Linux errno; it allocates nothing and is the form the
// hot paths use. Zero maps to ESUCCESS.
func fromErrno(e unix.Errno) wasi.Errno {
	if e == 0 {
		return wasi.ESUCCESS
	}
	if uint(e) < uint(len(errnoTable)) && errnoTable[e] != 0 {
		return errnoTable[e]
	}
	return wasi.EIO
}

// Errno maps a Go error to the WASI errno a guest should see: syscall errnos
// (also inside *os.PathError and friends) by meaning, a wasi.Errno as itself,
// a cancelled context as ECANCELED, anything else as EIO. A nil error is
// ESUCCESS.
func Errno(err error) wasi.Errno {
	if err == nil {
		return wasi.ESUCCESS
	}
	var we wasi.Errno
	if errors.As(err, &we) {
		return we
	}
	var ue unix.Errno
	if errors.As(err, &ue) {
		return fromErrno(ue)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return wasi.ECANCELED
	}
	return wasi.EIO
}

// resolveErrno maps an error of openat2 path resolution. EXDEV there means
// RESOLVE_BENEATH refused a path that leaves the directory (an absolute
// path, "..", or a symlink pointing out); the guest sees ENOTCAPABLE, the
// WASI errno for "the capabilities you hold do not reach this", which is
// also what wasi-libc answers for paths outside every preopen, what Go's
// syscall package treats as a permission error, and what walk answers for
// the same paths when it resolves them itself.
func resolveErrno(err error) wasi.Errno {
	if err == unix.EXDEV {
		return wasi.ENOTCAPABLE
	}
	return Errno(err)
}
