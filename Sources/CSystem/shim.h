// System headers and declarations that Swift's Glibc / Darwin modules do not export. Everything here is Linux-only:
// on macOS the module is empty and the platform layer uses kqueue-free portable calls (poll, pipe) instead.
#if __linux__
#include <malloc.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

// Declared by <sys/socket.h> only under _GNU_SOURCE.
extern int accept4(int sockfd, struct sockaddr *addr, socklen_t *addrlen, int flags);
#endif
