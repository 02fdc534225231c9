// A TCP link with delay between a test's client and a server on 127.0.0.1, for what loopback hides:
// on loopback a segment arrives the instant it is sent, so a close and the bytes still on their way
// can never cross. tc netem would need a network namespace and the sch_netem module, which these
// machines lack; this proxy stands in for it.
//
// Each direction is a delay line: a reader takes what the sender wrote and queues it, due `one_way`
// later; a writer hands it on when due. What the line holds is bounded (`in_flight`, the link's
// bandwidth-delay product), so a sender is held back as on a real link. An end of stream goes on as a
// FIN (shutdown), a reset as a reset (a close with SO_LINGER 0), each in order behind the bytes
// before it. A reset also goes back to a sender whose bytes the far end refused, as the far end's
// kernel would answer them.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace weft::test {

class delay_link {
 public:
  using clock = std::chrono::steady_clock;

  /// Listens on 127.0.0.1 (port()); each connection made to it is carried to `target_port`.
  delay_link(std::uint16_t target_port, std::chrono::milliseconds one_way, std::size_t in_flight = 256 * 1024)
      : target_(target_port), delay_(one_way), in_flight_(in_flight) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    small_buffers(listener_);  // accepted sockets inherit them
    sockaddr_in sa = loopback(0);
    socklen_t len = sizeof sa;
    ::bind(listener_, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::listen(listener_, 64);
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }

  /// Stops carrying: every connection still open is cut, every thread joined.
  ~delay_link() {
    ::shutdown(listener_, SHUT_RDWR);  // wakes accept()
    acceptor_.join();
    for (auto& d : lines_) d->stop();
    for (auto& d : lines_) d->join();
    for (int fd : fds_) ::close(fd);
    ::close(listener_);
  }
  delay_link(const delay_link&) = delete;
  delay_link& operator=(const delay_link&) = delete;

  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }

 private:
  static sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sa;
  }

  /// The proxy's own socket buffers stay small, so that what the link holds is `in_flight`, not the
  /// megabytes that loopback's buffers grow to.
  static void small_buffers(int fd) {
    int size = 32 * 1024;
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
  }

  /// One direction: bytes read from `from` reach `to` one delay later.
  class line {
   public:
    line(int from, int to, clock::duration delay, std::size_t in_flight)
        : from_(from), to_(to), delay_(delay), in_flight_(in_flight) {}
    /// `back` is the other direction, which carries a reset back to the sender when `to` refuses.
    void start(line* back) {
      back_ = back;
      reader_ = std::thread([this] { read_loop(); });
      writer_ = std::thread([this] { write_loop(); });
    }
    void stop() {
      {
        std::lock_guard g(lock_);
        stopping_ = true;
        // Under the lock: a socket that was reset (replaced, see reset_to) is no longer touched.
        if (!reader_done_) ::shutdown(from_, SHUT_RDWR);  // wakes the reader's recv
        if (!reset_sent_) ::shutdown(to_, SHUT_RDWR);     // and the writer's send
      }
      changed_.notify_all();
    }
    void join() {
      reader_.join();
      writer_.join();
    }

   private:
    enum class kind { bytes, fin, reset };
    struct segment {
      clock::time_point due;
      kind what;
      std::string data;
    };

    void push(segment s) {
      {
        std::lock_guard g(lock_);
        if (reset_queued_) return;  // nothing follows a reset
        reset_queued_ = s.what == kind::reset;
        queued_ += s.data.size();
        queue_.push_back(std::move(s));
      }
      changed_.notify_all();
    }

    void read_loop() {
      read_until_done();
      {
        std::lock_guard g(lock_);
        reader_done_ = true;
      }
      changed_.notify_all();
    }

    /// The other direction is about to reset `from_`: this reader leaves it for good, and this call
    /// returns once it has (no thread may use a socket while another closes it).
    void stop_reading() {
      std::unique_lock g(lock_);
      reading_cut_ = true;
      if (!reader_done_) ::shutdown(from_, SHUT_RD);  // wakes a recv
      changed_.notify_all();
      changed_.wait(g, [&] { return reader_done_; });
    }

    /// Resets `to_`: its last descriptor goes with SO_LINGER 0, which sends RST. The descriptor number
    /// stays valid (another socket takes it), so the destructor's close is still right.
    void reset_to() {
      back_->stop_reading();  // the other user of this socket: the reader of the other direction
      std::lock_guard g(lock_);
      if (stopping_) return;
      linger abort{1, 0};
      ::setsockopt(to_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
      int placeholder = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      ::dup2(placeholder, to_);
      ::close(placeholder);
      reset_sent_ = true;
    }

    void read_until_done() {
      std::vector<char> buf(64 * 1024);
      for (;;) {
        {
          std::unique_lock g(lock_);
          changed_.wait(g, [&] { return stopping_ || reading_cut_ || queued_ < in_flight_; });
          if (stopping_ || reading_cut_) return;
        }
        ssize_t n = ::recv(from_, buf.data(), buf.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        segment s{clock::now() + delay_, n > 0 ? kind::bytes : n == 0 ? kind::fin : kind::reset, {}};
        if (n > 0) s.data.assign(buf.data(), static_cast<std::size_t>(n));
        push(std::move(s));
        if (n <= 0) return;
      }
    }

    void write_loop() {
      for (;;) {
        segment s;
        {
          std::unique_lock g(lock_);
          changed_.wait(g, [&] { return stopping_ || !queue_.empty(); });
          if (stopping_) return;
          auto due = queue_.front().due;
          if (changed_.wait_until(g, due, [&] { return stopping_; })) return;
          s = std::move(queue_.front());
          queue_.pop_front();
        }
        switch (s.what) {
          case kind::bytes: {
            std::string_view rest = s.data;
            while (!rest.empty()) {
              ssize_t n = ::send(to_, rest.data(), rest.size(), MSG_NOSIGNAL);
              if (n < 0 && errno == EINTR) continue;
              if (n <= 0) {  // the far end reset: its reset goes back to the sender, one delay later
                back_->push({clock::now() + delay_, kind::reset, {}});
                break;
              }
              rest.remove_prefix(static_cast<std::size_t>(n));
            }
            break;
          }
          case kind::fin:
            ::shutdown(to_, SHUT_WR);  // a reset may still follow
            break;
          case kind::reset:
            reset_to();
            return;
        }
        {
          std::lock_guard g(lock_);
          queued_ -= s.data.size();
        }
        changed_.notify_all();
      }
    }

    int from_, to_;
    clock::duration delay_;
    std::size_t in_flight_;
    std::mutex lock_;
    std::condition_variable changed_;
    std::deque<segment> queue_;
    std::size_t queued_ = 0;
    bool stopping_ = false;
    bool reset_queued_ = false;
    bool reading_cut_ = false;  // stop_reading(): the other direction resets `from_`
    bool reader_done_ = false;  // the reader has left `from_` for good
    bool reset_sent_ = false;   // `to_` was reset (and replaced)
    line* back_ = nullptr;
    std::thread reader_, writer_;
  };

  void accept_loop() {
    for (;;) {
      int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;  // shut down
      }
      int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      small_buffers(server);
      sockaddr_in sa = loopback(target_);
      if (::connect(server, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(server);
        ::close(client);
        continue;
      }
      fds_.push_back(client);
      fds_.push_back(server);
      auto up = std::make_unique<line>(client, server, delay_, in_flight_);
      auto down = std::make_unique<line>(server, client, delay_, in_flight_);
      up->start(down.get());
      down->start(up.get());
      lines_.push_back(std::move(up));
      lines_.push_back(std::move(down));
    }
  }

  std::uint16_t target_;
  std::chrono::milliseconds delay_;
  std::size_t in_flight_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::thread acceptor_;
  std::vector<std::unique_ptr<line>> lines_;  // touched by the acceptor only, until it is joined
  std::vector<int> fds_;
};

}  // namespace weft::test
