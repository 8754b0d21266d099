/*
 * liburing 2.3 (Debian 12) -> 2.4+ helpers used by mediasoup-worker.
 * Found before the system header through the stand-in's include dir; pulls the
 * real one in with #include_next and adds what 2.3 lacks.
 */
#ifndef EDGEMEET_LIBURING_SHIM_H
#define EDGEMEET_LIBURING_SHIM_H

#include_next <liburing.h>

/* liburing 2.4 introduced IO_URING_VERSION_* and the helpers below. */
#ifndef IO_URING_VERSION_MAJOR
#define EDGEMEET_LIBURING_SYSTEM_MAJOR 2
#define EDGEMEET_LIBURING_SYSTEM_MINOR 3

static inline int io_uring_major_version(void)
{
	return EDGEMEET_LIBURING_SYSTEM_MAJOR;
}

static inline int io_uring_minor_version(void)
{
	return EDGEMEET_LIBURING_SYSTEM_MINOR;
}

/* As in liburing 2.4+: IORING_OP_SEND with a destination address (kernel >= 6.0). */
static inline void io_uring_prep_sendto(struct io_uring_sqe *sqe, int sockfd, const void *buf,
                                        size_t len, int flags, const struct sockaddr *addr,
                                        socklen_t addrlen)
{
	io_uring_prep_send(sqe, sockfd, buf, len, flags);
	io_uring_prep_send_set_addr(sqe, addr, (__u16) addrlen);
}
#endif

#endif
