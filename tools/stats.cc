// stats.cc: see stats.h.

#include "tools/stats.h"

#include <iterator>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "util/strings.h"

namespace ultradict {
namespace tool {

namespace {

enum class Type {
  kString,   // "text" -> "key": "text"
  kNumber,   // "123" -> "key": 123
  kIndex,    // "N keys, M bytes" -> "key_keys": N, "key_bytes": M
  kMembers,  // (replaced) -> "key": count, "member_pids": [pid, ...]
  kReplica,  // "none" -> "key": "", "text" -> "key": "text"
};

struct StatsKey {
  const char* label;  // As the engine prints it (DBImpl::StatsString).
  const char* key;    // The JSON key: frozen, documented in doc/cli.md.
  Type type;
};

// In the property's order (the JSON follows the property's).
constexpr StatsKey kStatsKeys[] = {
    {"name", "name", Type::kString},
    {"directory", "directory", Type::kString},
    {"generation", "generation", Type::kNumber},
    {"entries", "entries", Type::kNumber},
    {"sequence", "sequence", Type::kNumber},
    {"log bytes used", "log_bytes_used", Type::kNumber},
    {"log bytes capacity", "log_bytes_capacity", Type::kNumber},
    {"snapshot bytes", "snapshot_bytes", Type::kNumber},
    {"snapshot entries", "snapshot_entries", Type::kNumber},
    {"log index (shared)", "log_index", Type::kIndex},
    {"compactions", "compactions", Type::kNumber},
    {"puts", "puts", Type::kNumber},
    {"deletes", "deletes", Type::kNumber},
    {"recoveries", "recoveries", Type::kNumber},
    {"members", "members", Type::kMembers},
    {"lifetime", "lifetime", Type::kString},
    {"compression", "compression", Type::kString},
    {"replica of", "replica_of", Type::kReplica},
};

const StatsKey* FindKey(absl::string_view label) {
  for (const StatsKey& k : kStatsKeys) {
    if (label == k.label) return &k;
  }
  return nullptr;
}

absl::Status Malformed(const StatsKey& k, absl::string_view value) {
  return absl::InternalError(
      absl::StrCat("ultradict.stats: unexpected value \"", value, "\" for \"",
                   k.label, "\""));
}

// Adds the JSON of one line; `value` may be rewritten for the text form.
absl::Status AddLine(const StatsKey& k, const std::vector<uint64_t>& pids,
                     std::string* value, nlohmann::ordered_json* json) {
  switch (k.type) {
    case Type::kString:
      (*json)[k.key] = *value;
      return absl::OkStatus();
    case Type::kReplica:
      (*json)[k.key] = *value == "none" ? std::string() : *value;
      return absl::OkStatus();
    case Type::kNumber: {
      uint64_t n;
      if (!absl::SimpleAtoi(*value, &n)) return Malformed(k, *value);
      (*json)[k.key] = n;
      return absl::OkStatus();
    }
    case Type::kIndex: {
      // "N keys, M bytes"
      std::pair<absl::string_view, absl::string_view> parts =
          absl::StrSplit(*value, absl::MaxSplits(", ", 1));
      uint64_t keys, bytes;
      if (!absl::ConsumeSuffix(&parts.first, " keys") ||
          !absl::ConsumeSuffix(&parts.second, " bytes") ||
          !absl::SimpleAtoi(parts.first, &keys) ||
          !absl::SimpleAtoi(parts.second, &bytes)) {
        return Malformed(k, *value);
      }
      (*json)[absl::StrCat(k.key, "_keys")] = keys;
      (*json)[absl::StrCat(k.key, "_bytes")] = bytes;
      return absl::OkStatus();
    }
    case Type::kMembers:
      *value =
          absl::StrCat(pids.size(), " (pids ", absl::StrJoin(pids, ","), ")");
      (*json)[k.key] = pids.size();
      (*json)["member_pids"] = pids;
      return absl::OkStatus();
  }
  return Malformed(k, *value);
}

}  // namespace

std::string Stats::Text() const {
  std::string out;
  for (const auto& [label, value] : lines_) {
    absl::StrAppend(&out, label, ": ", value, "\n");
  }
  return out;
}

absl::StatusOr<Stats> ParseStats(std::string_view property,
                                 const std::vector<uint64_t>& pids) {
  Stats stats;
  stats.json_ = nlohmann::ordered_json::object();
  bool seen[std::size(kStatsKeys)] = {};
  for (absl::string_view line :
       absl::StrSplit(AsAbsl(property), '\n', absl::SkipEmpty())) {
    const size_t colon = line.find(": ");
    const absl::string_view label = line.substr(0, colon);
    const StatsKey* k =
        colon == absl::string_view::npos ? nullptr : FindKey(label);
    if (k == nullptr) {
      return absl::InternalError(absl::StrCat(
          "ultradict.stats: unknown line \"", line, "\" (tools/stats.cc)"));
    }
    if (seen[k - kStatsKeys]) {
      return absl::InternalError(
          absl::StrCat("ultradict.stats: \"", label, "\" repeated"));
    }
    seen[k - kStatsKeys] = true;
    std::string value(line.substr(colon + 2));
    absl::Status s = AddLine(*k, pids, &value, &stats.json_);
    if (!s.ok()) return s;
    stats.lines_.emplace_back(std::string(label), std::move(value));
  }
  for (size_t i = 0; i < std::size(kStatsKeys); i++) {
    if (!seen[i]) {
      return absl::InternalError(absl::StrCat("ultradict.stats: no \"",
                                              kStatsKeys[i].label, "\" line"));
    }
  }
  return stats;
}

}  // namespace tool
}  // namespace ultradict
