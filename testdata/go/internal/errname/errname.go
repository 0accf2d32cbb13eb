// Package errname turns errors seen by wasip1 guests into WASI errno names
// (ENOENT, ENOTCAPABLE, ...), so guest reports are short, deterministic and
// comparable across runtimes.
package errname

import (
	"errors"
	"strconv"
	"syscall"
)

// names is indexed by WASI preview 1 errno value (the ABI order, which is
// also syscall.Errno's numbering on GOOS=wasip1).
var names = [...]string{
	"ESUCCESS", "E2BIG", "EACCES", "EADDRINUSE", "EADDRNOTAVAIL", "EAFNOSUPPORT",
	"EAGAIN", "EALREADY", "EBADF", "EBADMSG", "EBUSY", "ECANCELED", "ECHILD",
	"ECONNABORTED", "ECONNREFUSED", "ECONNRESET", "EDEADLK", "EDESTADDRREQ",
	"EDOM", "EDQUOT", "EEXIST", "EFAULT", "EFBIG", "EHOSTUNREACH", "EIDRM",
	"EILSEQ", "EINPROGRESS", "EINTR", "EINVAL", "EIO", "EISCONN", "EISDIR",
	"ELOOP", "EMFILE", "EMLINK", "EMSGSIZE", "EMULTIHOP", "ENAMETOOLONG",
	"ENETDOWN", "ENETRESET", "ENETUNREACH", "ENFILE", "ENOBUFS", "ENODEV",
	"ENOENT", "ENOEXEC", "ENOLCK", "ENOLINK", "ENOMEM", "ENOMSG", "ENOPROTOOPT",
	"ENOSPC", "ENOSYS", "ENOTCONN", "ENOTDIR", "ENOTEMPTY", "ENOTRECOVERABLE",
	"ENOTSOCK", "ENOTSUP", "ENOTTY", "ENXIO", "EOVERFLOW", "EOWNERDEAD", "EPERM",
	"EPIPE", "EPROTO", "EPROTONOSUPPORT", "EPROTOTYPE", "ERANGE", "EROFS",
	"ESPIPE", "ESRCH", "ESTALE", "ETIMEDOUT", "ETXTBSY", "EXDEV", "ENOTCAPABLE",
}

// Errno names a raw WASI errno value.
func Errno(n uint32) string {
	if int(n) < len(names) {
		return names[n]
	}
	return "errno(" + strconv.FormatUint(uint64(n), 10) + ")"
}

// Of names the errno wrapped in err: "ok" for nil, the WASI name when err
// wraps a syscall.Errno, and "error" for anything else (never the message,
// which could carry paths).
func Of(err error) string {
	if err == nil {
		return "ok"
	}
	var e syscall.Errno
	if errors.As(err, &e) {
		return Errno(uint32(e))
	}
	return "error"
}
