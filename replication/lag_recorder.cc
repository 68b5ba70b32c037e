// lag_recorder.cc: see lag_recorder.h.

#include "replication/lag_recorder.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace ultradict {
namespace replication {

namespace {
constexpr size_t kKeySize = 16;
constexpr size_t kValueSize = 100;
constexpr char kKeyPrefix[] = "key";
}  // namespace

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string LagKey(uint64_t index) {
  std::string k = absl::StrCat(kKeyPrefix, index);
  if (k.size() < kKeySize) k.resize(kKeySize, '.');
  return k;
}

bool ParseLagKey(std::string_view key, uint64_t* index) {
  const std::string_view prefix = kKeyPrefix;
  if (key.substr(0, prefix.size()) != prefix) return false;
  key.remove_prefix(prefix.size());
  const size_t digits = key.find('.');
  if (digits != std::string_view::npos &&
      key.find_first_not_of('.', digits) != std::string_view::npos) {
    return false;
  }
  const std::string_view number = key.substr(0, digits);
  if (number.empty() || number.size() > 19 ||
      number.find_first_not_of("0123456789") != std::string_view::npos) {
    return false;
  }
  uint64_t n = 0;  // At most 19 digits: no overflow.
  for (char c : number) n = n * 10 + static_cast<uint64_t>(c - '0');
  *index = n;
  return true;
}

std::string LagValue(int64_t commit_ns) {
  std::string v(kValueSize, 'v');
  std::memcpy(&v[0], &commit_ns, sizeof(commit_ns));
  return v;
}

bool ParseLagValue(std::string_view value, int64_t* commit_ns) {
  if (value.size() < sizeof(*commit_ns)) return false;
  std::memcpy(commit_ns, value.data(), sizeof(*commit_ns));
  return true;
}

LagRecorder::LagRecorder(uint64_t puts, std::function<int64_t()> now)
    : now_(now ? std::move(now) : std::function<int64_t()>(NowNs)),
      commit_ns_(puts, 0),
      visible_ns_(puts, 0),
      how_(puts, kUnseen) {}

void LagRecorder::Record(uint64_t index, int64_t commit_ns, int64_t now,
                         How how) {
  if (how_[index] != kUnseen) return;  // Seen once already.
  how_[index] = how;
  commit_ns_[index] = commit_ns;
  visible_ns_[index] = now;
  seen_++;
  if (how == kByGet) by_fallback_++;
  while (lowest_unseen_ < how_.size() && how_[lowest_unseen_] != kUnseen)
    lowest_unseen_++;
}

void LagRecorder::Put(std::string_view key, std::string_view value) {
  uint64_t index;
  int64_t commit_ns;
  if (!ParseLagKey(key, &index) || index >= how_.size() ||
      !ParseLagValue(value, &commit_ns)) {
    foreign_++;
    return;
  }
  Record(index, commit_ns, now_(), kByFeed);
}

absl::Status LagRecorder::CatchUp(DB* copy, uint64_t committed) {
  out_of_range_++;
  committed = std::min<uint64_t>(committed, how_.size());
  std::string value;
  for (uint64_t i = lowest_unseen_; i < committed; i++) {
    if (how_[i] != kUnseen) continue;
    absl::Status s = copy->Get(LagKey(i), &value);
    if (absl::IsNotFound(s)) continue;  // Not applied yet: the feed has it.
    if (!s.ok()) return s;
    int64_t commit_ns;
    if (!ParseLagValue(value, &commit_ns)) {
      return absl::DataLossError(
          absl::StrCat("put ", i, ": a value of ", value.size(), " bytes"));
    }
    Record(i, commit_ns, now_(), kByGet);
  }
  return absl::OkStatus();
}

std::vector<int64_t> LagRecorder::SortedLags() const {
  std::vector<int64_t> lags;
  lags.reserve(seen_);
  for (size_t i = 0; i < how_.size(); i++) {
    if (how_[i] != kUnseen) lags.push_back(visible_ns_[i] - commit_ns_[i]);
  }
  std::sort(lags.begin(), lags.end());
  return lags;
}

double PercentileMs(const std::vector<int64_t>& sorted, double q) {
  if (sorted.empty()) return 0.0;
  const size_t i =
      std::min(sorted.size() - 1, static_cast<size_t>(q * sorted.size()));
  return sorted[i] / 1e6;
}

}  // namespace replication
}  // namespace ultradict
