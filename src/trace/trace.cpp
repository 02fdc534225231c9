#include "trace/trace.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>
#include <iterator>
#include <limits>
#include <map>

namespace weft::detail::trace {

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", u);
      out += esc;
    } else if (u < 0x80) {
      out += c;
    } else {
      // A whole UTF-8 sequence goes as it is; any other byte as U+FFFD (JSON is UTF-8, names need not be).
      std::size_t len = u >= 0xF0 && u < 0xF5 ? 4 : u >= 0xE0 ? 3 : u >= 0xC2 && u < 0xE0 ? 2 : 0;
      if (u >= 0xF5) len = 0;
      bool whole = len != 0 && i + len <= s.size();
      for (std::size_t k = 1; whole && k < len; ++k) whole = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
      if (whole) {
        out.append(s.substr(i, len));
        i += len - 1;
      } else {
        out += "\\ufffd";
      }
    }
  }
  out += '"';
}

namespace {

// Room kept at the end of the size bound for the closing metadata.
constexpr std::size_t closing_room = 256;


void append_us(std::string& out, std::uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRIu64 ".%03" PRIu64, ns / 1000, ns % 1000);
  out += buf;
}

std::string fallback_name(std::uint64_t task) { return "task " + std::to_string(task); }

/// Holds while the writer's held events and names stay under this: past it, events are dropped (and
/// counted), so that a writer that lost a spawn or an end to a full queue does not grow for ever.
constexpr std::size_t max_held = std::size_t{1} << 20;

}  // namespace

/// How much of `name` an event keeps: at most 65,535 bytes, cut before a UTF-8 continuation byte.
std::size_t name_limit(std::string_view name) noexcept {
  std::size_t n = std::min<std::size_t>(name.size(), UINT16_MAX);
  while (n < name.size() && n > 0 && (static_cast<unsigned char>(name[n]) & 0xC0) == 0x80) --n;
  return n;
}

}  // namespace weft::detail::trace

namespace weft::detail {

const char* suspend_reason_name(suspend_reason r) noexcept {
  static constexpr const char* names[] = {"",       "timer", "readable",      "writable",     "channel", "semaphore", "event",
                                          "join",   "blocking pool", "compute pool", "signal",  "yield",     "dns",
                                          "mpi"};
  auto i = static_cast<std::size_t>(r);
  return i < std::size(names) ? names[i] : "";
}

}  // namespace weft::detail

namespace weft::detail::trace {

// ------------------------------------------------------------------------------------------ json_writer

json_writer::json_writer(std::FILE* f, std::size_t max_bytes, std::size_t workers,
                         std::chrono::steady_clock::time_point origin)
    : file_(f), max_bytes_(max_bytes), origin_(origin) {
  std::fputs("{\"traceEvents\":[\n", file_);
  written_ = 17;
  write_meta("process_name", 0, "weft");
  for (std::size_t i = 0; i < workers; ++i) {
    write_meta("thread_name", static_cast<std::uint32_t>(i), "worker " + std::to_string(i));
  }
  write_meta("thread_name", sink::foreign_track, "outside the runtime");
}

void json_writer::write_meta(const char* what, std::uint32_t tid, std::string_view name) {
  std::string json = "{\"ph\":\"M\",\"name\":\"";
  json += what;
  json += "\",\"pid\":1,\"tid\":" + std::to_string(tid) + ",\"args\":{\"name\":";
  append_json_string(json, name);
  json += "}}";
  write_event(json);
}

void json_writer::write_chunk(const chunk& c) {
  if (written_ + closing_room >= max_bytes_) {  // full already: count, do not format
    dropped_ += c.events.size();
    return;
  }
  if (c.worker >= sink::compute_track && named_compute_.insert(c.worker).second) {
    write_meta("thread_name", c.worker, "compute " + std::to_string(c.worker - sink::compute_track));
  }
  for (const event& e : c.events) {
    if (e.what == kind::spawn) {
      std::string name(std::string_view(c.names).substr(e.name_at, e.name_len));
      if (name.empty()) name = fallback_name(e.task);
      write_begin(c.worker, e.task, e.at_ns, e.more, name);
      auto held = unnamed_.find(e.task);
      if (held != unnamed_.end()) {
        for (const waiting& w : held->second) write_named(w.track, w.e, name, w.text);
        bool ended = std::any_of(held->second.begin(), held->second.end(),
                                 [](const waiting& w) { return w.e.what == kind::end; });
        held_ -= held->second.size();
        unnamed_.erase(held);
        if (ended) continue;  // its end was among them: no later event needs the name
      }
      if (names_.size() < max_held) names_.emplace(e.task, std::move(name));  // else its events are held, then dropped
      continue;
    }
    if (e.what == kind::wake) {  // an arrow's start: needs nothing from the woken task's spawn
      write_wake(c.worker, e);
      continue;
    }
    if (e.what == kind::instant) {  // the loop's, not a task's
      write_instant(c.worker, e, std::string_view(c.names).substr(e.name_at, e.name_len));
      continue;
    }
    std::string_view text =
        e.what == kind::span ? std::string_view(c.names).substr(e.name_at, e.name_len) : std::string_view{};
    auto known = names_.find(e.task);
    if (known == names_.end()) {
      if (held_ >= max_held) {
        ++dropped_;
      } else {
        unnamed_[e.task].push_back({c.worker, e, std::string(text)});
        ++held_;
      }
      continue;
    }
    write_named(c.worker, e, known->second, text);
    if (e.what == kind::end) names_.erase(known);  // a task's events and its end are recorded in order, on its loop
  }
}

void json_writer::write_named(std::uint32_t track, const event& e, std::string_view name, std::string_view text) {
  if (e.what == kind::run) write_run(track, e, name);
  if (e.what == kind::end) write_end(track, e, name);
  if (e.what == kind::span) write_span(track, e, text);
}

void json_writer::close(std::uint64_t end_ns, std::size_t extra_dropped) {
  // Events whose spawn never came (dropped past the size bound, or overwritten in a flight recorder's
  // ring): their task begins where its first event does, named by its id, and ends with the trace if
  // its end is not among them.
  for (auto& [task, events] : unnamed_) {
    std::string name = fallback_name(task);
    std::uint64_t first = end_ns;
    bool ended = false;
    for (const waiting& w : events) {
      first = std::min(first, w.e.at_ns);
      ended = ended || w.e.what == kind::end;
    }
    write_begin(events.front().track, task, first, 0, name);
    for (const waiting& w : events) write_named(w.track, w.e, name, w.text);
    if (!ended) write_end(sink::foreign_track, event{task, end_ns, 0, 0, 0, kind::end}, name);
  }
  // Tasks that never ended (still running when the runtime went, or when the flight recorder was
  // dumped): their tracks end with the trace.
  for (auto& [task, name] : names_) write_end(sink::foreign_track, event{task, end_ns, 0, 0, 0, kind::end}, name);
  // The origin in the steady clock's own count (CLOCK_MONOTONIC on Linux: one clock for every process
  // on the machine), and the process: `weft trace view` lays several traces on one axis with them.
  auto origin_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(origin_.time_since_epoch()).count();
  std::fprintf(file_,
               "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"dropped_events\":\"%zu\",\"clock_origin_ns\":\"%lld\","
               "\"process_id\":\"%d\"}}\n",
               dropped_ + extra_dropped, static_cast<long long>(origin_ns), static_cast<int>(::getpid()));
  std::fclose(file_);
}

void json_writer::write_begin(std::uint32_t track, std::uint64_t task, std::uint64_t at_ns, std::uint64_t parent,
                              std::string_view name) {
  std::string json = "{\"ph\":\"b\",\"cat\":\"task\",\"id\":" + std::to_string(task) + ",\"name\":";
  append_json_string(json, name);
  json += ",\"ts\":";
  append_us(json, at_ns);
  json += ",\"pid\":1,\"tid\":" + std::to_string(track) + ",\"args\":{\"task\":" + std::to_string(task) +
          ",\"parent\":" + std::to_string(parent) + "}}";
  write_event(json);
}

void json_writer::write_run(std::uint32_t track, const event& e, std::string_view name) {
  std::string json = "{\"ph\":\"X\",\"cat\":\"run\",\"name\":";
  append_json_string(json, name);
  json += ",\"ts\":";
  append_us(json, e.at_ns);
  json += ",\"dur\":";
  append_us(json, e.more - e.at_ns);
  json += ",\"pid\":1,\"tid\":" + std::to_string(track) + ",\"args\":{\"task\":" + std::to_string(e.task);
  auto source = static_cast<wake_source>(e.name_len);
  if (source != wake_source::none) {
    static constexpr const char* names[] = {"", "task", "timer", "io", "another thread", "loop", "yield"};
    json += ",\"woken_by\":\"";
    json += names[static_cast<std::size_t>(source) < std::size(names) ? static_cast<std::size_t>(source) : 0];
    json += "\"";
  }
  if (e.why != suspend_reason::none) {
    json += ",\"suspended_on\":\"";
    json += suspend_reason_name(e.why);
    json += "\"";
  }
  json += "}}";
  write_event(json);
  if (source == wake_source::task && (!arrows_filtered_ || arrows_.count((e.task << 32) | e.name_at) != 0)) {
    // The arrow's end, bound to this slice (write_wake wrote its start, in the waker's slice).
    std::string flow = "{\"ph\":\"f\",\"bp\":\"e\",\"cat\":\"wake\",\"name\":\"wake\",\"id\":\"" +
                       std::to_string(e.task) + "." + std::to_string(e.name_at) + "\",\"ts\":";
    append_us(flow, e.at_ns);
    flow += ",\"pid\":1,\"tid\":" + std::to_string(track) + "}";
    write_event(flow);
  }
}

void json_writer::write_instant(std::uint32_t track, const event& e, std::string_view text) {
  std::size_t nul = text.find('\0');
  std::string json = "{\"ph\":\"i\",\"s\":\"t\",\"cat\":\"loop\",\"name\":";
  append_json_string(json, text.substr(0, nul));
  json += ",\"ts\":";
  append_us(json, e.at_ns);
  json += ",\"pid\":1,\"tid\":" + std::to_string(track);
  if (nul != std::string_view::npos && nul + 1 < text.size()) json.append(",\"args\":{").append(text.substr(nul + 1)).append("}");
  json += "}";
  write_event(json);
}

void json_writer::keep_only_arrows_in(const std::vector<chunk>& chunks) {
  arrows_filtered_ = true;
  for (const chunk& c : chunks) {
    for (const event& e : c.events) {
      if (e.what == kind::wake) arrows_.insert((e.task << 32) | e.name_at);
    }
  }
}

void json_writer::write_wake(std::uint32_t track, const event& e) {
  std::string json = "{\"ph\":\"s\",\"cat\":\"wake\",\"name\":\"wake\",\"id\":\"" + std::to_string(e.task) + "." +
                     std::to_string(e.name_at) + "\",\"ts\":";
  append_us(json, e.at_ns);
  json += ",\"pid\":1,\"tid\":" + std::to_string(track) + ",\"args\":{\"woken\":" + std::to_string(e.task) +
          ",\"waker\":" + std::to_string(e.more) + "}}";
  write_event(json);
}

void json_writer::write_end(std::uint32_t track, const event& e, std::string_view name) {
  std::string json = "{\"ph\":\"e\",\"cat\":\"task\",\"id\":" + std::to_string(e.task) + ",\"name\":";
  append_json_string(json, name);
  json += ",\"ts\":";
  append_us(json, e.at_ns);
  json += ",\"pid\":1,\"tid\":" + std::to_string(track) + "}";
  write_event(json);
}

void json_writer::write_span(std::uint32_t track, const event& e, std::string_view text) {
  std::size_t nul = text.find('\0');
  std::string_view label = text.substr(0, nul);
  std::string_view args = nul == std::string_view::npos ? std::string_view{} : text.substr(nul + 1);
  // A nested async slice: the same category and id as the task's own track, so it is drawn inside it.
  std::string head = "{\"cat\":\"task\",\"id\":" + std::to_string(e.task) + ",\"name\":";
  append_json_string(head, label);
  head += ",\"pid\":1,\"tid\":" + std::to_string(track) + ",\"ts\":";
  std::string begin = head;
  append_us(begin, e.at_ns);
  begin += ",\"ph\":\"b\",\"args\":{\"task\":" + std::to_string(e.task);
  if (!args.empty()) begin.append(",").append(args);
  begin += "}}";
  write_event(begin);
  std::string end = head;
  append_us(end, e.more);
  end += ",\"ph\":\"e\"}";
  write_event(end);
}

void json_writer::write_event(const std::string& json) {
  if (written_ + json.size() + 2 + closing_room > max_bytes_) {
    ++dropped_;
    return;
  }
  if (!first_) std::fputs(",\n", file_);
  first_ = false;
  std::fwrite(json.data(), 1, json.size(), file_);
  written_ += json.size() + 2;
}

// ------------------------------------------------------------------------------------------------ sink

std::unique_ptr<sink> sink::open(const std::string& path, std::size_t max_bytes, std::size_t workers) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "weft: cannot write the trace to %s: %s\n", path.c_str(), std::strerror(errno));
    return nullptr;
  }
  return std::unique_ptr<sink>(new sink(f, max_bytes, workers, 0));
}

std::unique_ptr<sink> sink::ring(std::size_t events, std::size_t workers) {
  return std::unique_ptr<sink>(new sink(nullptr, 0, workers, std::max<std::size_t>(events, 1)));
}

sink::sink(std::FILE* f, std::size_t max_bytes, std::size_t workers, std::size_t ring_events)
    : workers_(workers), ring_events_(ring_events), origin_(std::chrono::steady_clock::now()) {
  if (f == nullptr) return;  // a ring: nothing is written until a dump
  out_ = std::make_unique<json_writer>(f, max_bytes, workers, origin_);
  writer_ = weft::detail::thread([this] { write_loop(); });
}

sink::~sink() {
  if (out_ == nullptr) return;
  {
    std::lock_guard g(lock_);
    closing_ = true;
  }
  ready_.notify_all();
  writer_.join();
  out_->close(now_ns(), queue_dropped_);
}

std::unique_ptr<chunk> sink::exchange(std::unique_ptr<chunk> full) {
  std::unique_ptr<chunk> fresh;
  {
    std::lock_guard g(lock_);
    if (full != nullptr && !full->events.empty()) {
      if (is_ring()) {
        // The ring keeps the newest: the oldest chunk is recycled for the next events.
        ring_held_ += full->events.size();
        full_.push_back(std::move(full));
        fresh = trim_ring();
      } else if (full_.size() < max_queued) {
        full_.push_back(std::move(full));
      } else {
        // The writer is behind by max_queued chunks: memory stays bounded, the events are lost
        // (counted). The chunk is reused as it is.
        queue_dropped_ += full->events.size();
        full->events.clear();
        full->names.clear();
        fresh = std::move(full);
      }
    }
    if (fresh == nullptr && !spare_.empty()) {
      fresh = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  if (!is_ring()) ready_.notify_one();
  if (fresh == nullptr) {
    fresh = std::make_unique<chunk>();
    fresh->events.reserve(recorder::chunk_events);
  }
  fresh->started = std::chrono::steady_clock::now();
  return fresh;
}

void sink::foreign_spawn(std::uint64_t task, std::uint64_t parent, std::string_view name) {
  {
    // Queued at once (the loops' events for this task wait for its name), into the chunk at the back
    // of the queue if it is already one of these: the writer touches only chunks it has taken out.
    std::lock_guard g(lock_);
    if (full_.empty() || full_.back()->worker != foreign_track ||
        full_.back()->events.size() >= recorder::chunk_events) {
      auto c = std::make_unique<chunk>();
      c->worker = foreign_track;
      full_.push_back(std::move(c));
    }
    chunk& c = *full_.back();
    std::string_view kept = name.substr(0, name_limit(name));
    c.events.push_back({task, now_ns(), parent, static_cast<std::uint32_t>(c.names.size()),
                        static_cast<std::uint16_t>(kept.size()), kind::spawn});
    c.names.append(kept);
    if (is_ring()) {
      ++ring_held_;
      (void)trim_ring();
    }
  }
  if (!is_ring()) ready_.notify_one();
}

void sink::compute_slices(std::uint64_t task, const std::vector<timed_run>& runs) {
  std::map<std::uint32_t, std::unique_ptr<chunk>> by_thread;
  for (const auto& t : runs) {
    auto& c = by_thread[t.thread];
    if (c == nullptr) {
      c = std::make_unique<chunk>();
      c->worker = compute_track + t.thread;
    }
    auto at = [this](std::int64_t ns) {
      return ns_at(std::chrono::steady_clock::time_point(std::chrono::steady_clock::duration(ns)));
    };
    c->events.push_back({task, at(t.start), at(t.end), 0, 0, kind::run});
  }
  {
    std::lock_guard g(lock_);
    for (auto& [thread, c] : by_thread) {
      // In time order on each track, as a viewer expects (chunks were claimed in order, not ended so).
      std::sort(c->events.begin(), c->events.end(), [](const event& a, const event& b) { return a.at_ns < b.at_ns; });
      if (is_ring()) ring_held_ += c->events.size();
      full_.push_back(std::move(c));
    }
    if (is_ring()) (void)trim_ring();
  }
  if (!is_ring()) ready_.notify_one();
}

std::unique_ptr<chunk> sink::trim_ring() {
  std::unique_ptr<chunk> recycled;
  while (full_.size() > 1 && ring_held_ - full_.front()->events.size() >= ring_events_) {
    ring_held_ -= full_.front()->events.size();
    recycled = std::move(full_.front());
    full_.pop_front();
  }
  if (recycled != nullptr) {
    recycled->events.clear();
    recycled->names.clear();
  }
  return recycled;
}

void sink::write_loop() {
  std::unique_lock g(lock_);
  for (;;) {
    ready_.wait(g, [&] { return closing_ || !full_.empty(); });
    if (full_.empty()) return;  // closing, and nothing left
    std::unique_ptr<chunk> c = std::move(full_.front());
    full_.pop_front();
    g.unlock();
    out_->write_chunk(*c);
    c->events.clear();
    c->names.clear();
    c->events.reserve(recorder::chunk_events);  // a foreign chunk may be small
    g.lock();
    if (spare_.size() < 16) spare_.push_back(std::move(c));
  }
}

bool sink::dump(const std::string& path, recorder* self, std::chrono::milliseconds patience) {
  if (!is_ring()) return false;
  std::lock_guard one(dump_lock_);
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return false;
  // Every loop hands over its current chunk: the newest events, the ones a dump is for.
  flush_acks_.store(0, std::memory_order_release);
  flush_epoch_.fetch_add(1, std::memory_order_acq_rel);
  std::size_t wanted = workers_;
  if (self != nullptr) {
    self->poll_flush();  // this loop cannot answer while it waits here
  }
  if (wake_loops_) wake_loops_();
  auto until = std::chrono::steady_clock::now() + patience;
  while (flush_acks_.load(std::memory_order_acquire) < wanted && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  // A copy, so that the loops go on recording (and recycling) meanwhile.
  std::vector<chunk> copy;
  {
    std::lock_guard g(lock_);
    copy.reserve(full_.size());
    for (const auto& c : full_) copy.push_back(*c);
  }
  json_writer out(f, std::numeric_limits<std::size_t>::max(), workers_, origin_);
  out.keep_only_arrows_in(copy);
  for (const chunk& c : copy) out.write_chunk(c);
  out.close(now_ns(), 0);
  return true;
}

recorder::recorder(sink& s, std::uint32_t worker) : sink_(s), worker_(worker) {
  current_ = sink_.exchange(nullptr);
  current_->worker = worker_;
}

recorder::~recorder() { (void)sink_.exchange(std::move(current_)); }

void recorder::spawned(std::uint64_t task, std::uint64_t parent, std::string_view name) {
  std::string_view kept = name.substr(0, name_limit(name));
  event e{task, sink_.now_ns(), parent, static_cast<std::uint32_t>(current_->names.size()),
          static_cast<std::uint16_t>(kept.size()), kind::spawn};
  current_->names.append(kept);
  append(e);
}

void recorder::span(std::uint64_t task, std::chrono::steady_clock::time_point start,
                    std::chrono::steady_clock::time_point end, std::string_view label, std::string_view args) {
  append_labelled({task, sink_.ns_at(start), sink_.ns_at(end), 0, 0, kind::span}, label, args);
}

void recorder::instant(std::string_view label, std::string_view args) {
  append_labelled({0, sink_.now_ns(), 0, 0, 0, kind::instant}, label, args);
}

void recorder::append_labelled(event e, std::string_view label, std::string_view args) {
  constexpr std::size_t room = 65535;
  if (args.size() + 1 >= room) args = {};
  std::string_view kept = label.substr(0, name_limit(label.substr(0, room - 1 - args.size())));
  e.name_at = static_cast<std::uint32_t>(current_->names.size());
  e.name_len = static_cast<std::uint16_t>(kept.size() + 1 + args.size());
  current_->names.append(kept);
  current_->names.push_back('\0');
  current_->names.append(args);
  append(e);
}

void recorder::hand_over() {
  if (current_->events.empty()) return;
  current_ = sink_.exchange(std::move(current_));
  current_->worker = worker_;
}

void recorder::idle(int timeout_ms) {
  // A flight recorder's chunks wait for a dump, which collects them all: handing over partial ones
  // would only fill the ring with small chunks.
  if (current_->events.empty() || sink_.is_ring()) return;
  // Before a sleep that may be long (or has no end), or once the chunk has waited 50 ms.
  if (timeout_ms < 0 || timeout_ms > 50 || std::chrono::steady_clock::now() - current_->started > std::chrono::milliseconds(50)) {
    hand_over();
  }
}

}  // namespace weft::detail::trace
