// db_commands.cc: the subcommands that open the dictionary through the
// public API (ultradict/db.h): put, get, del, ls, list, stat, watch,
// compact, destroy. Only `put` creates a dictionary; the others open with
// create_if_missing = false and say so when it does not exist.

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "db/control_block.h"
#include "db/filename.h"
#include "port/port.h"
#include "tools/command.h"
#include "tools/report.h"
#include "tools/stats.h"
#include "ultradict/db.h"
#include "util/strings.h"

namespace ultradict {
namespace tool {

namespace {

// How often watch looks at its stop flag and whether the dictionary still
// exists.
constexpr int64_t kWatchPollMs = 200;

// Opens the dictionary `name` of args.dir. With `create`, a missing one is
// created with the default options; otherwise it is NotFound. The handle is
// an observer (Options::observer).
absl::StatusOr<std::unique_ptr<DB>> OpenDictionary(const Args& args,
                                                   const std::string& name,
                                                   bool create) {
  absl::Status s = ValidateName(name);
  if (!s.ok()) return s;
  Options options;
  options.directory = args.dir;
  options.create_if_missing = create;
  // A tool invocation never keeps a dictionary alive, and removes one only
  // as any open does: a non-persistent one whose members all died.
  options.observer = true;
  absl::StatusOr<std::unique_ptr<DB>> db = DB::Open(options, name);
  std::error_code ec;
  if (create && absl::IsNotFound(db.status()) &&
      !std::filesystem::exists(args.dir, ec) && !ec) {
    // Not "not found": put creates the dictionary, not its directory.
    return absl::FailedPreconditionError(
        absl::StrCat("segment directory ", args.dir, " does not exist"));
  }
  if (absl::IsNotFound(db.status())) {
    return absl::NotFoundError(absl::StrCat(
        "dictionary \"", name, "\" does not exist in ", args.dir));
  }
  return db;
}

// The pids of a "1,2,3" members property without this process's own.
std::vector<std::string> OtherPids(const std::string& members) {
  std::vector<std::string> pids;
  const std::string self = absl::StrCat(port::CurrentPid());
  for (absl::string_view pid : absl::StrSplit(members, ',', absl::SkipEmpty())) {
    if (pid != self) pids.emplace_back(pid);
  }
  return pids;
}

bool ReadAll(std::FILE* in, std::string* out) {
  char buf[64 * 1024];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), in)) > 0) out->append(buf, n);
  return !std::ferror(in);
}

int Finish(const Args& args) {
  if (!FlushOut()) return Fail(args, kExitError, "error writing to stdout");
  return kExitOk;
}

// --- put / get / del ------------------------------------------------------

int RunPut(const Args& args) {
  std::string value = args.positional[2];
  if (value == "-") {
    value.clear();
    if (!ReadAll(stdin, &value)) {
      return Fail(args, kExitError, "error reading the value from stdin");
    }
  }
  auto db = OpenDictionary(args, args.positional[0], /*create=*/true);
  if (!db.ok()) return Fail(args, db.status());
  absl::Status s = (*db)->Put(args.positional[1], value);
  if (!s.ok()) return Fail(args, s);
  return kExitOk;
}

int RunGet(const Args& args) {
  auto db = OpenDictionary(args, args.positional[0], /*create=*/false);
  if (!db.ok()) return Fail(args, db.status());
  std::string value;
  absl::Status s = (*db)->Get(args.positional[1], &value);
  if (absl::IsNotFound(s)) {
    return Fail(
        args, kExitNotFound,
        absl::StrCat("key not found: ", EscapeBytes(args.positional[1])));
  }
  if (!s.ok()) return Fail(args, s);
  if (!WriteOut(value)) return Fail(args, kExitError, "error writing to stdout");
  return Finish(args);
}

int RunDel(const Args& args) {
  auto db = OpenDictionary(args, args.positional[0], /*create=*/false);
  if (!db.ok()) return Fail(args, db.status());
  bool existed = false;
  absl::Status s = (*db)->Update(
      args.positional[1],
      [&existed](const std::string_view* current) -> std::optional<std::string> {
        existed = current != nullptr;
        return std::nullopt;
      });
  if (!s.ok()) return Fail(args, s);
  if (!existed) {
    return Fail(args, kExitNotFound,
                absl::StrCat("key not found: ", EscapeBytes(args.positional[1])));
  }
  return kExitOk;
}

// --- ls -------------------------------------------------------------------

int RunLs(const Args& args) {
  uint64_t limit = UINT64_MAX;
  if (args.Has("limit")) {
    absl::Status s = args.UintFlag("limit", &limit);
    if (!s.ok()) return Fail(args, s);
  }
  const std::string prefix = args.Flag("prefix");
  const bool values = args.Has("values");
  auto db = OpenDictionary(args, args.positional[0], /*create=*/false);
  if (!db.ok()) return Fail(args, db.status());
  std::unique_ptr<Iterator> it = (*db)->NewIterator();
  uint64_t n = 0;
  for (it->Seek(prefix); it->Valid() && n < limit; it->Next(), n++) {
    if (!absl::StartsWith(AsAbsl(it->key()), prefix)) break;
    std::string line = EscapeBytes(it->key());
    if (values) absl::StrAppend(&line, " ", EscapeBytes(it->value()));
    line.push_back('\n');
    if (!WriteOut(line)) return Fail(args, kExitError, "error writing to stdout");
  }
  if (!it->status().ok()) {
    return Fail(args, ExitCodeFor(it->status()),
                absl::StrCat("listing stopped early: ", it->status().message()));
  }
  return Finish(args);
}

// --- list -----------------------------------------------------------------

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.resize(width, ' ');
  return s;
}

int RunList(const Args& args) {
  Options options;
  options.directory = args.dir;
  absl::StatusOr<std::vector<std::string>> names = ListDBs(options);
  if (!names.ok()) return Fail(args, names.status());
  std::vector<std::vector<std::string>> rows = {
      {"NAME", "GENERATION", "ENTRIES", "BYTES", "PIDS", "LIFETIME"}};
  int code = kExitOk;
  std::vector<std::string> errors;
  for (const std::string& name : *names) {
    auto db = OpenDictionary(args, name, /*create=*/false);
    if (!db.ok()) {
      if (absl::IsNotFound(db.status())) continue;  // Destroyed meanwhile.
      rows.push_back({name, "?", "?", "?", "?",
                      absl::StrCat("error: ", db.status().message())});
      code = std::max(code, ExitCodeFor(db.status()) == kExitDamage
                                ? int{kExitDamage}
                                : int{kExitError});
      errors.push_back(absl::StrCat(name, ": ", db.status().message()));
      continue;
    }
    std::string gen, entries, bytes, members, lifetime;
    (*db)->GetProperty("ultradict.generation", &gen);
    (*db)->GetProperty("ultradict.num-entries", &entries);
    (*db)->GetProperty("ultradict.approximate-memory-usage", &bytes);
    (*db)->GetProperty("ultradict.members", &members);
    (*db)->GetProperty("ultradict.lifetime", &lifetime);
    std::string pids = absl::StrJoin(OtherPids(members), ",");
    rows.push_back({name, gen, entries, bytes, pids.empty() ? "-" : pids,
                    lifetime});
  }
  std::vector<size_t> widths(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); i++) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); i++) {
      absl::StrAppend(&line, i + 1 < row.size() ? Pad(row[i], widths[i] + 2)
                                                : row[i]);
    }
    line.push_back('\n');
    if (!WriteOut(line)) return Fail(args, kExitError, "error writing to stdout");
  }
  if (!FlushOut()) return Fail(args, kExitError, "error writing to stdout");
  if (!errors.empty()) {
    return Fail(args, code,
                absl::StrCat(errors.size(), " dictionaries could not be opened: ",
                             absl::StrJoin(errors, "; ")));
  }
  return kExitOk;
}

// --- stat -----------------------------------------------------------------

int RunStat(const Args& args) {
  auto db = OpenDictionary(args, args.positional[0], /*create=*/false);
  if (!db.ok()) return Fail(args, db.status());
  std::string property, members;
  if (!(*db)->GetProperty("ultradict.stats", &property) ||
      !(*db)->GetProperty("ultradict.members", &members)) {
    return Fail(args, kExitError, "the engine has no ultradict.stats property");
  }
  // The engine counts this process among the members: leave it out.
  std::vector<uint64_t> pids;
  for (const std::string& pid : OtherPids(members)) {
    uint64_t n;
    if (absl::SimpleAtoi(pid, &n)) pids.push_back(n);
  }
  absl::StatusOr<Stats> stats = ParseStats(property, pids);
  if (!stats.ok()) return Fail(args, stats.status());
  const std::string out =
      args.Has("json") ? JsonLine(stats->Json()) : stats->Text();
  if (!WriteOut(out)) return Fail(args, kExitError, "error writing to stdout");
  return Finish(args);
}

// --- watch ----------------------------------------------------------------

std::atomic<bool> g_stop{false};
extern "C" void OnStopSignal(int) { g_stop.store(true); }

// Prints each update as a line, flushed at once, up to `limit` updates.
class LinePrinter : public WriteBatch::Handler {
 public:
  explicit LinePrinter(uint64_t limit) : limit_(limit) {}
  void Put(std::string_view key, std::string_view value) override {
    Print(absl::StrCat("put ", EscapeBytes(key), " ", EscapeBytes(value), "\n"));
  }
  void Delete(std::string_view key) override {
    Print(absl::StrCat("del ", EscapeBytes(key), "\n"));
  }
  bool done() const { return limit_ != 0 && printed_ >= limit_; }
  bool failed() const { return failed_; }

 private:
  void Print(const std::string& line) {
    if (done()) return;
    printed_++;
    if (!WriteOut(line) || !FlushOut()) failed_ = true;
  }
  uint64_t limit_;
  uint64_t printed_ = 0;
  bool failed_ = false;
};

int RunWatch(const Args& args) {
  uint64_t count = 0;
  if (args.Has("count")) {
    absl::Status s = args.UintFlag("count", &count);
    if (!s.ok()) return Fail(args, s);
    if (count == 0) return Fail(args, kExitUsage, "--count must be at least 1");
  }
  const std::string name = args.positional[0];
  auto opened = OpenDictionary(args, name, /*create=*/false);
  if (!opened.ok()) return Fail(args, opened.status());
  DB& db = **opened;
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);

  uint64_t seq = db.LatestSequence();
  if (args.Has("from-start")) {
    // The iterator may already hold some updates after `seq`; they are
    // printed again below (replaying them gives the same contents).
    std::unique_ptr<Iterator> it = db.NewIterator();
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string line = absl::StrCat("put ", EscapeBytes(it->key()), " ",
                                            EscapeBytes(it->value()), "\n");
      if (!WriteOut(line)) return Fail(args, kExitError, "error writing to stdout");
    }
    if (!it->status().ok()) return Fail(args, it->status());
    if (!FlushOut()) return Fail(args, kExitError, "error writing to stdout");
  }
  std::fprintf(stderr, "ultradict: watch: watching \"%s\" from sequence %llu\n",
               name.c_str(), static_cast<unsigned long long>(seq));
  std::fflush(stderr);

  const std::string control_path = ControlFileName(args.dir, name);
  LinePrinter printer(count);
  while (!g_stop.load() && !printer.done()) {
    const uint64_t latest = db.WaitForChange(seq, kWatchPollMs);
    if (latest <= seq) {
      std::error_code ec;
      if (!std::filesystem::exists(control_path, ec) && !ec) {
        return Fail(args, kExitNotFound,
                    absl::StrCat("dictionary \"", name, "\" was destroyed"));
      }
      continue;
    }
    absl::StatusOr<uint64_t> reached = db.ReadChanges(seq, &printer);
    if (absl::IsOutOfRange(reached.status())) {
      const uint64_t now = db.LatestSequence();
      const std::string line = absl::StrCat(
          "# updates ", seq + 1, "..", now,
          " were folded into a snapshot; continuing from sequence ", now, "\n");
      if (!WriteOut(line) || !FlushOut()) {
        return Fail(args, kExitError, "error writing to stdout");
      }
      seq = now;
      continue;
    }
    if (!reached.ok()) return Fail(args, reached.status());
    if (printer.failed()) return Fail(args, kExitError, "error writing to stdout");
    seq = *reached;
  }
  return kExitOk;
}

// --- compact / destroy ----------------------------------------------------

int RunCompact(const Args& args) {
  auto db = OpenDictionary(args, args.positional[0], /*create=*/false);
  if (!db.ok()) return Fail(args, db.status());
  absl::Status s = (*db)->CompactLog();
  if (!s.ok()) return Fail(args, s);
  return kExitOk;
}

int RunDestroy(const Args& args) {
  const std::string& name = args.positional[0];
  absl::Status s = ValidateName(name);
  if (!s.ok()) return Fail(args, s);
  Options options;
  options.directory = args.dir;
  s = DestroyDB(name, options);
  if (absl::IsNotFound(s) && args.Has("force")) return kExitOk;
  if (!s.ok()) return Fail(args, s);
  return kExitOk;
}

}  // namespace

std::vector<Command> DbCommands() {
  return {
      {"put",
       "Store KEY -> VALUE (creates the dictionary when missing)",
       "put NAME KEY VALUE",
       "VALUE \"-\" reads the value from stdin (binary-safe). A new "
       "dictionary\n"
       "gets the default options (persistent, no compression). Use -- before\n"
       "a KEY or VALUE that starts with '-'. The segment directory must\n"
       "exist (exit 4 otherwise).\n",
       {},
       3,
       3,
       RunPut},
      {"get",
       "Print the value of KEY",
       "get NAME KEY",
       "Prints the raw value bytes to stdout, without a newline. A missing\n"
       "key or dictionary exits 1 with a message on stderr.\n",
       {},
       2,
       2,
       RunGet},
      {"del",
       "Delete KEY",
       "del NAME KEY",
       "Exits 1 when the key (or the dictionary) does not exist.\n",
       {},
       2,
       2,
       RunDel},
      {"ls",
       "List keys in key order",
       "ls NAME [--prefix P] [--limit N] [--values]",
       "One key per line in bytewise order, escaped: C hex escapes for\n"
       "non-printable bytes, quotes and backslashes, \\x20 for a space. With\n"
       "--values each line is \"KEY VALUE\", both escaped.\n",
       {{"prefix", true, "only keys that start with this prefix"},
        {"limit", true, "print at most N keys"},
        {"values", false, "print the values too"}},
       1,
       1,
       RunLs},
      {"list",
       "List the dictionaries of the segment directory",
       "list",
       "One line per dictionary: name, generation, entries, bytes of its\n"
       "segments, pids of the attached processes (other than this one) and\n"
       "lifetime. Each is opened without creating anything (note: closing a\n"
       "until-last-close dictionary that nobody else holds removes it, as\n"
       "any last close does).\n",
       {},
       0,
       0,
       RunList},
      {"stat",
       "Print the counters of a dictionary",
       "stat NAME [--json]",
       "The \"ultradict.stats\" property: generation, entries, sequence, log\n"
       "and snapshot bytes, compactions, puts, deletes, recoveries, members\n"
       "(other than this process), lifetime, compression.\n",
       {{"json", false, "print one JSON object"}},
       1,
       1,
       RunStat},
      {"watch",
       "Follow updates live",
       "watch NAME [--from-start] [--count N]",
       "Prints each update committed by any process as \"put KEY VALUE\" or\n"
       "\"del KEY\" (escaped as in ls), one flushed line each, until SIGINT "
       "or\n"
       "SIGTERM (exit 0). When updates were folded into a snapshot before\n"
       "they could be read, prints a line starting with \"# \" saying so and\n"
       "continues from the latest sequence. A line on stderr says when\n"
       "watching started. Exits 1 when the dictionary is destroyed.\n",
       {{"from-start", false, "first print the current contents as put lines"},
        {"count", true, "exit after N updates (not counting --from-start)"}},
       1,
       1,
       RunWatch},
      {"compact",
       "Fold the update log into a new snapshot now",
       "compact NAME",
       "Takes the write lock like any writer.\n",
       {},
       1,
       1,
       RunCompact},
      {"destroy",
       "Remove every segment of a dictionary",
       "destroy NAME [--force]",
       "Processes that have it open keep their mapping until they close.\n"
       "A name that does not exist exits 1 unless --force is given. A file\n"
       "that cannot be removed exits 4, naming each file left and why.\n",
       {{"force", false, "succeed when the dictionary does not exist"}},
       1,
       1,
       RunDestroy},
  };
}

}  // namespace tool
}  // namespace ultradict
