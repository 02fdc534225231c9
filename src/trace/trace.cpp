#include "trace/trace.hpp"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstring>

namespace weft::detail::trace {
namespace {

// Room kept at the end of the size bound for the closing metadata.
constexpr std::size_t closing_room = 256;

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

namespace {

}  // namespace

std::unique_ptr<sink> sink::open(const std::string& path, std::size_t max_bytes, std::size_t workers) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "weft: cannot write the trace to %s: %s\n", path.c_str(), std::strerror(errno));
    return nullptr;
  }
  return std::unique_ptr<sink>(new sink(f, max_bytes, workers));
}

sink::sink(std::FILE* f, std::size_t max_bytes, std::size_t workers)
    : file_(f), max_bytes_(max_bytes), origin_(std::chrono::steady_clock::now()) {
  std::fputs("{\"traceEvents\":[\n", file_);
  written_ = 17;
  auto meta = [&](const char* what, std::uint32_t tid, std::string_view name) {
    std::string json = "{\"ph\":\"M\",\"name\":\"";
    json += what;
    json += "\",\"pid\":1,\"tid\":" + std::to_string(tid) + ",\"args\":{\"name\":";
    append_json_string(json, name);
    json += "}}";
    write_event(json);
  };
  meta("process_name", 0, "weft");
  for (std::size_t i = 0; i < workers; ++i) {
    meta("thread_name", static_cast<std::uint32_t>(i), "worker " + std::to_string(i));
  }
  meta("thread_name", foreign_track, "outside the runtime");
  writer_ = std::thread([this] { write_loop(); });
}

sink::~sink() {
  {
    std::lock_guard g(lock_);
    closing_ = true;
  }
  ready_.notify_all();
  writer_.join();
  // Events whose spawn never came (it was dropped, past the size bound): named by their id.
  for (auto& [task, events] : unnamed_) {
    std::string name = fallback_name(task);
    for (const waiting& w : events) {
      if (w.e.what == kind::run) write_run(w.track, w.e, name);
      if (w.e.what == kind::end) write_end(w.track, w.e, name);
    }
  }
  // Tasks that never ended (still running when the runtime went, their frames destroyed): their
  // tracks end with the trace.
  event last{0, now_ns(), 0, 0, 0, kind::end};
  for (auto& [task, name] : names_) {
    last.task = task;
    write_end(foreign_track, last, name);
  }
  dropped_ += queue_dropped_;
  std::fprintf(file_, "\n],\"displayTimeUnit\":\"ns\",\"otherData\":{\"dropped_events\":\"%zu\"}}\n", dropped_);
  std::fclose(file_);
}

std::unique_ptr<chunk> sink::exchange(std::unique_ptr<chunk> full) {
  std::unique_ptr<chunk> fresh;
  {
    std::lock_guard g(lock_);
    if (full != nullptr && !full->events.empty()) {
      if (full_.size() < max_queued) {
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
  ready_.notify_one();
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
  }
  ready_.notify_one();
}

void sink::write_loop() {
  std::unique_lock g(lock_);
  for (;;) {
    ready_.wait(g, [&] { return closing_ || !full_.empty(); });
    if (full_.empty()) return;  // closing, and nothing left
    std::unique_ptr<chunk> c = std::move(full_.front());
    full_.pop_front();
    g.unlock();
    write_chunk(*c);
    c->events.clear();
    c->names.clear();
    c->events.reserve(recorder::chunk_events);  // a foreign chunk may be small
    g.lock();
    if (spare_.size() < 16) spare_.push_back(std::move(c));
  }
}

void sink::write_chunk(const chunk& c) {
  if (written_ + closing_room >= max_bytes_) {  // full already: count, do not format
    dropped_ += c.events.size();
    return;
  }
  for (const event& e : c.events) {
    if (e.what == kind::spawn) {
      std::string name(std::string_view(c.names).substr(e.name_at, e.name_len));
      if (name.empty()) name = fallback_name(e.task);
      std::string json = "{\"ph\":\"b\",\"cat\":\"task\",\"id\":" + std::to_string(e.task) + ",\"name\":";
      append_json_string(json, name);
      json += ",\"ts\":";
      append_us(json, e.at_ns);
      json += ",\"pid\":1,\"tid\":" + std::to_string(c.worker) + ",\"args\":{\"task\":" + std::to_string(e.task) +
              ",\"parent\":" + std::to_string(e.more) + "}}";
      write_event(json);
      auto held = unnamed_.find(e.task);
      if (held != unnamed_.end()) {
        for (const waiting& w : held->second) {
          if (w.e.what == kind::run) write_run(w.track, w.e, name);
          if (w.e.what == kind::end) write_end(w.track, w.e, name);
        }
        bool ended = std::any_of(held->second.begin(), held->second.end(),
                                 [](const waiting& w) { return w.e.what == kind::end; });
        held_ -= held->second.size();
        unnamed_.erase(held);
        if (ended) continue;  // its end was among them: no later event needs the name
      }
      if (names_.size() < max_held) names_.emplace(e.task, std::move(name));  // else its events are held, then dropped
      continue;
    }
    if (e.what == kind::span) {  // named by its own label: needs nothing from the task's spawn
      write_span(c.worker, e, std::string_view(c.names).substr(e.name_at, e.name_len));
      continue;
    }
    auto known = names_.find(e.task);
    if (known == names_.end()) {
      if (held_ >= max_held) {
        ++dropped_;
      } else {
        unnamed_[e.task].push_back({c.worker, e});
        ++held_;
      }
      continue;
    }
    if (e.what == kind::run) {
      write_run(c.worker, e, known->second);
    } else {
      write_end(c.worker, e, known->second);
      names_.erase(known);  // a task's slices and its end are recorded in order, on its own loop
    }
  }
}

void sink::write_run(std::uint32_t track, const event& e, std::string_view name) {
  std::string json = "{\"ph\":\"X\",\"cat\":\"run\",\"name\":";
  append_json_string(json, name);
  json += ",\"ts\":";
  append_us(json, e.at_ns);
  json += ",\"dur\":";
  append_us(json, e.more - e.at_ns);
  json += ",\"pid\":1,\"tid\":" + std::to_string(track) + ",\"args\":{\"task\":" + std::to_string(e.task) + "}}";
  write_event(json);
}

void sink::write_end(std::uint32_t track, const event& e, std::string_view name) {
  std::string json = "{\"ph\":\"e\",\"cat\":\"task\",\"id\":" + std::to_string(e.task) + ",\"name\":";
  append_json_string(json, name);
  json += ",\"ts\":";
  append_us(json, e.at_ns);
  json += ",\"pid\":1,\"tid\":" + std::to_string(track) + "}";
  write_event(json);
}

void sink::write_span(std::uint32_t track, const event& e, std::string_view text) {
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

void sink::write_event(const std::string& json) {
  if (written_ + json.size() + 2 + closing_room > max_bytes_) {
    ++dropped_;
    return;
  }
  if (!first_) std::fputs(",\n", file_);
  first_ = false;
  std::fwrite(json.data(), 1, json.size(), file_);
  written_ += json.size() + 2;
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
  constexpr std::size_t room = 65535;
  if (args.size() + 1 >= room) args = {};
  std::string_view kept = label.substr(0, name_limit(label.substr(0, room - 1 - args.size())));
  event e{task, sink_.ns_at(start), sink_.ns_at(end), static_cast<std::uint32_t>(current_->names.size()),
          static_cast<std::uint16_t>(kept.size() + 1 + args.size()), kind::span};
  current_->names.append(kept);
  current_->names.push_back('\0');
  current_->names.append(args);
  append(e);
}

void recorder::hand_over() {
  current_ = sink_.exchange(std::move(current_));
  current_->worker = worker_;
}

void recorder::idle(int timeout_ms) {
  if (current_->events.empty()) return;
  // Before a sleep that may be long (or has no end), or once the chunk has waited 50 ms.
  if (timeout_ms < 0 || timeout_ms > 50 || std::chrono::steady_clock::now() - current_->started > std::chrono::milliseconds(50)) {
    hand_over();
  }
}

}  // namespace weft::detail::trace
