// repl_tool.cc: the load generator and batch checker of the replication
// tests (tests/replication/*.sh).
//
//   repl_tool load DIR NAME OPS SEED [COMPACT_EVERY]
//       OPS mixed updates on DIR's NAME: 60% puts, 20% deletes, 20%
//       WriteBatches that set the four keys batch:G:0..3 to one value (and
//       a put/delete besides); every COMPACT_EVERY ops a CompactLog.
//   repl_tool paced DIR NAME RATE SECONDS
//       RATE puts/s (16 B keys, 100 B values) for SECONDS on DIR's NAME,
//       paced like replication_bench's lag run (steady_test).
//   repl_tool check-batches DIR NAME STOPFILE
//       Until STOPFILE exists (at most 300 s), repeatedly reads DIR's NAME
//       through an iterator (a point-in-time view) and fails (exit 1) when
//       the four keys of a batch group do not hold one value or are not all
//       absent.
//   repl_tool xadd PORT STREAM ID NAME SEQ MODE
//       Appends a hand-made entry to a stream (bad-input tests). MODE:
//       valid (one record: put bad:SEQ), truncated, version (format 9),
//       foreign (no "u" field), chunk (a checkpoint chunk where records
//       belong).

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "replication/entry_format.h"
#include "replication/redis_client.h"
#include "ultradict/db.h"

namespace {

using ultradict::DB;

std::unique_ptr<DB> OpenOrDie(const std::string& dir, const std::string& name,
                              bool create) {
  ultradict::Options options;
  options.directory = dir;
  options.create_if_missing = create;
  options.observer = true;
  auto db = DB::Open(options, name);
  if (!db.ok()) {
    std::fprintf(stderr, "repl_tool: open %s/%s: %s\n", dir.c_str(),
                 name.c_str(), std::string(db.status().message()).c_str());
    std::exit(2);
  }
  return std::move(*db);
}

void Check(const absl::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "repl_tool: %s: %s\n", what,
                 std::string(s.message()).c_str());
    std::exit(2);
  }
}

int Load(const std::string& dir, const std::string& name, uint64_t ops,
         uint64_t seed, uint64_t compact_every) {
  std::unique_ptr<DB> db = OpenOrDie(dir, name, true);
  std::mt19937_64 rng(seed);
  const uint64_t keys = 20000, groups = 500;
  for (uint64_t i = 0; i < ops; i++) {
    const uint64_t r = rng() % 10;
    const std::string key = absl::StrCat("key:", rng() % keys);
    if (r < 6) {
      Check(db->Put(key, absl::StrCat("v", seed, ":", i,
                                      std::string(rng() % 100, 'x'))),
            "put");
    } else if (r < 8) {
      Check(db->Delete(key), "delete");
    } else {
      ultradict::WriteBatch batch;
      const uint64_t g = rng() % groups;
      const bool erase = rng() % 8 == 0;
      for (int k = 0; k < 4; k++) {
        const std::string bkey = absl::StrCat("batch:", g, ":", k);
        if (erase) {
          batch.Delete(bkey);
        } else {
          batch.Put(bkey, absl::StrCat("b", seed, ":", i));
        }
      }
      batch.Put(key, absl::StrCat("w", i));
      Check(db->Write(batch), "write");
    }
    if (compact_every != 0 && (i + 1) % compact_every == 0) {
      Check(db->CompactLog(), "compact");
    }
  }
  std::printf("%llu\n", static_cast<unsigned long long>(db->LatestSequence()));
  return 0;
}

int Paced(const std::string& dir, const std::string& name, uint64_t rate,
          uint64_t seconds) {
  std::unique_ptr<DB> db = OpenOrDie(dir, name, true);
  const auto start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < rate * seconds; i++) {
    std::this_thread::sleep_until(
        start + std::chrono::nanoseconds(i * 1000000000ull / rate));
    std::string key = absl::StrCat("paced", i);
    key.resize(16, '.');
    Check(db->Put(key, std::string(100, 'v')), "put");
  }
  std::printf("%llu\n", static_cast<unsigned long long>(db->LatestSequence()));
  return 0;
}

int CheckBatches(const std::string& dir, const std::string& name,
                 const std::string& stop_file) {
  std::unique_ptr<DB> db;
  const time_t end = time(nullptr) + 300;
  uint64_t views = 0, groups_seen = 0;
  while (time(nullptr) < end && access(stop_file.c_str(), F_OK) != 0) {
    if (db == nullptr) {
      ultradict::Options options;
      options.directory = dir;
      options.create_if_missing = false;
      options.observer = true;
      auto opened = DB::Open(options, name);
      if (!opened.ok()) continue;  // Not created by the follower yet.
      db = std::move(*opened);
    }
    std::unique_ptr<ultradict::Iterator> it = db->NewIterator();
    std::map<std::string, std::map<int, std::string>> groups;
    for (it->Seek("batch:"); it->Valid(); it->Next()) {
      const std::string key(it->key());
      if (key.rfind("batch:", 0) != 0) break;
      const size_t colon = key.rfind(':');
      groups[key.substr(0, colon)][std::atoi(key.c_str() + colon + 1)] =
          std::string(it->value());
    }
    Check(it->status(), "iterate");
    for (const auto& [group, members] : groups) {
      bool ok = members.size() == 4;
      for (const auto& [k, v] : members)
        ok = ok && v == members.begin()->second;
      if (!ok) {
        std::fprintf(stderr,
                     "repl_tool: half a batch visible in %s:", group.c_str());
        for (const auto& [k, v] : members)
          std::fprintf(stderr, " %d=%s", k, v.c_str());
        std::fprintf(stderr, "\n");
        return 1;
      }
      groups_seen++;
    }
    views++;
    usleep(2000);  // Leave the CPU to the follower it watches.
  }
  if (false) {
  }
  std::printf("%llu views, %llu whole groups seen\n",
              static_cast<unsigned long long>(views),
              static_cast<unsigned long long>(groups_seen));
  return 0;
}

int Xadd(int port, const std::string& stream, const std::string& id,
         const std::string& name, uint64_t seq, const std::string& mode) {
  namespace r = ultradict::replication;
  r::RedisUrl url;
  url.host = "127.0.0.1";
  url.port = port;
  auto redis = r::RedisClient::Connect(url);
  Check(redis.status(), "connect");
  r::RecordsBuilder records;
  records.Put(absl::StrCat("bad:", seq), "bad");
  records.EndOfBatch();
  r::Frame frame;
  frame.name = name;
  frame.seq = seq;
  frame.count = 1;
  frame.body = records.body();
  if (mode == "chunk") frame.kind = r::FrameKind::kCheckpointChunk;
  std::string bytes = r::EncodeFrame(frame, false);
  std::string field = r::kEntryField;
  if (mode == "truncated") bytes.resize(bytes.size() - 7);
  if (mode == "version") bytes[4] = 9;
  if (mode == "foreign") field = "payload";
  auto reply = (*redis)->Command({"XADD", stream, id, field, bytes});
  Check(reply.status(), "xadd");
  return 0;
}

uint64_t Num(const char* s) {
  uint64_t v;
  if (!absl::SimpleAtoi(s, &v)) {
    std::fprintf(stderr, "repl_tool: not a number: %s\n", s);
    std::exit(2);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "load" && (argc == 6 || argc == 7)) {
    return Load(argv[2], argv[3], Num(argv[4]), Num(argv[5]),
                argc == 7 ? Num(argv[6]) : 0);
  }
  if (cmd == "paced" && argc == 6) {
    return Paced(argv[2], argv[3], Num(argv[4]), Num(argv[5]));
  }
  if (cmd == "check-batches" && argc == 5) {
    return CheckBatches(argv[2], argv[3], argv[4]);
  }
  if (cmd == "xadd" && argc == 8) {
    return Xadd(static_cast<int>(Num(argv[2])), argv[3], argv[4], argv[5],
                Num(argv[6]), argv[7]);
  }
  std::fprintf(stderr,
               "usage: repl_tool load DIR NAME OPS SEED [COMPACT_EVERY]\n"
               "       repl_tool paced DIR NAME RATE SECONDS\n"
               "       repl_tool check-batches DIR NAME STOPFILE\n"
               "       repl_tool xadd PORT STREAM ID NAME SEQ MODE\n");
  return 2;
}
