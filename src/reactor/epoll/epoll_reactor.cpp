// The epoll backend: one epoll instance per loop, an eventfd for wake-ups.
// Sockets will be registered once, edge-triggered (EPOLLET), when the networking layer lands.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

#include "reactor/reactor.hpp"

namespace weft::detail {
namespace {

[[noreturn]] void throw_errno(const char* what) { throw std::system_error(errno, std::system_category(), what); }

class epoll_reactor final : public reactor {
 public:
  epoll_reactor() {
    epfd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0) throw_errno("epoll_create1");
    wakefd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wakefd_ < 0) {
      int e = errno;
      close(epfd_);
      throw std::system_error(e, std::system_category(), "eventfd");
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLET;
    ev.data.ptr = nullptr;  // null marks the wake-up eventfd
    if (epoll_ctl(epfd_, EPOLL_CTL_ADD, wakefd_, &ev) < 0) {
      int e = errno;
      close(wakefd_);
      close(epfd_);
      throw std::system_error(e, std::system_category(), "epoll_ctl");
    }
  }
  ~epoll_reactor() override {
    close(wakefd_);
    close(epfd_);
  }

  void poll(int timeout_ms) override {
    epoll_event events[128];
    int n = epoll_wait(epfd_, events, 128, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) return;
      throw_errno("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        std::uint64_t value;
        // Edge-triggered: drain so the next write makes a new edge. EAGAIN just means already drained.
        [[maybe_unused]] ssize_t r = read(wakefd_, &value, sizeof value);
      }
    }
  }

  void wake() noexcept override {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t r = write(wakefd_, &one, sizeof one);
  }

 private:
  int epfd_ = -1;
  int wakefd_ = -1;
};

}  // namespace

std::unique_ptr<reactor> make_reactor(reactor_kind kind) {
  switch (kind) {
    case reactor_kind::epoll:
      break;
  }
  return std::make_unique<epoll_reactor>();
}

}  // namespace weft::detail
