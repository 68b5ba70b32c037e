// bench_util.cc: see bench_util.h.

#include "benchmarks/bench_util.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

#include "absl/strings/str_cat.h"

namespace ultradict {
namespace bench {

void MakeKey(uint64_t k, size_t key_size, std::string* key) {
  key->assign(key_size, '0');
  for (size_t i = key_size; i > 0 && k != 0; --i) {
    (*key)[i - 1] = static_cast<char>('0' + k % 10);
    k /= 10;
  }
}

std::string MakeValue(size_t value_size, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string value(value_size, ' ');
  for (char& c : value) c = static_cast<char>(' ' + rng() % 95);
  return value;
}

Percentiles ComputePercentiles(std::vector<uint64_t>* samples) {
  Percentiles p;
  if (samples->empty()) return p;
  std::sort(samples->begin(), samples->end());
  size_t n = samples->size();
  auto at = [&](double q) {
    size_t i = static_cast<size_t>(q * static_cast<double>(n));
    return (*samples)[std::min(i, n - 1)];
  };
  p.p50 = at(0.50);
  p.p99 = at(0.99);
  p.p999 = at(0.999);
  p.max = samples->back();
  return p;
}

void FinishResult(Result* r) {
  if (r->ops == 0 || r->seconds <= 0) return;
  r->ns_per_op = r->seconds * 1e9 / static_cast<double>(r->ops);
  r->ops_per_s = static_cast<double>(r->ops) / r->seconds;
  r->mb_per_s = static_cast<double>(r->bytes) / 1048576.0 / r->seconds;
}

bool LineReader::ReadLine(std::string* line) {
  for (;;) {
    size_t nl = buf_.find('\n');
    if (nl != std::string::npos) {
      line->assign(buf_, 0, nl);
      buf_.erase(0, nl + 1);
      return true;
    }
    char chunk[4096];
    ssize_t n = read(fd_, chunk, sizeof(chunk));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;  // EAGAIN: Spin().
    if (n <= 0) return false;
    buf_.append(chunk, static_cast<size_t>(n));
  }
}

void LineReader::Spin() {
  const int flags = fcntl(fd_, F_GETFL);
  if (flags >= 0) fcntl(fd_, F_SETFL, flags | O_NONBLOCK);
}

absl::Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::InternalError(absl::StrCat("write: ", strerror(errno)));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) {
        size_t start = line.find_first_not_of(' ', colon + 1);
        if (start != std::string::npos) return line.substr(start);
      }
    }
  }
  return "unknown";
}

int NumCpus() {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace bench
}  // namespace ultradict
