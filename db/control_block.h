// control_block.h: the control segment (ud.N) of a dictionary: identity,
// options, the robust write mutex, the head word, counters and the table of
// attached processes. Frozen layout; the grammar is in doc/design.md.
//
//   offset size  field
//        0    8  magic kControlMagic ("UDCTRL\0\1")
//        8    4  version
//       12    4  segment size
//       16    1  compression (ultradict::Compression)
//       17    1  lifetime (ultradict::Lifetime)
//       20    4  compression_threshold
//       24    8  initial log size
//       32    4  creator token (member token of the creating process)
//       40    4  header checksum: XXH3 low 32 of [0, 40) followed by
//                [384, 472) (the identity below is part of the header)
//       64   64  robust process-shared mutex (writers)
//      128    8  head: generation << 32 | committed record bytes of its log,
//                alone on its cache line (128..191): readers poll it, and
//                the counters a writer updates on every commit live on the
//                next line, so that only the head's store moves it
//      192    4  state: 1 ready, 2 destroyed
//      196    4  change word (futex; +1 per commit)
//      200    8  sequence: commits so far
//      208    8  entries      216 compactions   224 puts
//      232    8  deletes
//      240    8  recoveries: writers found dead holding the lock
//      248    4  waiters: processes blocked in WaitForChange (writers make
//                the futex wake syscall only when it is not 0)
//      256   64  robust process-shared mutex of background compaction (one
//                compactor at a time; taken before the write mutex)
//      320    8  boot id of the machine's boot that last set up the mutexes
//      384    1  identity: length of the dictionary's name (1..64)
//      385   64  the dictionary's name, zero-padded: a control segment
//                found under another name (a hard link, a copy) is refused
//      456   16  file key: random secret that names the generation files
//                (filename.h); others cannot read a 0600 segment
//      472    1  replica_of length (0: not a replica; a value above 127 is
//                damaged and read as 127)
//      473  127  replica_of: the primary a follower applies, e.g.
//                "redis://host:6379 stream ultradict:NAME" (live state,
//                written under the write lock; not in the header checksum)
//      600    4  replica_writer: member token of the handle that may write
//                a replica (the follower's; 0: none)
//     4096  8*M  members: pid fixed32, token fixed32 (0 = free)
// Bytes 136..191, 252..255, 328..383, 449..455 and 604..4095 are unused
// (zero). A control segment made before replica_of existed has zeros at
// 472..603, which read as "not a replica": same version 3. Version 4 is
// version 3's layout, for logs with a shared index; 5, 6 and 7 too, for
// the index's filter, its moved table_bits and the log's sorted runs. Version 2
// had no identity (its header checksum covered [0, 40) only); version 1 had
// state..recoveries at 136..191, the boot id at 192 and the waiters at 200.
// Liveness of member i: an OFD write lock on byte kMemberLockBase + i of the
// file, which the kernel drops when the process dies.

#ifndef ULTRADICT_DB_CONTROL_BLOCK_H_
#define ULTRADICT_DB_CONTROL_BLOCK_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "db/filename.h"
#include "ultradict/options.h"

namespace ultradict {
namespace control {

inline constexpr uint64_t kControlMagic =
    0x0100'4c52'5443'4455ULL;  // UDCTRL\0\1
// 4: logs carry their shared index (log format 3). A build of version 3
// would not maintain it, so the two must not share a dictionary.
// 5: the index has a filter of the log's keys (log format 4), which a
// build of version 4 would not set.
// 6: the index's table_bits moved (log format 5), which a build of
// version 5 would read at its old place.
// 7: logs carry sorted runs after their index (log format 6), which a
// build of version 6 would not read.
inline constexpr uint32_t kVersion = 7;
inline constexpr size_t kHeaderChecksumOffset = 40;
inline constexpr size_t kIdentityOffset = 384;
inline constexpr size_t kFileKeyOffset = 456;
inline constexpr size_t kIdentityEnd = 472;
inline constexpr size_t kReplicaOfOffset = 472;
inline constexpr size_t kMaxReplicaOf = 127;
inline constexpr size_t kReplicaWriterOffset = 600;
inline constexpr size_t kMutexOffset = 64;
inline constexpr size_t kHeadOffset = 128;
inline constexpr size_t kStateOffset = 192;
inline constexpr size_t kCompactionMutexOffset = 256;
inline constexpr size_t kMembersOffset = 4096;
inline constexpr uint32_t kMaxMembers = 4096;
inline constexpr size_t kSize = kMembersOffset + 8 * kMaxMembers;
inline constexpr uint64_t kMemberLockBase = uint64_t{1} << 20;
// OFD lock byte taken while adopting a control segment after a reboot.
inline constexpr uint64_t kAdoptLockByte = kMemberLockBase - 1;
// OFD lock byte held by whoever locks every member slot at once to prove
// that no member is alive (MemberProbe): one such prober at a time, so
// that another's range lock never reads as a live member.
inline constexpr uint64_t kProbeLockByte = kMemberLockBase - 2;

inline constexpr uint32_t kStateReady = 1;
inline constexpr uint32_t kStateDestroyed = 2;

inline uint64_t MakeHead(uint32_t gen, uint32_t offset) {
  return (uint64_t{gen} << 32) | offset;
}
inline uint32_t HeadGeneration(uint64_t head) {
  return static_cast<uint32_t>(head >> 32);
}
inline uint32_t HeadOffset(uint64_t head) {
  return static_cast<uint32_t>(head);
}

// A view of a mapped control segment.
class Block {
 public:
  explicit Block(char* base) : base_(base) {}

  // Writes the header of a new control segment of the dictionary `name`
  // (mutex initialized apart).
  void InitHeader(const Options& options, uint32_t creator_token,
                  std::string_view name, const FileKey& key);

  // Checks magic, version, size and header checksum (DataLoss, or
  // FailedPrecondition for another format version), then that the segment
  // is the one of `dictionary` (FailedPrecondition naming the dictionary
  // it is: a hard link or a copy under another name); an empty
  // `dictionary` skips that check. `path` names the segment in messages.
  static absl::Status Validate(const char* base, size_t size,
                               std::string_view path,
                               std::string_view dictionary);

  Compression compression() const {
    return static_cast<Compression>(base_[16]);
  }
  Lifetime lifetime() const { return static_cast<Lifetime>(base_[17]); }
  uint32_t compression_threshold() const;
  uint64_t initial_log_size() const;
  uint32_t creator_token() const;
  // The identity (a validated header only).
  std::string_view name() const;
  FileKey file_key() const;

  void* mutex() const { return base_ + kMutexOffset; }
  void* compaction_mutex() const { return base_ + kCompactionMutexOffset; }
  std::atomic<uint64_t>& head() const { return At64(kHeadOffset); }
  std::atomic<uint32_t>& state() const { return At32(kStateOffset); }
  std::atomic<uint32_t>& change() const { return At32(196); }
  std::atomic<uint64_t>& sequence() const { return At64(200); }
  std::atomic<uint64_t>& entries() const { return At64(208); }
  std::atomic<uint64_t>& compactions() const { return At64(216); }
  std::atomic<uint64_t>& puts() const { return At64(224); }
  std::atomic<uint64_t>& deletes() const { return At64(232); }
  std::atomic<uint64_t>& recoveries() const { return At64(240); }
  std::atomic<uint32_t>& waiters() const { return At32(248); }
  std::atomic<uint64_t>& boot_id() const { return At64(320); }

  // The primary this dictionary follows, empty when it is not a replica
  // (see DB::SetReplicaOf). Bounds-checked: a damaged length (above
  // kMaxReplicaOf) is read as kMaxReplicaOf, never past the field, so a
  // damaged mark still refuses writes.
  // Read under the write lock to be exact; without it a read racing with
  // SetReplicaOf may see a mix of old and new bytes (fine for display).
  std::string replica_of() const;
  // Whether replica_of is set (its length byte is not 0): what every commit
  // checks first, without building the string.
  bool is_replica() const {
    return __atomic_load_n(base_ + kReplicaOfOffset, __ATOMIC_ACQUIRE) != 0;
  }
  // Writes replica_of (at most kMaxReplicaOf bytes: the caller checks) and
  // replica_writer. Under the write lock.
  void SetReplicaOf(std::string_view primary, uint32_t writer_token) const;
  std::atomic<uint32_t>& replica_writer() const {
    return At32(kReplicaWriterOffset);
  }

  std::atomic<uint32_t>& member_pid(uint32_t i) const {
    return At32(kMembersOffset + 8 * i);
  }
  std::atomic<uint32_t>& member_token(uint32_t i) const {
    return At32(kMembersOffset + 8 * i + 4);
  }

  char* base() const { return base_; }

 private:
  std::atomic<uint64_t>& At64(size_t offset) const {
    return *reinterpret_cast<std::atomic<uint64_t>*>(base_ + offset);
  }
  std::atomic<uint32_t>& At32(size_t offset) const {
    return *reinterpret_cast<std::atomic<uint32_t>*>(base_ + offset);
  }
  char* base_;
};

// A random, non-zero member token.
uint32_t NewToken();
// A new random file key (from the kernel's random source).
FileKey NewFileKey();

// Claims a free member slot of the control segment open as `fd` for this
// process: takes the slot's liveness lock, records pid and a fresh token.
// ResourceExhausted when all kMaxMembers slots are held by live processes.
absl::Status ClaimMember(int fd, const Block& block, int32_t pid,
                         uint32_t* slot, uint32_t* token);
void ReleaseMember(int fd, const Block& block, uint32_t slot);

// A control segment that outlived a reboot (a dictionary on a disk) holds a
// mutex and member table of processes that no longer exist: the first
// process of the new boot re-initializes them (under the adopt lock).
absl::Status AdoptAfterReboot(int fd, const Block& block);

struct Member {
  uint32_t slot;
  int32_t pid;
  uint32_t token;
};
// The live members (those whose liveness lock is held), including this
// process's own slot `self` (pass kMaxMembers for none).
std::vector<Member> LiveMembers(int fd, const Block& block, uint32_t self);

// The display name of a lifetime: "persistent", "until-last-close",
// "until-creator-closes", or "unknown" for a value outside the enum (a
// damaged byte). The "ultradict.lifetime" property and the inspector show it.
const char* LifetimeName(Lifetime lifetime);

// The rule "does this member's Close destroy the dictionary", given the
// lifetime and whether the closer is the creator. The liveness questions
// are asked only when the lifetime needs them, at most once each:
// - kPersistent: never.
// - kUntilLastClose: when no member is alive (`no_member_alive()`).
// - kUntilCreatorCloses: when the closer is the creator, or else when the
//   creator is no longer alive (`creator_alive()` false: it died without
//   closing).
// - a value outside the enum (damaged): never.
bool DestroyOnCloseRule(Lifetime lifetime, bool closer_is_creator,
                        absl::FunctionRef<bool()> no_member_alive,
                        absl::FunctionRef<bool()> creator_alive);

// The proof that no member of the control segment open as `fd` is alive:
// every member slot's liveness byte locked at once (TryLockRange), which
// the kernel allows only when no live process holds one. Probers (a last
// Close, RemoveIfAbandoned in an open or a ListDBs of another process)
// take turns on kProbeLockByte first: without it, two probing at once
// would each find the other's range lock and conclude that a member is
// alive. The locks are held until the probe is destroyed (or fd closed),
// so a joiner waits meanwhile and then finds the state the prober left.
class MemberProbe {
 public:
  explicit MemberProbe(int fd) : fd_(fd) {}
  MemberProbe(const MemberProbe&) = delete;
  MemberProbe& operator=(const MemberProbe&) = delete;
  ~MemberProbe();

  // True when no member is alive; asked once. Waits up to 5 s for another
  // prober (one removing an abandoned dictionary holds its turn for as long
  // as the removal takes); false, as if a member were alive, when its turn
  // did not come by then.
  bool NoMemberAlive();

 private:
  const int fd_;
  bool probe_locked_ = false;
  bool range_locked_ = false;
};

// DestroyOnCloseRule for block's lifetime with the real probes, for a
// member closing the control segment after ReleaseMember of its own slot.
// "No member alive": probe->NoMemberAlive(), whose locks the caller holds
// while it destroys the dictionary. "Creator alive": a live member
// (LiveMembers on fd) holds the creator's token.
bool ShouldDestroyOnClose(int fd, const Block& block, bool closer_is_creator,
                          MemberProbe* probe);

}  // namespace control
}  // namespace ultradict

#endif  // ULTRADICT_DB_CONTROL_BLOCK_H_
