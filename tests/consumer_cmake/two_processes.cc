// two_processes.cc: an installed UltraDict used from outside the repository
// (tests/consumer_cmake via find_package, tests/consumer_pkgconfig via
// pkg-config, both built in CI against a fresh install prefix and the .deb).
//
// The parent creates a dictionary with a unique name and writes a key; a
// second process (this program exec'd again: "two_processes child NAME")
// opens the same dictionary by name, checks the key, and answers through a
// typed Dict counter (include/ultradict/dict.h). The parent checks the answer,
// destroys the dictionary and prints "two_processes: OK" (exit 0).

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "ultradict/db.h"
#include "ultradict/dict.h"
#include "ultradict/version.h"

namespace {

using Counters = ultradict::Dict<std::string, int64_t>;

int Fail(const char* what, const absl::Status& s) {
  std::fprintf(stderr, "two_processes: %s: %s\n", what, s.ToString().c_str());
  return 1;
}

// The second process: opens the dictionary by name, reads, answers.
int Child(const std::string& name) {
  absl::StatusOr<std::unique_ptr<ultradict::DB>> db =
      ultradict::DB::Open(ultradict::Options(), name);
  if (!db.ok()) return Fail("child: open", db.status());
  std::string value;
  absl::Status s = (*db)->Get("greeting", &value);
  if (!s.ok()) return Fail("child: get", s);
  if (value != "hello from the parent") return 1;
  absl::StatusOr<Counters> counters =
      Counters::Open(ultradict::Options(), name + "_n");
  if (!counters.ok()) return Fail("child: open counters", counters.status());
  auto seen = (*counters)["seen"];
  seen += 41;
  return seen.status().ok() ? 0 : Fail("child: add", seen.status());
}

int Parent(const char* self) {
  const std::string name = "consumer_" + std::to_string(getpid());
  absl::StatusOr<std::unique_ptr<ultradict::DB>> db =
      ultradict::DB::Open(ultradict::Options(), name);
  if (!db.ok()) return Fail("open", db.status());
  absl::StatusOr<Counters> counters =
      Counters::Open(ultradict::Options(), name + "_n");
  if (!counters.ok()) return Fail("open counters", counters.status());
  absl::Status s = (*db)->Put("greeting", "hello from the parent");
  if (!s.ok()) return Fail("put", s);
  auto seen = (*counters)["seen"];
  seen += 1;

  const pid_t pid = fork();
  if (pid == 0) {
    execl(self, self, "child", name.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  const bool child_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  const int64_t total = (*counters)["seen"];

  db->reset();
  absl::Status destroyed = ultradict::DestroyDB(name);
  absl::Status destroyed_n = counters->Destroy();
  if (!destroyed.ok()) return Fail("destroy", destroyed);
  if (!destroyed_n.ok()) return Fail("destroy counters", destroyed_n);
  if (!child_ok || total != 42) {
    std::fprintf(stderr,
                 "two_processes: child %s, counter %lld (expected 42)\n",
                 child_ok ? "ok" : "failed", static_cast<long long>(total));
    return 1;
  }
  std::printf(
      "two_processes: OK (UltraDict %s, counter %lld from 2 processes)\n",
      ULTRADICT_VERSION_STRING, static_cast<long long>(total));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::string(argv[1]) == "child") return Child(argv[2]);
  return Parent(argv[0]);
}
