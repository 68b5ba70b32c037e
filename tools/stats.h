// stats.h: what `ultradict stat` prints: the "ultradict.stats" property of
// a dictionary as text (the property's lines) and as one JSON object whose
// keys are fixed here, not derived from the property's labels.
//
//   absl::StatusOr<Stats> stats = ParseStats(property, other_pids);
//   std::string text = stats->Text();
//   std::string json = JsonLine(stats->Json());   // report.h
//
// Every line of the property must be known here, and every known line must
// be present: a line added to (or renamed in) the engine's StatsString
// fails ParseStats (and stats_test) until it gets its JSON key, so that the
// keys stay an interface (doc/cli.md, "stat").

#ifndef ULTRADICT_TOOLS_STATS_H_
#define ULTRADICT_TOOLS_STATS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace ultradict {
namespace tool {

class Stats {
 public:
  // The property's lines in order ("label: value"); "members" reads
  // "N (pids a,b)" with the tool's own process left out.
  std::string Text() const;
  // {"name": ..., "generation": N, ..., "members": N, "member_pids": [...],
  //  ...}: see kStatsKeys in stats.cc and doc/cli.md.
  nlohmann::ordered_json Json() const { return json_; }

 private:
  friend absl::StatusOr<Stats> ParseStats(std::string_view property,
                                          const std::vector<uint64_t>& pids);
  std::vector<std::pair<std::string, std::string>> lines_;
  nlohmann::ordered_json json_;
};

// Parses the "ultradict.stats" property; `pids` are the members to report
// (the tool's own left out). Internal when a line is unknown, missing, or
// its value does not have the expected form.
absl::StatusOr<Stats> ParseStats(std::string_view property,
                                 const std::vector<uint64_t>& pids);

}  // namespace tool
}  // namespace ultradict

#endif  // ULTRADICT_TOOLS_STATS_H_
