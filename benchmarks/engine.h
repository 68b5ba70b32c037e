// engine.h: the key-value engines db_bench measures, behind one interface.
//
//   ultradict  the dictionary under test (shared memory, many processes)
//   hashmap    an in-process absl::flat_hash_map<std::string, std::string>,
//              the floor for single-process costs
//   lmdb       LMDB in a fresh directory under /dev/shm (MDB_NOSYNC |
//              MDB_WRITEMAP | MDB_NOMETASYNC), one write txn per Put
//
// An Engine made by CreateEngine owns fresh storage and removes it when
// destroyed (also on SIGINT/SIGTERM, see InstallCleanupHandlers). One made by
// AttachEngine (in a helper process) opens storage another process owns and
// leaves it alone.
//
// Thread safety: Put/Delete/PutBatch from one thread at a time; each thread
// reads through its own Reader. The hash map takes a reader-writer lock only
// after SetConcurrent(true).

#ifndef ULTRADICT_BENCHMARKS_ENGINE_H_
#define ULTRADICT_BENCHMARKS_ENGINE_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace ultradict {
namespace bench {

enum class EngineKind { kUltraDict, kHashMap, kLmdb };

std::string EngineName(EngineKind kind);
// Parses "ultradict", "hashmap" or "lmdb".
bool ParseEngineKind(std::string_view text, EngineKind* kind);

struct EngineConfig {
  // Prefix of dictionary and directory names (unique per run).
  std::string prefix = "dbbench";
  // UltraDict Options::log_size; 0 keeps the default.
  size_t log_size = 0;
  // UltraDict zstd compression of values.
  bool compression = false;
  // LMDB map size in bytes.
  size_t lmdb_map_size = size_t{1} << 30;
};

class Engine {
 public:
  // Reads of one thread (LMDB: one read-only transaction, reset after each
  // Get and renewed before the next).
  class Reader {
   public:
    virtual ~Reader() = default;
    // NotFound when absent.
    virtual absl::Status Get(std::string_view key, std::string* value) = 0;
  };

  virtual ~Engine() = default;

  virtual EngineKind kind() const = 0;
  // What AttachEngine needs to open this storage from another process.
  virtual std::string location() const = 0;
  // A human-readable summary of the options in use.
  // Heap memory this process spends on the store beyond the data, for a
  // result's note ("" when there is nothing to say).
  virtual std::string MemoryNote() { return ""; }
  // What a scan made now starts from, for readseq's note ("" when there
  // is nothing to say).
  virtual std::string ScanNote() { return ""; }
  virtual std::string Describe() const = 0;

  virtual absl::Status Put(std::string_view key, std::string_view value) = 0;
  virtual absl::Status Delete(std::string_view key) = 0;
  // Applies all pairs atomically (UltraDict WriteBatch, one LMDB txn).
  virtual absl::Status PutBatch(
      const std::vector<std::pair<std::string, std::string>>& batch) = 0;
  virtual std::unique_ptr<Reader> NewReader() = 0;
  // Visits every entry (in key order except for the hash map).
  virtual absl::Status Scan(uint64_t* entries, uint64_t* bytes) = 0;
  // UltraDict: DB::CompactLog. Unimplemented elsewhere.
  virtual absl::Status Compact() {
    return absl::UnimplementedError("no compaction");
  }
  // Hash map: guard the map with a reader-writer lock from now on.
  virtual void SetConcurrent(bool on) {}
};

// A new, empty engine with storage of its own (instance distinguishes
// several engines of one run).
absl::StatusOr<std::unique_ptr<Engine>> CreateEngine(
    EngineKind kind, const EngineConfig& config, int instance);

// Opens the storage at `location` made by another process's CreateEngine.
absl::StatusOr<std::unique_ptr<Engine>> AttachEngine(
    EngineKind kind, const EngineConfig& config, const std::string& location);

// On SIGINT, SIGTERM and SIGHUP: kill the registered helper processes,
// remove the storage of every live CreateEngine engine, exit 130.
void InstallCleanupHandlers();
void RegisterChild(pid_t pid);
void UnregisterChild(pid_t pid);

}  // namespace bench
}  // namespace ultradict

#endif  // ULTRADICT_BENCHMARKS_ENGINE_H_
