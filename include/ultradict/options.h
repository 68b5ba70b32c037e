// options.h: how a dictionary is opened (Options) and what it is made of.
//
// Every field has a default that suits most users; set only what you need:
//
//   ultradict::Options options;
//   options.lifetime = ultradict::Lifetime::kUntilLastClose;
//   auto db = ultradict::DB::Open(options, "sessions");

#ifndef ULTRADICT_INCLUDE_OPTIONS_H_
#define ULTRADICT_INCLUDE_OPTIONS_H_

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace ultradict {

// Whether values are stored zstd-compressed. Chosen when the dictionary is
// created; later opens use the dictionary's choice, whatever they ask.
enum class Compression : uint8_t {
  kNoCompression = 0,
  kZstdCompression = 1,
};

// When the dictionary's shared segments are removed.
enum class Lifetime : uint8_t {
  // Until DestroyDB() (or `ultradict destroy`). Survives every process.
  kPersistent = 0,
  // Removed when the last attached process closes it. Processes that died
  // without closing are detected by the kernel (their lock is released), so
  // a crashed member never keeps the dictionary alive.
  kUntilLastClose = 1,
  // Removed when the process that created it closes it (the original
  // UltraDict's auto_unlink=True). Others keep their mapping until they close.
  kUntilCreatorCloses = 2,
};

// Limits (documented in the README's Caveats).
inline constexpr size_t kMaxNameLength = 64;
inline constexpr size_t kMaxKeySize = 64 * 1024;                 // 64 KiB
inline constexpr size_t kMaxValueSize = size_t{256} * 1024 * 1024;  // 256 MiB

struct Options {
  // Create the dictionary when it does not exist. Default: true.
  bool create_if_missing = true;

  // Fail with AlreadyExists when the dictionary exists. Default: false.
  bool error_if_exists = false;

  // Initial capacity in bytes of the update log (the original's
  // buffer_size). When the log is full the dictionary is compacted into a new
  // snapshot and a new log; the log grows with the data so that the cost of
  // compaction per write stays flat. Only used at creation. Default: 4 MiB.
  size_t log_size = 4 * 1024 * 1024;

  // Compression of values. Only used at creation.
  Compression compression = Compression::kNoCompression;

  // Values of at least this many bytes are compressed when compression is
  // on; smaller ones are stored as they are. Default: 256.
  size_t compression_threshold = 256;

  // When the segments are removed. Only used at creation: later opens take
  // the dictionary's own lifetime.
  Lifetime lifetime = Lifetime::kPersistent;

  // Permission bits of the segments. Default 0600: only this user. Use 0660
  // to share a dictionary with a group (then also set allow_other_owner in
  // the other users' processes).
  mode_t mode = 0600;

  // Open segments owned by another user. Default false: a segment owned by
  // someone else is refused with PermissionDenied (squatting protection).
  bool allow_other_owner = false;

  // Directory of the segment files. Empty: $ULTRADICT_DIR when set, else
  // /dev/shm. A directory on a disk gives a dictionary that survives a
  // reboot after DB::Sync().
  std::string directory;

  // How long a writer waits for the cross-process write lock before giving
  // up with DeadlineExceeded. Default: 60 s. INT64_MAX waits without limit
  // (on Windows 49.7 days, its longest wait).
  int64_t write_lock_timeout_ms = 60 * 1000;

  // Compact in a thread of this process once the log holds a third of
  // max(log_size, snapshot size) (the log has room for more: writers go on
  // meanwhile), so that writers rarely wait for a compaction (they compact
  // themselves only when the log fills up first). The same thread reserves
  // log pages ahead of the writer and, on Linux 6.1+, turns each snapshot
  // this handle publishes into 2 MiB pages (README, "Huge pages"); without
  // it a handle's snapshots stay in 4 KiB pages. Default: true.
  bool background_compaction = true;

  // Open as an observer: the handle reads and writes like any other but is
  // not a member, so it neither keeps a kUntilLastClose dictionary alive nor
  // removes it when it closes (for tools such as `ultradict stat`).
  // Default: false.
  bool observer = false;

  // Write to a dictionary marked as a replica (DB::SetReplicaOf, set by
  // `ultradict follow`) anyway. Without it, writes to a replica fail with
  // FailedPrecondition naming the primary (the follower's next apply then
  // notices the local write and loads the primary's checkpoint again).
  // Default: false.
  bool write_replica = false;
};

}  // namespace ultradict

#endif  // ULTRADICT_INCLUDE_OPTIONS_H_
