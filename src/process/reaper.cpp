#include "process/reaper.hpp"
#include "weft/detail/atomic.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>
#include <thread>
#include <vector>

namespace weft::process {
namespace {

class reaper {
 public:
  /// Null if the thread or its wake-up descriptor cannot be made (then children are reaped only if
  /// they have already ended).
  static reaper* get() noexcept {
    static reaper* instance = [] () noexcept -> reaper* {
      int wake = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
      if (wake < 0) return nullptr;
      try {
        auto* r = new reaper(wake);  // never destroyed: the thread may still poll at exit
        weft::detail::thread([r] { r->run(); }).detach();
        return r;
      } catch (...) {
        ::close(wake);
        return nullptr;
      }
    }();
    return instance;
  }

  void add(int pidfd) noexcept {
    {
      std::lock_guard guard(lock_);
      try {
        incoming_.push_back(pidfd);
      } catch (...) {
        ::close(pidfd);  // out of memory: it stays a zombie until this process ends
        return;
      }
    }
    std::uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
  }

 private:
  explicit reaper(int wake) noexcept : wake_(wake) {}

  void run() {
    sigset_t all;  // a helper thread: signals are for the program's own threads
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::vector<pollfd> fds{{wake_, POLLIN, 0}};
    for (;;) {
      if (::poll(fds.data(), fds.size(), -1) < 0) continue;  // EINTR
      if (fds[0].revents != 0) {
        std::uint64_t n;
        (void)!::read(wake_, &n, sizeof n);
        std::lock_guard guard(lock_);
        for (int fd : incoming_) fds.push_back({fd, POLLIN, 0});
        incoming_.clear();
      }
      for (std::size_t i = 1; i < fds.size();) {
        siginfo_t info{};
        if (fds[i].revents != 0 &&
            (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(fds[i].fd), &info, WEXITED | WNOHANG) < 0 ||
             info.si_pid != 0)) {
          ::close(fds[i].fd);  // reaped (or not ours to reap: ECHILD)
          fds[i] = fds.back();
          fds.pop_back();
          continue;
        }
        fds[i].revents = 0;
        ++i;
      }
    }
  }

  int wake_;
  weft::detail::mutex lock_;
  std::vector<int> incoming_;
};

}  // namespace

void reap_later(int pidfd) noexcept {
  siginfo_t info{};
  // Already ended: reap it here, without the thread.
  if (::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED | WNOHANG) == 0 &&
      info.si_pid != 0) {
    return;
  }
  int copy = ::fcntl(pidfd, F_DUPFD_CLOEXEC, 0);
  reaper* r = copy >= 0 ? reaper::get() : nullptr;
  if (r == nullptr) {
    if (copy >= 0) ::close(copy);
    return;
  }
  r->add(copy);
}

}  // namespace weft::process
