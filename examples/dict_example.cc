// dict_example.cc: two processes share a typed counter and a nested
// dictionary (include/ultradict/dict.h).
//
//   bazel run //examples:dict_example
//
// The parent creates "dict_example_<pid>", forks a child, and both add 1 to
// "hits" 1000 times with `d["hits"] += 1` (atomic across processes). Each
// also records itself in the nested dictionary "workers". The parent prints
// the result and destroys everything (the nested dictionary included).

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "ultradict/dict.h"

using Counters = ultradict::Dict<std::string, int64_t>;
using Workers = ultradict::Dict<int64_t, std::string>;

// Work of one process: its own handles, opened by name.
static int Work(const std::string& name, const char* who) {
  absl::StatusOr<Counters> d = Counters::Open(ultradict::Options(), name);
  if (!d.ok()) return 1;
  for (int i = 0; i < 1000; i++) {
    auto hits = (*d)["hits"];
    hits += 1;
    if (!hits.status().ok()) return 1;
  }
  absl::StatusOr<Workers> workers = d->Nested<int64_t, std::string>("workers");
  if (!workers.ok()) return 1;
  return workers->Set(getpid(), who).ok() ? 0 : 1;
}

int main() {
  const std::string name = "dict_example_" + std::to_string(getpid());
  absl::StatusOr<Counters> d = Counters::Open(ultradict::Options(), name);
  if (!d.ok()) {
    std::fprintf(stderr, "open: %s\n", d.status().ToString().c_str());
    return 1;
  }
  const pid_t child = fork();
  if (child == 0) _exit(Work(name, "child"));
  int rc = Work(name, "parent");
  int status = 0;
  waitpid(child, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) rc = 1;

  int64_t hits = (*d)["hits"];
  std::printf("hits = %lld (expected 2000)\n", static_cast<long long>(hits));
  absl::StatusOr<Workers> workers = d->Nested<int64_t, std::string>("workers");
  if (workers.ok()) {
    std::printf("nested dictionary %s:\n", workers->name().c_str());
    for (const auto& [pid, who] : workers->Items()) {
      std::printf("  %lld -> %s\n", static_cast<long long>(pid), who.c_str());
    }
  }
  absl::Status s = d->Destroy();  // Removes "workers" as well.
  if (!s.ok()) std::fprintf(stderr, "destroy: %s\n", s.ToString().c_str());
  return rc == 0 && hits == 2000 && s.ok() ? 0 : 1;
}
