// control_block.cc: see control_block.h.

#include "db/control_block.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "port/port.h"
#include "util/checksum.h"
#include "util/coding.h"
#include "util/strings.h"

namespace ultradict {
namespace control {

namespace {

constexpr size_t kMaxIdentityName = kFileKeyOffset - kIdentityOffset - 1 - 7;
static_assert(kMaxIdentityName >= kMaxNameLength, "the name must fit");

// The header checksum: over [0, 40) and the identity, [384, 472).
uint32_t HeaderChecksum(const char* base) {
  ChecksumStream stream;
  stream.Update(base, kHeaderChecksumOffset);
  stream.Update(base + kIdentityOffset, kIdentityEnd - kIdentityOffset);
  return stream.Checksum32();
}

}  // namespace

void Block::InitHeader(const Options& options, uint32_t creator_token,
                       std::string_view name, const FileKey& key) {
  EncodeFixed64(base_, kControlMagic);
  EncodeFixed32(base_ + 8, kVersion);
  EncodeFixed32(base_ + 12, static_cast<uint32_t>(kSize));
  base_[16] = static_cast<char>(options.compression);
  base_[17] = static_cast<char>(options.lifetime);
  EncodeFixed32(base_ + 20, static_cast<uint32_t>(options.compression_threshold));
  EncodeFixed64(base_ + 24, options.log_size);
  EncodeFixed32(base_ + 32, creator_token);
  const size_t length = std::min(name.size(), kMaxIdentityName);
  base_[kIdentityOffset] = static_cast<char>(length);
  std::memcpy(base_ + kIdentityOffset + 1, name.data(), length);
  EncodeFixed64(base_ + kFileKeyOffset, key.k0);
  EncodeFixed64(base_ + kFileKeyOffset + 8, key.k1);
  EncodeFixed32(base_ + kHeaderChecksumOffset, HeaderChecksum(base_));
}

std::string_view Block::name() const {
  const size_t length = std::min<size_t>(
      static_cast<uint8_t>(base_[kIdentityOffset]), kMaxIdentityName);
  return std::string_view(base_ + kIdentityOffset + 1, length);
}

FileKey Block::file_key() const {
  FileKey key;
  key.k0 = DecodeFixed64(base_ + kFileKeyOffset);
  key.k1 = DecodeFixed64(base_ + kFileKeyOffset + 8);
  return key;
}

uint32_t Block::compression_threshold() const {
  return DecodeFixed32(base_ + 20);
}
uint64_t Block::initial_log_size() const { return DecodeFixed64(base_ + 24); }
uint32_t Block::creator_token() const { return DecodeFixed32(base_ + 32); }

// replica_of's bytes are live state shared with other threads and
// processes: each is loaded and stored atomically (relaxed; the length
// orders them).
std::string Block::replica_of() const {
  char* at = base_ + kReplicaOfOffset;
  const size_t length = std::min<size_t>(
      static_cast<uint8_t>(__atomic_load_n(at, __ATOMIC_ACQUIRE)),
      kMaxReplicaOf);
  std::string primary(length, '\0');
  for (size_t i = 0; i < length; ++i) {
    primary[i] = __atomic_load_n(at + 1 + i, __ATOMIC_RELAXED);
  }
  return primary;
}

void Block::SetReplicaOf(std::string_view primary,
                         uint32_t writer_token) const {
  char* at = base_ + kReplicaOfOffset;
  const size_t length = std::min(primary.size(), kMaxReplicaOf);
  __atomic_store_n(at, char{0}, __ATOMIC_RELEASE);
  for (size_t i = 0; i < kMaxReplicaOf; ++i) {
    __atomic_store_n(at + 1 + i, i < length ? primary[i] : char{0},
                     __ATOMIC_RELAXED);
  }
  replica_writer().store(length == 0 ? 0 : writer_token,
                         std::memory_order_relaxed);
  __atomic_store_n(at, static_cast<char>(length), __ATOMIC_RELEASE);
}

absl::Status Block::Validate(const char* base, size_t size,
                             std::string_view name,
                             std::string_view dictionary) {
  if (size < kSize) {
    return absl::DataLossError(absl::StrCat(AsAbsl(name), ": control segment of ", size,
                                            " bytes, expected ", kSize));
  }
  if (DecodeFixed64(base) != kControlMagic) {
    return absl::DataLossError(
        absl::StrCat(AsAbsl(name), ": not an UltraDict control segment (bad magic)"));
  }
  const uint32_t version = DecodeFixed32(base + 8);
  // Versions 1 and 2 checksummed [0, 40) only; a later version is named
  // without checking what this build does not know.
  const uint32_t checksum = version >= 3 && version <= kVersion
                                ? HeaderChecksum(base)
                            : version < kVersion
                                ? Checksum32(base, kHeaderChecksumOffset)
                                : DecodeFixed32(base + kHeaderChecksumOffset);
  if (DecodeFixed32(base + kHeaderChecksumOffset) != checksum) {
    return absl::DataLossError(
        absl::StrCat(AsAbsl(name), ": control header checksum mismatch at offset 0"));
  }
  if (version != kVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        AsAbsl(name), ": control format version ", version,
        ", this build reads ", kVersion,
        version < kVersion
            ? " (the dictionary was made by an older build, whose logs "
              "this build cannot share: open it with that build, or remove "
              "it with `ultradict destroy NAME`)"
            : " (the dictionary was made by a newer build)"));
  }
  const uint8_t length = static_cast<uint8_t>(base[kIdentityOffset]);
  if (length == 0 || length > kMaxIdentityName) {
    return absl::DataLossError(absl::StrCat(AsAbsl(name),
                                            ": impossible name length ", length,
                                            " at offset ", kIdentityOffset));
  }
  const std::string_view identity(base + kIdentityOffset + 1, length);
  if (!dictionary.empty() && identity != dictionary) {
    return absl::FailedPreconditionError(absl::StrCat(
        AsAbsl(name), ": the control segment of dictionary \"",
        absl::CEscape(AsAbsl(identity)), "\", not of \"", AsAbsl(dictionary),
        "\" (a hard link or a copy under another name); refusing it"));
  }
  if (DecodeFixed32(base + 12) != kSize || static_cast<uint8_t>(base[16]) > 1 ||
      static_cast<uint8_t>(base[17]) > 2) {
    return absl::DataLossError(
        absl::StrCat(AsAbsl(name), ": impossible values in the control header"));
  }
  return absl::OkStatus();
}

namespace {

// How long AdoptAfterReboot and MemberProbe wait for their lock byte.
constexpr std::chrono::milliseconds kLockByteWait{5000};

// Takes the exclusive OFD lock on byte `offset` of fd, trying every
// millisecond until `wait` has passed (a deadline, not a count of sleeps:
// a sleep of 1 ms may last a timer tick, ~15.6 ms on Windows).
bool TryLockByteFor(int fd, uint64_t offset, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (port::TryLockByte(fd, offset, /*exclusive=*/true)) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace

uint32_t NewToken() {
  return static_cast<uint32_t>(std::stoul(port::RandomHex(4), nullptr, 16)) | 1;
}

FileKey NewFileKey() {
  FileKey key;
  key.k0 = std::stoull(port::RandomHex(8), nullptr, 16);
  key.k1 = std::stoull(port::RandomHex(8), nullptr, 16);
  return key;
}

absl::Status ClaimMember(int fd, const Block& block, int32_t pid,
                         uint32_t* slot, uint32_t* token) {
  // Start at a pid-dependent slot so joiners rarely collide.
  const uint32_t start = static_cast<uint32_t>(pid) % kMaxMembers;
  for (int round = 0; round < 200; round++) {
    for (uint32_t k = 0; k < kMaxMembers; k++) {
      const uint32_t i = (start + k) % kMaxMembers;
      if (!port::TryLockByte(fd, kMemberLockBase + i, /*exclusive=*/true)) {
        continue;  // A live member (or a closer scanning the table).
      }
      const uint32_t t = NewToken();
      block.member_token(i).store(t, std::memory_order_relaxed);
      block.member_pid(i).store(static_cast<uint32_t>(pid),
                                std::memory_order_release);
      *slot = i;
      *token = t;
      return absl::OkStatus();
    }
    // Every slot is locked: the table is full or a closing process holds
    // the whole range for a moment. Wait a little and retry.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return absl::ResourceExhaustedError(absl::StrCat(
      "all ", kMaxMembers, " member slots are held by live processes"));
}

absl::Status AdoptAfterReboot(int fd, const Block& block) {
  const uint64_t boot = port::BootId();
  if (boot == 0 || block.boot_id().load(std::memory_order_acquire) == boot) {
    return absl::OkStatus();
  }
  if (!TryLockByteFor(fd, kAdoptLockByte, kLockByteWait)) {
    return absl::UnavailableError("another process is adopting the dictionary");
  }
  absl::Status s;
  if (block.boot_id().load(std::memory_order_acquire) != boot) {
    s = port::ProcessMutex::Init(block.mutex());
    if (s.ok()) s = port::ProcessMutex::Init(block.compaction_mutex());
    for (uint32_t i = 0; i < kMaxMembers; i++) {
      block.member_pid(i).store(0, std::memory_order_relaxed);
      block.member_token(i).store(0, std::memory_order_relaxed);
    }
    if (s.ok()) block.boot_id().store(boot, std::memory_order_release);
  }
  port::UnlockByte(fd, kAdoptLockByte);
  return s;
}

void ReleaseMember(int fd, const Block& block, uint32_t slot) {
  block.member_pid(slot).store(0, std::memory_order_relaxed);
  block.member_token(slot).store(0, std::memory_order_release);
  port::UnlockByte(fd, kMemberLockBase + slot);
}

std::vector<Member> LiveMembers(int fd, const Block& block, uint32_t self) {
  std::vector<Member> members;
  for (uint32_t i = 0; i < kMaxMembers; i++) {
    const uint32_t token = block.member_token(i).load(std::memory_order_acquire);
    if (token == 0) continue;  // Never used or closed cleanly.
    if (i != self && !port::IsByteLockedByOther(fd, kMemberLockBase + i)) {
      continue;  // Died without closing.
    }
    members.push_back(Member{
        i, static_cast<int32_t>(block.member_pid(i).load(std::memory_order_relaxed)),
        token});
  }
  return members;
}

const char* LifetimeName(Lifetime lifetime) {
  switch (lifetime) {
    case Lifetime::kPersistent:
      return "persistent";
    case Lifetime::kUntilLastClose:
      return "until-last-close";
    case Lifetime::kUntilCreatorCloses:
      return "until-creator-closes";
  }
  return "unknown";
}

bool DestroyOnCloseRule(Lifetime lifetime, bool closer_is_creator,
                        absl::FunctionRef<bool()> no_member_alive,
                        absl::FunctionRef<bool()> creator_alive) {
  switch (lifetime) {
    case Lifetime::kPersistent:
      return false;
    case Lifetime::kUntilLastClose:
      return no_member_alive();
    case Lifetime::kUntilCreatorCloses:
      return closer_is_creator || !creator_alive();
  }
  return false;
}

MemberProbe::~MemberProbe() {
  if (range_locked_) port::UnlockRange(fd_, kMemberLockBase, kMaxMembers);
  if (probe_locked_) port::UnlockByte(fd_, kProbeLockByte);
}

bool MemberProbe::NoMemberAlive() {
  probe_locked_ = TryLockByteFor(fd_, kProbeLockByte, kLockByteWait);
  if (!probe_locked_) return false;
  range_locked_ = port::TryLockRange(fd_, kMemberLockBase, kMaxMembers);
  return range_locked_;
}

bool ShouldDestroyOnClose(int fd, const Block& block, bool closer_is_creator,
                          MemberProbe* probe) {
  return DestroyOnCloseRule(
      block.lifetime(), closer_is_creator,
      [&] { return probe->NoMemberAlive(); },
      [&] {
        for (const Member& m : LiveMembers(fd, block, kMaxMembers)) {
          if (m.token == block.creator_token()) return true;
        }
        return false;
      });
}

}  // namespace control
}  // namespace ultradict
