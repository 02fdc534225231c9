// The epoll backend: one epoll instance per loop, an eventfd for wake-ups.
// Descriptors are registered once, edge-triggered, for reading; writability is added (EPOLL_CTL_MOD)
// the first time a write would block. An event retries the op parked in its direction (reactor/io.cpp). Closing a descriptor unregisters it, so there is no EPOLL_CTL_DEL.
// Events of one epoll_wait batch are handled before any task runs, so no io_state is freed mid-batch.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <system_error>

#include "reactor/io.hpp"
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

  int poll(int timeout_ms) override {
    epoll_event events[128];
    int n = epoll_wait(epfd_, events, 128, timeout_ms);
    if (n < 0) {
      if (errno == EINTR) return 0;
      throw_errno("epoll_wait");
    }
    int delivered = n;
    for (int i = 0; i < n; ++i) {
      auto* io = static_cast<io_state*>(events[i].data.ptr);
      if (io == nullptr) {
        --delivered;
        std::uint64_t value;
        // Edge-triggered: drain so the next write makes a new edge. EAGAIN just means already drained.
        [[maybe_unused]] ssize_t r = read(wakefd_, &value, sizeof value);
        continue;
      }
      std::uint32_t ev = events[i].events;
      if ((ev & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) io->peer_closed = true;
      if ((ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) io_ready(io, io_dir::read);
      if ((ev & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) io_ready(io, io_dir::write);
    }
    return delivered;
  }

  std::error_code add(io_state* io, bool writes) noexcept override {
    return control(EPOLL_CTL_ADD, io, writes ? EPOLLIN | EPOLLOUT : EPOLLIN);
  }
  void remove(io_state* io) noexcept override {
    epoll_event ev{};
    epoll_ctl(epfd_, EPOLL_CTL_DEL, io->fd, &ev);
  }
  std::error_code watch_writes(io_state* io) noexcept override {
    return control(EPOLL_CTL_MOD, io, EPOLLIN | EPOLLOUT);
  }

  void wake() noexcept override {
    std::uint64_t one = 1;
    [[maybe_unused]] ssize_t r = write(wakefd_, &one, sizeof one);
  }

 private:
  std::error_code control(int op, io_state* io, std::uint32_t events) noexcept {
    epoll_event ev{};
    ev.events = events | EPOLLRDHUP | EPOLLET;
    ev.data.ptr = io;
    if (epoll_ctl(epfd_, op, io->fd, &ev) < 0) return {errno, std::system_category()};
    return {};
  }

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
