// demo.cc: two independent processes share one dictionary.
//
// The writer (this process) creates a dictionary under a fresh name and
// starts a second program, the watcher (this binary again, exec'd with
// --watch NAME). The watcher follows the dictionary live and prints every
// update as it sees it, while the writer stores a few values. At the end
// both close; the dictionary was created with Lifetime::kUntilLastClose, so
// its shared memory is gone when the last one closes. Run it with
// `tools/dev.sh demo` or `bazel run -c opt //examples:demo`.

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "ultradict/db.h"

namespace {

using ultradict::DB;

int Fail(const char* what, const absl::Status& s) {
  std::fprintf(stderr, "demo: %s: %s\n", what, s.ToString().c_str());
  return 1;
}

// Prints each update of the dictionary until the key "done" appears.
class Printer : public ultradict::WriteBatch::Handler {
 public:
  void Put(std::string_view key, std::string_view value) override {
    std::printf("  [watcher pid %d] sees %.*s = %.*s\n", getpid(),
                static_cast<int>(key.size()), key.data(),
                static_cast<int>(value.size()), value.data());
    if (key == "done") done = true;
  }
  void Delete(std::string_view key) override {
    std::printf("  [watcher pid %d] sees %.*s deleted\n", getpid(),
                static_cast<int>(key.size()), key.data());
  }
  bool done = false;
};

int Watch(const char* name) {
  ultradict::Options options;
  options.create_if_missing = false;
  auto db = DB::Open(options, name);
  if (!db.ok()) return Fail("watcher open", db.status());
  Printer printer;
  uint64_t seen = 0;  // Print from the first update on.
  while (!printer.done) {
    absl::StatusOr<uint64_t> next = (*db)->ReadChanges(seen, &printer);
    if (absl::IsOutOfRange(next.status())) {  // Compacted meanwhile.
      seen = (*db)->LatestSequence();
      continue;
    }
    if (!next.ok()) return Fail("watcher read", next.status());
    seen = *next;
    std::fflush(stdout);
    if (!printer.done) (*db)->WaitForChange(seen, 5000);
  }
  std::printf("  [watcher pid %d] done, closing\n", getpid());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--watch") == 0) return Watch(argv[2]);

  ultradict::Options options;
  options.lifetime = ultradict::Lifetime::kUntilLastClose;
  auto db = DB::Open(options, "");  // Empty name: a fresh random one.
  if (!db.ok()) return Fail("open", db.status());
  const std::string name = (*db)->name();
  std::printf("[writer pid %d] created dictionary \"%s\"\n", getpid(),
              name.c_str());
  std::fflush(stdout);

  const pid_t child = fork();
  if (child == 0) {
    execl("/proc/self/exe", argv[0], "--watch", name.c_str(),
          static_cast<char*>(nullptr));
    std::perror("exec");
    _exit(127);
  }
  const char* fruits[] = {"apple", "banana", "cherry", "damson", "elder"};
  for (int i = 0; i < 5; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    const std::string value = std::to_string((i + 1) * 10);
    std::printf("[writer pid %d] put %s = %s\n", getpid(), fruits[i],
                value.c_str());
    std::fflush(stdout);
    absl::Status s = (*db)->Put(fruits[i], value);
    if (!s.ok()) return Fail("put", s);
  }
  ultradict::WriteBatch batch;  // Atomic: seen all at once.
  batch.Delete("banana");
  batch.Put("done", "yes");
  absl::Status s = (*db)->Write(batch);
  if (!s.ok()) return Fail("write", s);

  int status = 0;
  waitpid(child, &status, 0);
  std::string stats;
  (*db)->GetProperty("ultradict.stats", &stats);
  std::printf("[writer pid %d] watcher exited with %d; stats:\n%s", getpid(),
              WEXITSTATUS(status), stats.c_str());
  db->reset();  // Last close: the segments are removed.
  auto again = ultradict::ListDBs();
  bool left = false;
  if (again.ok()) {
    for (const std::string& n : *again) left |= n == name;
  }
  std::printf("[writer pid %d] closed; dictionary %s\n", getpid(),
              left ? "STILL PRESENT (bug)" : "removed, nothing left behind");
  return (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !left) ? 0 : 1;
}
