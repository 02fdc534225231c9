// The resolver: one c-ares channel per loop, driven by the loop's reactor and timer wheel.
//
// Protocol (all on the loop's thread):
// - c-ares tells us which of its sockets to watch (sock_state_cb). Each gets an io_state registered
//   with the reactor and a persistent watcher op parked on it, whose attempt runs ares_process_fd and
//   never completes. c-ares runs our query callbacks from there: they only record an answer and
//   schedule the waiting coroutine, so no user code runs inside the reactor.
// - When c-ares stops watching a socket it is about to close it: we remove it from epoll at once, but
//   free its state only on the next loop turn (posted), because events of the batch being handled may
//   still name it.
// - One timer carries c-ares' next timeout; it is re-armed after every call into c-ares.
// - A query is shared by its waiter and c-ares: if the waiter leaves first (cancelled, timed out,
//   destroyed), the query is marked orphaned and the c-ares callback frees it.
#include "weft/detail/coop.hpp"
#include "weft/net/resolver.hpp"

#include <ares.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "net/sockaddr.hpp"
#include "reactor/io.hpp"
#include "reactor/reactor.hpp"
#include "runtime/worker.hpp"

namespace weft::net {
namespace {

using weft::detail::context;
using weft::detail::io_dir;
using weft::detail::io_op;
using weft::detail::io_state;
using weft::detail::timer_entry;
using weft::detail::worker;

std::error_code error_of(int status) noexcept {
  switch (status) {
    case ARES_ENOTFOUND:
    case ARES_ENONAME:
    case ARES_ENODATA:
      return errc::host_not_found;
    case ARES_ETIMEOUT:
      return errc::timed_out;
    case ARES_ECANCELLED:
    case ARES_EDESTRUCTION:
      return errc::operation_canceled;
    case ARES_EBADNAME:
      return errc::invalid_argument;
    default:
      return errc::dns_failure;
  }
}

struct query {
  std::string key;  // cache key: family letter + host
  std::coroutine_handle<> waiting;
  context* ctx = nullptr;
  bool orphaned = false;
  bool done = false;
  result<std::vector<ip_address>> answer = fail(errc::dns_failure);
  clock::duration ttl{};
};

class dns_service;

struct dns_socket;

/// A watcher parked on a c-ares socket for one direction; `socket` leads back to it.
struct dns_watcher : io_op {
  dns_watcher(dns_socket* s, io_state* io, io_dir d) noexcept;
  dns_socket* socket;
};

/// One socket c-ares asked us to watch.
struct dns_socket {
  dns_socket(dns_service* s, int fd, worker* owner) noexcept
      : service(s), io{fd, owner, {nullptr, nullptr}, false}, reader(this, &io, io_dir::read),
        writer(this, &io, io_dir::write) {}
  dns_service* service;
  io_state io;
  dns_watcher reader;
  dns_watcher writer;
  bool dead = false;
};

class dns_service final : public weft::detail::loop_extension, timer_entry {
 public:
  explicit dns_service(worker* w) : w_(w) {
    static std::once_flag once;
    std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
    ares_options opts{};
    opts.sock_state_cb = &dns_service::on_socket_state;
    opts.sock_state_cb_data = this;
    opts.timeout = 2000;  // per try, in milliseconds
    opts.tries = 2;
    int status = ares_init_options(&channel_, &opts, ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
    if (status != ARES_SUCCESS) channel_ = nullptr;
    fire = &dns_service::on_timer;
  }
  ~dns_service() override {
    // lifetime: ares_destroy runs the callbacks of pending queries (ARES_EDESTRUCTION) and reports each
    // socket closed; our waiters are gone by now (the loop destroyed their frames first).
    if (channel_ != nullptr) ares_destroy(channel_);
    if (linked()) w_->disarm_timer(this);
    for (auto& [fd, s] : sockets_) drop(s.get());
    sockets_.clear();
    graveyard_.clear();
  }

  bool usable() const noexcept { return channel_ != nullptr; }

  void start(query* q, const std::string& host, int family) {
    ares_addrinfo_hints hints{};
    hints.ai_family = family;
    hints.ai_flags = ARES_AI_NOSORT;  // sorting would make UDP connects to each address, on the loop
    ares_getaddrinfo(channel_, host.c_str(), nullptr, &hints, &dns_service::on_answer, q);
    rearm();
  }

  result<void> set_servers(std::string_view csv) {
    std::string copy(csv);
    if (ares_set_servers_ports_csv(channel_, copy.c_str()) != ARES_SUCCESS) return fail(errc::invalid_argument);
    cache_.clear();
    return {};
  }

  struct cached {
    std::vector<ip_address> addresses;
    clock::time_point expires;
  };
  const cached* lookup(const std::string& key) {
    auto it = cache_.find(key);
    if (it == cache_.end()) return nullptr;
    if (it->second.expires <= w_->now()) {
      cache_.erase(it);
      return nullptr;
    }
    return &it->second;
  }
  void remember(const std::string& key, const std::vector<ip_address>& addrs, clock::duration ttl) {
    if (cache_.size() >= max_entries) cache_.clear();  // crude, bounded, and rare
    cache_[key] = cached{addrs, weft::deadline_after(w_->now(), ttl)};
  }
  void clear_cache() noexcept { cache_.clear(); }

  void process(int read_fd, int write_fd) noexcept {
    ares_process_fd(channel_, read_fd, write_fd);
    rearm();
  }

 private:
  static constexpr std::size_t max_entries = 1024;

  static void on_socket_state(void* data, ares_socket_t fd, int readable, int writable) noexcept {
    auto* self = static_cast<dns_service*>(data);
    auto it = self->sockets_.find(fd);
    if (!readable && !writable) {
      if (it == self->sockets_.end()) return;
      self->drop(it->second.get());
      // lifetime: events of the batch being handled may still name this io_state; free it next turn.
      self->graveyard_.push_back(std::move(it->second));
      self->sockets_.erase(it);
      if (!self->sweep_posted_) {
        self->sweep_posted_ = true;
        self->w_->post([self] {
          self->graveyard_.clear();
          self->sweep_posted_ = false;
        });
      }
      return;
    }
    dns_socket* s = nullptr;
    if (it == self->sockets_.end()) {
      auto owned = std::make_unique<dns_socket>(self, fd, self->w_);
      if (self->w_->io().add(&owned->io)) return;  // c-ares will time the query out
      s = owned.get();
      self->sockets_.emplace(fd, std::move(owned));
    } else {
      s = it->second.get();
    }
    s->io.parked[0] = readable ? &s->reader : nullptr;
    if (writable && !s->io.writes_watched) {
      if (!self->w_->io().watch_writes(&s->io)) s->io.writes_watched = true;
    }
    s->io.parked[1] = writable ? &s->writer : nullptr;
  }

  void drop(dns_socket* s) noexcept {
    if (s->dead) return;
    s->dead = true;
    s->io.parked[0] = s->io.parked[1] = nullptr;
    w_->io().remove(&s->io);
  }

  static void on_answer(void* arg, int status, int /*timeouts*/, ares_addrinfo* res) noexcept {
    auto* q = static_cast<query*>(arg);
    if (q->orphaned) {
      if (res != nullptr) ares_freeaddrinfo(res);
      delete q;
      return;
    }
    q->done = true;
    if (status == ARES_SUCCESS && res != nullptr) {
      std::vector<ip_address> addrs;
      int ttl = -1;
      for (ares_addrinfo_node* n = res->nodes; n != nullptr; n = n->ai_next) {
        if (n->ai_addr == nullptr || (n->ai_family != AF_INET && n->ai_family != AF_INET6)) continue;
        sockaddr_storage ss{};
        std::memcpy(&ss, n->ai_addr, std::min<std::size_t>(n->ai_addrlen, sizeof ss));
        ip_address a = detail::from_sockaddr(ss).address;
        if (std::find(addrs.begin(), addrs.end(), a) == addrs.end()) addrs.push_back(a);
        if (n->ai_ttl > 0) ttl = ttl < 0 ? n->ai_ttl : std::min(ttl, n->ai_ttl);
      }
      if (addrs.empty()) {
        q->answer = fail(errc::host_not_found);
      } else {
        q->answer = std::move(addrs);
        q->ttl = ttl > 0 ? std::min<clock::duration>(std::chrono::seconds(ttl), max_cache_ttl) : max_cache_ttl;
      }
    } else {
      q->answer = fail(error_of(status));
    }
    if (res != nullptr) ares_freeaddrinfo(res);
    if (q->waiting) {
      q->ctx->disarm();
      weft::detail::schedule(std::exchange(q->waiting, {}), q->ctx);
    }
  }

  static void on_timer(timer_entry* e) noexcept {
    auto* self = static_cast<dns_service*>(e);
    self->process(ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  }

  void rearm() noexcept {
    if (linked()) w_->disarm_timer(this);
    timeval tv{};
    if (ares_timeout(channel_, nullptr, &tv) == nullptr) return;  // nothing pending
    auto wait = std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
    w_->arm_timer(this, weft::deadline_after(w_->now(), std::chrono::duration_cast<clock::duration>(wait)));
  }

  worker* w_;
  ares_channel channel_ = nullptr;
  std::unordered_map<int, std::unique_ptr<dns_socket>> sockets_;
  std::vector<std::unique_ptr<dns_socket>> graveyard_;
  bool sweep_posted_ = false;
  std::unordered_map<std::string, cached> cache_;
};

bool watch(io_op* op) noexcept {
  dns_socket* s = static_cast<dns_watcher*>(op)->socket;
  dns_service* svc = s->service;
  int fd = s->io.fd;
  if (op->dir == io_dir::write) {
    svc->process(ARES_SOCKET_BAD, fd);
    return false;
  }
  // Edge-triggered: c-ares may leave a TCP answer half read, which raises no new edge. Process until
  // the socket has nothing more (bounded), or c-ares is done with it.
  for (int i = 0; i < 8 && !s->dead; ++i) {
    svc->process(fd, ARES_SOCKET_BAD);
    if (s->dead) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0 || (p.revents & POLLIN) == 0) break;
  }
  return false;  // a watcher stays parked until c-ares lets the socket go
}

dns_watcher::dns_watcher(dns_socket* s, io_state* state, io_dir d) noexcept : io_op(state, d, &watch), socket(s) {}

dns_service* service_of(worker* w) {
  auto* e = w->extension(weft::detail::extension_slot::dns);
  if (e == nullptr) {
    w->set_extension(weft::detail::extension_slot::dns, std::make_unique<dns_service>(w));
    e = w->extension(weft::detail::extension_slot::dns);
  }
  return static_cast<dns_service*>(e);
}

/// Waits for a query's answer; leaving early (cancel, timeout, destruction) orphans the query.
class answer_awaitable : weft::detail::cancel_waiter, timer_entry {
 public:
  answer_awaitable(query* q, clock::time_point deadline) noexcept : q_(q), deadline_(deadline) {}
  answer_awaitable(answer_awaitable&&) = delete;
  ~answer_awaitable() {
    if (q_->waiting) leave(errc::operation_canceled);  // frame destroyed while waiting
  }

  bool await_ready() const noexcept { return q_->done; }
  template <weft::detail::weft_promise P>
  bool await_suspend(std::coroutine_handle<P> h) noexcept {
    context* ctx = h.promise().ctx;
    if (ctx->cut_if_cancelled()) {
      early_ = errc::operation_canceled;
      q_->orphaned = true;
      return weft::detail::yield_if_budget_spent(h, ctx);
    }
    q_->waiting = h;
    q_->ctx = ctx;
    on_cancel = &answer_awaitable::cut_short;
    ctx->arm(this);
    fire = &answer_awaitable::expired;
    weft::detail::current_worker()->arm_timer(this, deadline_);
    weft::detail::note_suspend(weft::detail::suspend_reason::dns);
    return true;
  }
  /// The answer; the query is freed here unless c-ares still holds it.
  result<std::vector<ip_address>> await_resume() noexcept {
    if (linked()) weft::detail::current_worker()->disarm_timer(this);
    if (early_) return fail(early_);
    return std::move(q_->answer);
  }
  bool left_early() const noexcept { return static_cast<bool>(early_); }

 private:
  void leave(std::error_code why) noexcept {
    early_ = why;
    q_->orphaned = true;
    q_->ctx->disarm();
    if (linked()) weft::detail::current_worker()->disarm_timer(this);
    q_->waiting = {};
  }
  static bool cut_short(weft::detail::cancel_waiter* w) noexcept {
    auto* self = static_cast<answer_awaitable*>(w);
    std::coroutine_handle<> h = self->q_->waiting;
    context* ctx = self->q_->ctx;
    self->leave(errc::operation_canceled);
    weft::detail::schedule(h, ctx);
    return true;
  }
  static void expired(timer_entry* e) noexcept {
    auto* self = static_cast<answer_awaitable*>(e);
    // The answer came first and its resumption is on its way (the answer leaves the timer armed).
    if (!self->q_->waiting) return;
    std::coroutine_handle<> h = self->q_->waiting;
    context* ctx = self->q_->ctx;
    self->leave(errc::timed_out);
    weft::detail::schedule(h, ctx);
  }

  query* q_;
  clock::time_point deadline_;
  std::error_code early_;
};

}  // namespace

task<result<std::vector<ip_address>>> resolve(std::string host, resolve_options options) {
  if (auto literal = ip_address::parse(host)) co_return std::vector<ip_address>{*literal};
  if (host.empty() || host.size() > 253) co_return fail(errc::invalid_argument);
  worker* w = weft::detail::current_worker();
  if (w == nullptr) co_return fail(errc::not_in_runtime);
  dns_service* svc = service_of(w);
  if (!svc->usable()) co_return fail(errc::dns_failure);

  int family = AF_UNSPEC;
  char tag = 'a';
  if (options.families == resolve_options::family::v4) family = AF_INET, tag = '4';
  if (options.families == resolve_options::family::v6) family = AF_INET6, tag = '6';
  std::string key = tag + host;
  if (options.use_cache) {
    if (const auto* hit = svc->lookup(key)) co_return hit->addresses;
  }

  auto* q = new query;
  q->key = key;
  svc->start(q, host, family);  // may answer at once (/etc/hosts, a malformed name)
  result<std::vector<ip_address>> answer = fail(errc::dns_failure);
  bool orphaned = false;
  {
    answer_awaitable wait(q, weft::deadline_after(w->now(), options.timeout));
    answer = co_await wait;
    orphaned = wait.left_early();
  }
  if (orphaned) co_return answer;  // c-ares' callback frees the query when it ends
  clock::duration ttl = q->ttl;
  delete q;
  if (answer && options.use_cache) service_of(w)->remember(key, *answer, ttl);
  co_return answer;
}

result<void> set_dns_servers(std::string_view servers) {
  worker* w = weft::detail::current_worker();
  if (w == nullptr) return fail(errc::not_in_runtime);
  dns_service* svc = service_of(w);
  if (!svc->usable()) return fail(errc::dns_failure);
  return svc->set_servers(servers);
}

void clear_dns_cache() noexcept {
  if (worker* w = weft::detail::current_worker()) {
    if (auto* e = w->extension(weft::detail::extension_slot::dns)) static_cast<dns_service*>(e)->clear_cache();
  }
}

}  // namespace weft::net
