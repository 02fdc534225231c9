#include "model/explorer.hpp"

#include <bit>
#include <charconv>

namespace weft::model::engine {

std::string format_schedule(const std::vector<std::uint8_t>& choices) {
  if (choices.empty()) return "-";  // a run that failed before its first scheduling point
  std::string out;
  for (std::size_t i = 0; i < choices.size();) {
    std::size_t n = 1;
    while (i + n < choices.size() && choices[i + n] == choices[i]) ++n;
    if (!out.empty()) out += '.';
    if (n >= 3) {
      out += std::to_string(choices[i]) + '*' + std::to_string(n);
    } else {
      for (std::size_t k = 0; k < n; ++k) out += (k > 0 ? "." : "") + std::to_string(choices[i]);
    }
    i += n;
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> parse_schedule(std::string_view text) {
  std::vector<std::uint8_t> out;
  if (text == "-") return out;
  while (!text.empty()) {
    std::string_view item = text.substr(0, text.find('.'));
    text.remove_prefix(item.size() < text.size() ? item.size() + 1 : item.size());
    unsigned thread = 0, count = 1;
    auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), thread);
    if (ec != std::errc{} || thread >= 32) return std::nullopt;
    if (end != item.data() + item.size()) {
      if (*end != '*') return std::nullopt;
      auto [end2, ec2] = std::from_chars(end + 1, item.data() + item.size(), count);
      if (ec2 != std::errc{} || end2 != item.data() + item.size()) return std::nullopt;
    }
    out.insert(out.end(), count, static_cast<std::uint8_t>(thread));
  }
  return out;
}

explorer::explorer(unsigned bound, std::vector<std::uint8_t> replay, bool replaying)
    : bound_(bound), replay_(std::move(replay)), replaying_(replaying) {}

int explorer::choose(std::uint32_t enabled, int current, bool current_enabled) {
  if (depth_ < path_.size()) {
    // Re-running the prefix advance() kept: the model must offer the same choices as before.
    decision& d = path_[depth_];
    if (d.enabled != enabled || d.current != current || d.current_enabled != current_enabled) {
      error_ = "the model is not deterministic: step " + std::to_string(depth_) +
               " offers other threads than in an earlier run";
      return -1;
    }
    ++depth_;
    return d.chosen;
  }
  int choice;
  if (depth_ < replay_.size()) {
    choice = replay_[depth_];
    if ((enabled >> choice & 1U) == 0) {
      error_ = "the replayed schedule does not fit: at step " + std::to_string(depth_) + " thread " +
               std::to_string(choice) + " cannot run";
      return -1;
    }
  } else {
    choice = current_enabled ? current : std::countr_zero(enabled);
  }
  std::uint16_t before = path_.empty() ? 0 : path_.back().preemptions;
  decision d{enabled, 1U << choice, static_cast<std::int8_t>(current), static_cast<std::int8_t>(choice),
             current_enabled, before};
  if (d.preempts(choice)) ++d.preemptions;
  path_.push_back(d);
  ++depth_;
  return choice;
}

bool explorer::advance() {
  if (replaying_) return false;
  path_.resize(depth_);  // a failed run may have stopped short of what an earlier run recorded
  while (!path_.empty()) {
    decision& d = path_.back();
    std::uint16_t before = static_cast<std::uint16_t>(d.preemptions - (d.preempts(d.chosen) ? 1 : 0));
    for (std::uint32_t left = d.enabled & ~d.tried; left != 0; left &= left - 1) {
      int choice = std::countr_zero(left);
      d.tried |= 1U << choice;
      unsigned cost = before + (d.preempts(choice) ? 1U : 0U);
      if (cost <= bound_) {
        d.chosen = static_cast<std::int8_t>(choice);
        d.preemptions = static_cast<std::uint16_t>(cost);
        depth_ = 0;
        return true;
      }
    }
    path_.pop_back();
  }
  return false;
}

std::string explorer::schedule() const {
  std::vector<std::uint8_t> choices;
  choices.reserve(depth_);
  for (std::size_t i = 0; i < depth_; ++i) choices.push_back(static_cast<std::uint8_t>(path_[i].chosen));
  return format_schedule(choices);
}

}  // namespace weft::model::engine
