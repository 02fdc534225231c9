// `weft trace view`: draws trace files as one HTML page (tools/weft/timeline.hpp).
#include <cstdio>
#include <exception>
#include <fstream>

#include "commands.hpp"
#include "timeline.hpp"

namespace weft::tool {

int trace_view(const trace_view_config& cfg) {
  std::vector<timeline::trace> traces;
  try {
    for (const auto& f : cfg.files) traces.push_back(timeline::read(f));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "weft trace view: %s\n", e.what());
    return 1;
  }
  timeline::page page = timeline::view_of(traces, cfg.title.empty() ? "weft timeline" : cfg.title);
  page.max_task_rows = cfg.max_task_rows;
  std::ofstream out(cfg.output, std::ios::binary | std::ios::trunc);
  out << timeline::render(page);
  out.close();
  if (!out) {
    std::fprintf(stderr, "weft trace view: cannot write %s\n", cfg.output.c_str());
    return 1;
  }
  std::size_t runs = 0;
  for (const auto& t : traces) runs += t.runs.size();
  std::printf("weft trace view: %zu trace%s, %zu runs drawn: %s\n", traces.size(), traces.size() == 1 ? "" : "s", runs,
              cfg.output.c_str());
  return 0;
}

}  // namespace weft::tool
