// microprofile starts its own web server on 0.0.0.0 at the first flip. The
// benchmark must not listen beyond loopback, so this binary's bind() (which
// the library resolves to, the executable exporting its symbols) pins every
// IPv4 address to 127.0.0.1.
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

extern "C" int bind(int fd, const struct sockaddr* addr, socklen_t len) noexcept {
  if (addr != nullptr && addr->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    sockaddr_in a;
    std::memcpy(&a, addr, sizeof a);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return static_cast<int>(syscall(SYS_bind, fd, &a, sizeof a));
  }
  return static_cast<int>(syscall(SYS_bind, fd, addr, len));
}
