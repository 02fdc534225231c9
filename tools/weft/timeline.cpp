// The timeline page. Reading: one pass over a trace's events with nlohmann::json, pairing a task's
// begin and end, its spans, and each wake arrow's two ends. Drawing: SVG written as text, one <rect>
// per run slice, sized on a scale shared by the panels of a row, with a <title> in each for hovering.
#include "timeline.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <stdexcept>
#include <unordered_map>

namespace weft::tool::timeline {

namespace {

using json = nlohmann::json;

std::int64_t ns_of(const json& e, const char* key, std::int64_t origin) {
  auto it = e.find(key);
  if (it == e.end() || !it->is_number()) return origin;
  return origin + std::llround(it->get<double>() * 1000.0);  // the format's microseconds
}

std::string string_of(const json& e, const char* key) {
  auto it = e.find(key);
  if (it == e.end()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

/// A JSON object's members as "key: value" lines, for a tooltip.
std::string args_text(const json& args, const char* skip = nullptr) {
  std::string out;
  if (!args.is_object()) return out;
  for (auto it = args.begin(); it != args.end(); ++it) {
    if (skip != nullptr && it.key() == skip) continue;
    if (!out.empty()) out += ", ";
    out += it.key() + ": " + (it->is_string() ? it->get<std::string>() : it->dump());
  }
  return out;
}

long long number_in(const json& other, const char* key) {
  auto it = other.find(key);
  if (it == other.end()) return 0;
  if (it->is_number()) return it->get<long long>();
  if (it->is_string()) return std::strtoll(it->get<std::string>().c_str(), nullptr, 10);
  return 0;
}

/// Nesting depth of each task's spans: sorted by start (longest first), a span is as deep as the
/// spans still open around it.
void nest(std::vector<trace::span>& spans) {
  std::sort(spans.begin(), spans.end(), [](const trace::span& a, const trace::span& b) {
    return a.start != b.start ? a.start < b.start : a.end > b.end;
  });
  std::vector<std::int64_t> open;
  for (auto& s : spans) {
    while (!open.empty() && open.back() <= s.start) open.pop_back();
    s.depth = static_cast<int>(open.size());
    open.push_back(s.end);
  }
}

}  // namespace

trace read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open it");
  json doc = json::parse(in, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("traceEvents") || !doc["traceEvents"].is_array()) {
    throw std::runtime_error(path + ": not a trace (trace-event JSON with a traceEvents array)");
  }
  trace t;
  t.path = path;
  t.label = path.substr(path.rfind('/') + 1);
  if (auto other = doc.find("otherData"); other != doc.end() && other->is_object()) {
    t.origin_ns = number_in(*other, "clock_origin_ns");
    t.process_id = static_cast<long>(number_in(*other, "process_id"));
    t.dropped_events = static_cast<std::size_t>(number_in(*other, "dropped_events"));
  }
  const std::int64_t origin = t.origin_ns;

  std::map<long long, std::string> track_names;
  std::map<long long, std::uint32_t> lane_of;  // track id -> index in t.lanes
  auto lane = [&](const json& e) {
    long long tid = e.value("tid", 0LL);
    auto [it, fresh] = lane_of.try_emplace(tid, static_cast<std::uint32_t>(lane_of.size()));
    (void)fresh;
    return it->second;
  };
  struct open_entry {
    std::string name, args;
    std::int64_t start;
    bool is_task;
  };
  std::unordered_map<std::uint64_t, std::vector<open_entry>> open;  // by task id: its begins not yet ended
  std::unordered_map<std::uint64_t, std::size_t> task_at;           // task id -> index in t.tasks
  std::unordered_map<std::string, trace::wake> arrows;              // by flow id: their starts
  std::unordered_map<std::string, std::int64_t> arrow_ends;         // and their ends

  for (const json& e : doc["traceEvents"]) {
    if (!e.is_object()) continue;
    std::string ph = string_of(e, "ph");
    std::string cat = string_of(e, "cat");
    const json& args = e.contains("args") ? e["args"] : json::object();
    if (ph == "M") {
      if (string_of(e, "name") == "thread_name") track_names[e.value("tid", 0LL)] = string_of(args, "name");
    } else if (ph == "X") {
      std::int64_t start = ns_of(e, "ts", origin);
      t.runs.push_back({start, start + std::llround(e.value("dur", 0.0) * 1000.0), lane(e),
                        args.value("task", std::uint64_t{0}), string_of(e, "name"), string_of(args, "woken_by"),
                        string_of(args, "suspended_on")});
    } else if (ph == "b" && cat == "task") {
      std::uint64_t id = e.value("id", std::uint64_t{0});
      bool is_task = args.contains("parent");
      open[id].push_back({string_of(e, "name"), args_text(args, "task"), ns_of(e, "ts", origin), is_task});
      if (is_task && task_at.find(id) == task_at.end()) {
        task_at[id] = t.tasks.size();
        trace::task k;
        k.id = id;
        k.parent = args.value("parent", std::uint64_t{0});
        k.name = string_of(e, "name");
        k.start = k.end = ns_of(e, "ts", origin);
        t.tasks.push_back(std::move(k));
      }
    } else if (ph == "e" && cat == "task") {
      std::uint64_t id = e.value("id", std::uint64_t{0});
      auto& stack = open[id];
      std::string name = string_of(e, "name");
      auto match = std::find_if(stack.rbegin(), stack.rend(), [&](const open_entry& o) { return o.name == name; });
      if (match == stack.rend()) continue;
      open_entry o = *match;
      stack.erase(std::next(match).base());
      auto k = task_at.find(id);
      if (k == task_at.end()) continue;
      std::int64_t end = ns_of(e, "ts", origin);
      if (o.is_task) {
        t.tasks[k->second].end = end;
      } else {
        t.tasks[k->second].spans.push_back({o.start, end, o.name, o.args, 0});
      }
    } else if (ph == "i" || ph == "I" || ph == "n") {
      t.marks.push_back({ns_of(e, "ts", origin), lane(e), string_of(e, "name"), args_text(args)});
    } else if (ph == "s" && cat == "wake") {
      arrows[string_of(e, "id")] = {ns_of(e, "ts", origin), 0, args.value("waker", std::uint64_t{0}),
                                    args.value("woken", std::uint64_t{0})};
    } else if (ph == "f" && cat == "wake") {
      arrow_ends[string_of(e, "id")] = ns_of(e, "ts", origin);
    }
  }
  // An arrow's two ends may come in either order: each is written by the worker it happened on.
  for (auto& [id, w] : arrows) {
    auto end = arrow_ends.find(id);
    if (end == arrow_ends.end()) continue;
    w.to = end->second;
    t.wakes.push_back(w);
  }
  std::sort(t.wakes.begin(), t.wakes.end(), [](const trace::wake& a, const trace::wake& b) { return a.from < b.from; });
  t.lanes.resize(lane_of.size());
  for (auto& [tid, index] : lane_of) {
    auto name = track_names.find(tid);
    t.lanes[index] = name != track_names.end() ? name->second : "track " + std::to_string(tid);
  }
  for (auto& k : t.tasks) nest(k.spans);
  std::stable_sort(t.tasks.begin(), t.tasks.end(), [](const trace::task& a, const trace::task& b) { return a.start < b.start; });

  bool any = false;
  auto extend = [&](std::int64_t a, std::int64_t b) {
    t.start = any ? std::min(t.start, a) : a;
    t.end = any ? std::max(t.end, b) : b;
    any = true;
  };
  for (auto& r : t.runs) extend(r.start, r.end);
  for (auto& k : t.tasks) extend(k.start, k.end);
  for (auto& m : t.marks) extend(m.at, m.at);
  if (!any) t.start = t.end = origin;
  return t;
}

// ------------------------------------------------------------------------------------------ drawing

namespace {

constexpr double single_width = 1000;  // px of time axis for a row of one panel
constexpr double multi_width = 190;    // at most, for each of a row of several
constexpr double label_single = 200;   // px of lane labels at the left of a panel
constexpr double label_multi = 90;
constexpr double axis_h = 22;
constexpr double lane_h = 16;
constexpr double task_h = 12;
constexpr double gap = 3;

void escape_to(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
}

std::string esc(std::string_view s) {
  std::string out;
  escape_to(out, s);
  return out;
}

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

/// "12.3 ms", "840 µs", "1.62 s".
std::string duration_text(double ns) {
  if (ns >= 1e9) return fmt("%.3g s", ns / 1e9);
  if (ns >= 1e6) return fmt("%.3g ms", ns / 1e6);
  if (ns >= 1e3) return fmt("%.3g µs", ns / 1e3);
  return fmt("%.0f ns", ns);
}

/// `text` cut to `n` characters' room with an ellipsis, never inside a UTF-8 sequence.
std::string cut(const std::string& text, std::size_t n) {
  if (text.size() <= n || n < 2) return text;
  std::size_t at = n - 1;
  while (at > 0 && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80) --at;
  return text.substr(0, at) + "…";
}

std::string color_of(std::uint64_t task) {
  return "hsl(" + std::to_string((task * 47) % 360) + ",62%,52%)";
}

/// Draws one panel; `scale` is px per ns, the row's.
class panel_writer {
 public:
  panel_writer(const panel& p, double scale, double label_w, std::size_t max_task_rows)
      : p_(p), scale_(scale), label_w_(label_w), max_rows_(max_task_rows) {}

  std::string write() {
    double plot_w = std::max(1.0, static_cast<double>(p_.end - p_.start) * scale_);
    y_ = axis_h;
    if (p_.traces.empty()) {
      lane_label(p_.plain, p_.plain);
      body_ += "<g class=\"lane plain\"><rect class=\"lane-bg\" x=\"" + num(label_w_) + "\" y=\"" + num(y_) +
               "\" width=\"" + num(plot_w) + "\" height=\"" + num(lane_h) + "\"/><rect class=\"plain-bar\" x=\"" +
               num(label_w_) + "\" y=\"" + num(y_ + 2) + "\" width=\"" + num(plot_w) + "\" height=\"" +
               num(lane_h - 4) + "\"><title>" + esc(p_.plain) + ", " +
               esc(duration_text(static_cast<double>(p_.end - p_.start))) + "</title></rect></g>\n";
      y_ += lane_h + gap;
    }
    for (const trace* t : p_.traces) write_trace(*t);
    double height = y_ + gap;
    std::string out = "<figure class=\"panel\"><figcaption>" + esc(p_.title) + (p_.title.empty() ? "" : " ") + "<span class=\"dim\">" +
                      esc(duration_text(static_cast<double>(p_.end - p_.start))) + "</span></figcaption>\n";
    out += "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" + num(label_w_ + plot_w + 8) +
           "\" height=\"" + num(height) + "\">\n";
    out += axis(height);
    out += body_;
    out += "<g class=\"wakes\">" + wakes_ + "</g>\n</svg></figure>\n";
    return out;
  }

 private:
  static std::string num(double v) { return fmt("%.2f", v); }
  double x(std::int64_t t) const { return label_w_ + static_cast<double>(std::clamp(t, p_.start, p_.end) - p_.start) * scale_; }
  bool inside(std::int64_t a, std::int64_t b) const { return b >= p_.start && a <= p_.end; }

  void lane_label(const std::string& text, const std::string& full) {
    std::string shown = cut(text, static_cast<std::size_t>(label_w_ / 6.2));
    body_ += "<text class=\"label\" x=\"2\" y=\"" + num(y_ + 11) + "\">" + esc(shown) + "<title>" + esc(full) +
             "</title></text>";
  }

  std::string axis(double height) const {
    double span_ns = static_cast<double>(p_.end - p_.start);
    // A step of 1, 2 or 5 times a power of ten, at least 70 px apart.
    double step = 1;
    for (double decade = 1; step * scale_ < 70 && decade < 1e15; decade *= 10) {
      for (double m : {1.0, 2.0, 5.0}) {
        step = m * decade;
        if (step * scale_ >= 70) break;
      }
    }
    std::string out = "<g class=\"axis\">";
    double plot_end = label_w_ + span_ns * scale_;
    for (double at = 0; at <= span_ns + 1; at += step) {
      double px = label_w_ + at * scale_;
      out += "<line x1=\"" + num(px) + "\" x2=\"" + num(px) + "\" y1=\"14\" y2=\"" + num(height) + "\"/>";
      if (px + 40 <= plot_end + 8) {  // a label that would run past the panel's edge is left out
        out += "<text x=\"" + num(px + 2) + "\" y=\"11\">" + esc(at == 0 ? "0" : duration_text(at)) + "</text>";
      }
    }
    return out + "</g>\n";
  }

  void write_trace(const trace& t) {
    // With task rows, the trace's name heads its rows; without (a compact panel), it prefixes each lane's.
    if (p_.task_rows) {
      body_ += "<text class=\"trace-label\" x=\"2\" y=\"" + num(y_ + 10) + "\">" + esc(t.label) + "</text>\n";
      y_ += 14;
    }
    // Worker lanes: those with a run or a mark in the window.
    std::vector<std::string> lane_svg(t.lanes.size());
    std::vector<bool> used(t.lanes.size(), false);
    for (const auto& r : t.runs) {
      if (!inside(r.start, r.end)) continue;
      used[r.lane] = true;
      std::string& g = lane_svg[r.lane];
      g += "<rect class=\"run\" x=\"" + num(x(r.start)) + "\" height=\"16\" width=\"" + num(std::max(0.75, x(r.end) - x(r.start))) +
           "\" fill=\"" + color_of(r.task) + "\"><title>" + esc(r.name) + " (task " + std::to_string(r.task) + ")\nran " +
           esc(duration_text(static_cast<double>(r.end - r.start))) + " at " +
           esc(duration_text(static_cast<double>(r.start - p_.start))) +
           (r.woken_by.empty() ? std::string() : "\nwoken by " + esc(r.woken_by)) +
           (r.suspended_on.empty() ? std::string() : "\nthen waited on " + esc(r.suspended_on)) + "</title></rect>";
    }
    for (const auto& m : t.marks) {
      if (!inside(m.at, m.at)) continue;
      used[m.lane] = true;
      double mx = x(m.at);
      lane_svg[m.lane] += "<path class=\"mark\" d=\"M" + num(mx - 4) + " 0 L" + num(mx + 4) + " 0 L" + num(mx) +
                          " 6 Z\"><title>" + esc(m.name) + (m.args.empty() ? "" : "\n" + esc(m.args)) + "\nat " +
                          esc(duration_text(static_cast<double>(m.at - p_.start))) + "</title></path>";
    }
    for (std::size_t i = 0; i < t.lanes.size(); ++i) {
      if (!used[i]) continue;
      std::string compact = t.label + (t.lanes.size() > 1 ? " " + t.lanes[i] : std::string());
      lane_label(p_.task_rows ? t.lanes[i] : compact, t.label + ": " + t.lanes[i]);
      // The lane's bars are drawn at y 0 and moved down as a group: one transform instead of a y each.
      body_ += "<g class=\"lane worker\" data-lane=\"" + esc(t.lanes[i]) + "\" transform=\"translate(0," + num(y_) +
               ")\"><rect class=\"lane-bg\" x=\"" + num(label_w_) + "\" width=\"" + num(x(p_.end) - label_w_) +
               "\" height=\"" + num(lane_h) + "\"/>" + lane_svg[i] + "</g>\n";
      y_ += lane_h + gap;
    }
    if (p_.task_rows) write_task_rows(t);
  }

  void write_task_rows(const trace& t) {
    std::unordered_map<std::uint64_t, std::vector<const trace::run*>> runs_of;
    for (const auto& r : t.runs) {
      if (inside(r.start, r.end)) runs_of[r.task].push_back(&r);
    }
    std::unordered_map<std::uint64_t, double> row_y;  // task -> the middle of its row
    std::size_t drawn = 0, left_out = 0;
    for (const auto& k : t.tasks) {
      if (!inside(k.start, k.end)) continue;
      if (drawn == max_rows_) {
        ++left_out;
        continue;
      }
      ++drawn;
      int depth = 0;
      for (const auto& s : k.spans) depth = std::max(depth, s.depth + 1);
      double h = task_h + 3.0 * depth;
      lane_label(k.name, k.name + " (task " + std::to_string(k.id) + ", spawned by " +
                             (k.parent == 0 ? std::string("outside the runtime") : "task " + std::to_string(k.parent)) + ")");
      std::string g = "<g class=\"task-row\" data-task=\"" + std::to_string(k.id) + "\" transform=\"translate(0," +
                      num(y_) + ")\">";
      g += "<line class=\"life\" x1=\"" + num(x(k.start)) + "\" x2=\"" + num(x(k.end)) + "\" y1=\"" + num(h / 2) +
           "\" y2=\"" + num(h / 2) + "\"><title>" + esc(k.name) + ": alive " +
           esc(duration_text(static_cast<double>(k.end - k.start))) + "</title></line>";
      for (const auto& s : k.spans) {
        if (!inside(s.start, s.end)) continue;
        g += "<rect class=\"span\" x=\"" + num(x(s.start)) + "\" y=\"" + num(1.5 * s.depth) + "\" width=\"" +
             num(std::max(0.75, x(s.end) - x(s.start))) + "\" height=\"" + num(h - 3.0 * s.depth) + "\"><title>" +
             esc(s.name) + ": " + esc(duration_text(static_cast<double>(s.end - s.start))) +
             (s.args.empty() ? "" : "\n" + esc(s.args)) + "</title></rect>";
        double w = x(s.end) - x(s.start);
        if (s.depth == 0 && w > 60) {  // the outermost span's name, where it fits (the rest when hovered)
          std::string shown = cut(s.name, static_cast<std::size_t>((w - 6) / 5.6));
          g += "<text class=\"span-text\" x=\"" + num(x(s.start) + 3) + "\" y=\"" + num(h - 2.5) + "\">" + esc(shown) +
               "</text>";
        }
      }
      for (const trace::run* r : runs_of[k.id]) {
        g += "<rect class=\"slice\" x=\"" + num(x(r->start)) + "\" y=\"" + num(h / 2 - 3) + "\" width=\"" +
             num(std::max(0.75, x(r->end) - x(r->start))) + "\" height=\"6\" fill=\"" + color_of(k.id) + "\"><title>" +
             esc(k.name) + ": ran " + esc(duration_text(static_cast<double>(r->end - r->start))) + "</title></rect>";
      }
      body_ += g + "</g>\n";
      row_y[k.id] = y_ + h / 2;
      y_ += h + gap;
    }
    if (left_out > 0) {
      body_ += "<text class=\"more\" x=\"2\" y=\"" + num(y_ + 10) + "\">and " + std::to_string(left_out) +
               " more tasks, in the worker lanes above</text>\n";
      y_ += 14;
    }
    for (const auto& w : t.wakes) {
      auto from = row_y.find(w.waker);
      auto to = row_y.find(w.woken);
      if (from == row_y.end() || to == row_y.end() || !inside(w.from, w.to)) continue;
      wakes_ += "<path class=\"wake\" d=\"M" + num(x(w.from)) + " " + num(from->second) + " L" + num(x(w.to)) + " " +
                num(to->second) + "\" marker-end=\"url(#arrow)\"/>";
    }
  }

  const panel& p_;
  double scale_;
  double label_w_;
  std::size_t max_rows_;
  double y_ = 0;
  std::string body_;
  std::string wakes_;
};

constexpr const char* style = R"(
body{font:13px/1.4 system-ui,sans-serif;margin:16px 20px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 2px}p{margin:2px 0 8px;max-width:70em}
.row-panels{display:flex;flex-wrap:wrap;gap:14px;align-items:flex-start}
figure.panel{margin:0;border:1px solid #ddd;border-radius:4px;padding:4px 6px;background:#fcfcfc}
figcaption{font-weight:600;font-size:12px}.dim{color:#888;font-weight:400}
svg.timeline{display:block;font-size:10px}
.axis line{stroke:#eee}.axis text{fill:#999}
.label{fill:#444}.trace-label{fill:#000;font-weight:600}.more{fill:#888;font-style:italic}
.lane-bg{fill:#f1f1f4}.run:hover,.slice:hover{stroke:#000;stroke-width:1}
.plain-bar{fill:#b9b9c6}.mark{fill:#d33}
.life{stroke:#bbb;stroke-width:1}.span-text{fill:#335;font-size:8px;pointer-events:none}.span{fill:#7aa6e6;fill-opacity:.28;stroke:#7aa6e6;stroke-opacity:.6}
.wakes{display:none}.show-wakes .wakes{display:inline}.wake{stroke:#c0392b;stroke-width:.8;fill:none;opacity:.75}
.controls{position:sticky;top:0;background:#fff;padding:4px 0;z-index:1}
)";

constexpr const char* script = R"(
window.weftErrors = [];
window.addEventListener('error', function (e) {
  weftErrors.push(String(e.message));
  document.body.setAttribute('data-errors', String(weftErrors.length));
});
document.getElementById('show-wakes').addEventListener('change', function (e) {
  document.body.classList.toggle('show-wakes', e.target.checked);
});
document.body.setAttribute('data-lanes', String(document.querySelectorAll('.lane.worker').length));
document.body.setAttribute('data-ready', '1');
)";

}  // namespace

std::string render(const page& p) {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + esc(p.title) +
                     "</title><style>" + style + "</style></head><body>\n";
  html += "<h1>" + esc(p.title) + "</h1>\n";
  if (!p.text.empty()) html += "<p>" + esc(p.text) + "</p>\n";
  html += "<div class=\"controls\"><label><input type=\"checkbox\" id=\"show-wakes\"> wake arrows (from the task that "
          "woke another to the woken task's next run)</label> <span class=\"dim\">Bars are runs of a task on a worker; "
          "hover for names and times. Under each worker, a row per task: its life, its runs, its requests.</span></div>\n";
  html += "<svg width=\"0\" height=\"0\" style=\"position:absolute\"><defs><marker id=\"arrow\" viewBox=\"0 0 6 6\" "
          "refX=\"6\" refY=\"3\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0 0 L6 3 L0 6 Z\" "
          "fill=\"#c0392b\"/></marker></defs></svg>\n";
  for (const row& r : p.rows) {
    html += "<section class=\"row\">";
    if (!r.title.empty()) html += "<h2>" + esc(r.title) + "</h2>";
    if (!r.text.empty()) html += "<p>" + esc(r.text) + "</p>";
    std::int64_t longest = 1;
    for (const panel& pn : r.panels) longest = std::max(longest, pn.end - pn.start);
    bool several = r.panels.size() > 1;
    double scale = (several ? multi_width : single_width) / static_cast<double>(longest);
    html += "<div class=\"row-panels\">\n";
    for (const panel& pn : r.panels) {
      html += panel_writer(pn, scale, several ? label_multi : label_single, p.max_task_rows).write();
    }
    html += "</div></section>\n";
  }
  html += "<script>" + std::string(script) + "</script>\n</body></html>\n";
  return html;
}

page view_of(const std::vector<trace>& traces, std::string title) {
  page p;
  p.title = std::move(title);
  row r;
  panel one;
  bool any = false;
  for (const trace& t : traces) {
    one.traces.push_back(&t);
    one.start = any ? std::min(one.start, t.start) : t.start;
    one.end = any ? std::max(one.end, t.end) : t.end;
    any = true;
  }
  one.title = traces.size() == 1 ? traces.front().label : std::to_string(traces.size()) + " traces on one time axis";
  r.panels.push_back(std::move(one));
  p.rows.push_back(std::move(r));
  return p;
}

}  // namespace weft::tool::timeline
