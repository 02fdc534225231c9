/* The floor for "Hello, World!" over HTTP/1.1 keep-alive: the system calls alone.
 *
 * One thread, edge-triggered epoll. Per readable event it reads what is there, counts the ends of
 * request heads ("\r\n\r\n") and writes that many copies of a prebuilt response. No parsing, no
 * bodies, no limits: what a real server costs beyond this is the price of doing the job properly.
 *
 *   raw_epoll PORT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char response[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1]))};
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  if (bind(lfd, (struct sockaddr*)&sa, sizeof sa) < 0 || listen(lfd, 1024) < 0) {
    perror("listen");
    return 1;
  }
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = lfd};
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  static char out[16 * (sizeof response - 1)];
  size_t rlen = sizeof response - 1;
  for (int i = 0; i < 16; ++i) memcpy(out + i * rlen, response, rlen);
  char buf[16384];
  int carry[65536] = {0}; /* per fd: how many bytes of "\r\n\r\n" matched at the end of the last read */
  struct epoll_event events[256];
  for (;;) {
    int n = epoll_wait(ep, events, 256, -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        int c;
        while ((c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          struct epoll_event cev = {.events = EPOLLIN | EPOLLET, .data.fd = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          if (c < 65536) carry[c] = 0;
        }
        continue;
      }
      for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r <= 0) {
          if (r == 0 || errno != EAGAIN) close(fd);
          break;
        }
        int m = carry[fd], heads = 0;
        for (ssize_t k = 0; k < r; ++k) {
          char want = "\r\n\r\n"[m];
          m = buf[k] == want ? m + 1 : (buf[k] == '\r' ? 1 : 0);
          if (m == 4) {
            ++heads;
            m = 0;
          }
        }
        carry[fd] = m;
        while (heads > 0) {
          int batch = heads > 16 ? 16 : heads;
          if (write(fd, out, (size_t)batch * rlen) < 0) break;
          heads -= batch;
        }
      }
    }
  }
}
