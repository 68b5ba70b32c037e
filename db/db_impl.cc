// db_impl.cc: the engine. See db_impl.h for the locking rules and
// doc/design.md for the protocols (reads, writes, compaction, recovery,
// membership and lifetimes).

#include "db/db_impl.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <new>
#include <optional>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "db/db_iter.h"
#include "db/fault_point.h"
#include "db/filename.h"
#include "db/log_format.h"
#include "db/log_writer.h"
#include "db/snapshot_builder.h"
#include "db/write_batch_internal.h"
#include "util/checksum.h"
#include "util/coding.h"
#include "util/strings.h"

namespace ultradict {

namespace {

// The DB whose write lock this thread holds (to refuse re-entry from an
// Update/Transact callback instead of deadlocking).
thread_local const DBImpl* tls_writer = nullptr;
// The handle whose background thread this is, if any.
thread_local const DBImpl* tls_background = nullptr;

constexpr size_t kMinLogSize = 4096;
// Readers search up to this many bytes of new records in place before they
// index them (which takes the handle's lock exclusively).
constexpr uint32_t kMaxTailBytes = 2048;
constexpr size_t kMaxLogSize = log::kMaxSize;
// A log's pages are reserved (allocated) this many bytes at a time as
// records reach them, not all at its creation: most of a log is never
// written before the next compaction, and allocating pages means zeroing
// them.
constexpr size_t kLogReserveStep = size_t{1} << 20;
// The background thread keeps a log's pages reserved up to this far beyond
// the last record (see MaybeReserveAhead): a log smaller than that is
// reserved whole. Far enough that the pages it zeroed have left its core's
// caches when the writer gets there: 1 MiB ahead, writing into lines
// another core had just zeroed made puts slower than allocating the pages
// themselves (1 M fillrandom 379 -> 410 ns/op; 16 MiB ahead: 330-345).
constexpr size_t kReserveAhead = size_t{16} << 20;
// A background compaction carries records over to the next generation
// without the write lock until at most this many bytes are left for it to
// carry with the lock held.
constexpr uint32_t kLockedCarryBytes = 256 * 1024;
// How long a writer that finds the log full waits for another process's
// background compaction before it compacts inline itself.
constexpr int64_t kWaitForOtherCompactionMs = 10 * 1000;

// Collects a batch's operations (to validate it before applying any).
struct OpCollector {
  using Op = WriteBatchInternal::Entry;
  absl::InlinedVector<Op, 8> ops;  // Most batches: no allocation.
  // Appends the entries of an encoded batch; DataLoss on damage.
  absl::Status Collect(std::string_view batch) {
    return WriteBatchInternal::ForEachEntry(
        batch, [this](const Op& op) { ops.push_back(op); });
  }
};

// Reads the records of g's log in [from, to), each checked against its
// checksum, and calls fn(batch, &scratch, record_size) with its WriteBatch
// encoding, which lies in the mapped log or, for a compressed record, in
// scratch (fn may keep it by moving it out). Damage, in a record or in its
// batch, is DataLoss naming the segment and the record's offset.
template <typename Fn>
absl::Status ForEachBatch(const DBImpl::Generation& g, uint32_t from,
                          uint32_t to, Fn&& fn) {
  for (uint32_t offset = from; offset < to;) {
    log::Record record;
    absl::Status s =
        log::ReadRecord(g.records, to, offset, g.log_segment.path(), &record);
    if (!s.ok()) return s;
    std::string scratch;
    std::string_view batch;
    s = log::RecordBatch(record, &scratch, &batch);
    if (s.ok()) s = fn(batch, &scratch, static_cast<uint32_t>(record.size));
    if (!s.ok()) {
      return absl::DataLossError(absl::StrCat(g.log_segment.path(), ": ",
                                              s.message(), " at offset ",
                                              log::kHeaderSize + offset));
    }
    offset += static_cast<uint32_t>(record.size);
  }
  return absl::OkStatus();
}

absl::Status CheckSizes(std::string_view key, std::string_view value) {
  if (key.size() > kMaxKeySize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "key of ", key.size(), " bytes; the limit is ", kMaxKeySize));
  }
  if (value.size() > kMaxValueSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "value of ", value.size(), " bytes; the limit is ", kMaxValueSize));
  }
  return absl::OkStatus();
}

absl::Status ValidateOptions(const Options& options) {
  if (options.log_size < kMinLogSize || options.log_size > kMaxLogSize) {
    return absl::InvalidArgumentError(
        absl::StrCat("log_size ", options.log_size, " outside [", kMinLogSize,
                     ", ", kMaxLogSize, "]"));
  }
  if (options.compression != Compression::kNoCompression &&
      options.compression != Compression::kZstdCompression) {
    return absl::InvalidArgumentError("unknown compression");
  }
  if (static_cast<uint8_t>(options.lifetime) > 2) {
    return absl::InvalidArgumentError("unknown lifetime");
  }
  if (options.compression_threshold > kMaxValueSize) {
    return absl::InvalidArgumentError("compression_threshold over the value limit");
  }
  if ((options.mode & ~0666u) != 0 || (options.mode & 0600u) != 0600u) {
    char octal[24];
    std::snprintf(octal, sizeof(octal), "%#o",
                  static_cast<unsigned>(options.mode));
    return absl::InvalidArgumentError(
        absl::StrCat("mode ", octal,
                     " must give the owner read and write and nobody execute"));
  }
  if (options.write_lock_timeout_ms <= 0) {
    return absl::InvalidArgumentError("write_lock_timeout_ms must be positive");
  }
  return absl::OkStatus();
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

}  // namespace

// Holds the cross-process write lock for a scope.
class DBImpl::WriterLock {
 public:
  explicit WriterLock(DBImpl* db) : db_(db) { status_ = db_->LockWriter(); }
  ~WriterLock() {
    if (status_.ok()) db_->UnlockWriter();
  }
  const absl::Status& status() const { return status_; }

 private:
  DBImpl* db_;
  absl::Status status_;
};

DBImpl::DBImpl(const Options& options, std::string name, std::string dir)
    : options_(options), name_(std::move(name)), dir_(std::move(dir)) {
  RegisterForFork(this);
}

DBImpl::~DBImpl() {
#ifndef NDEBUG
  // The contract (db.h): every iterator is deleted before its DB. One that
  // is not (or one that another thread is still using) reads through a
  // handle that is gone: fail here, loudly, rather than crash later.
  const int live = live_iterators_->load(std::memory_order_relaxed);
  if (live != 0) {
    std::fprintf(stderr,
                 "ultradict: DB \"%s\" deleted while %d of its iterators are "
                 "alive; delete every iterator before its DB (db.h)\n",
                 name_.c_str(), live);
    std::abort();
  }
#endif
  UnregisterForFork(this);
  Close();
}

absl::StatusOr<std::unique_ptr<DB>> DB::Open(const Options& options,
                                             std::string_view name) {
  absl::Status s = ValidateOptions(options);
  if (!s.ok()) return s;
  std::string db_name(name);
  if (db_name.empty()) db_name = "d" + port::RandomHex(6);
  s = ValidateName(db_name);
  if (!s.ok()) return s;
  auto db = std::make_unique<DBImpl>(options, db_name,
                                     port::SegmentDirectory(options.directory));
  s = db->Init();
  if (!s.ok()) return s;
  return std::unique_ptr<DB>(std::move(db));
}

absl::Status DBImpl::CreateControl(const std::string& path,
                                   port::Segment* segment) {
  const std::string tmp = absl::StrCat(path, ".tmp.", port::RandomHex(4));
  absl::StatusOr<port::Segment> created =
      port::Segment::Create(tmp, control::kSize, options_.mode);
  if (!created.ok()) return created.status();
  control::Block block(created->data());
  const uint32_t creator_token = control::NewToken();
  block.InitHeader(options_, creator_token, name_, control::NewFileKey());
  absl::Status s = port::ProcessMutex::Init(block.mutex());
  if (s.ok()) s = port::ProcessMutex::Init(block.compaction_mutex());
  if (s.ok()) {
    block.state().store(control::kStateReady, std::memory_order_relaxed);
    block.boot_id().store(port::BootId(), std::memory_order_relaxed);
    block.head().store(control::MakeHead(0, 0), std::memory_order_release);
    // Join before the name appears, so that no closer can see it memberless.
    s = control::ClaimMember(created->fd(), block, port::CurrentPid(), &slot_,
                             &token_);
    if (s.ok()) {
      block.member_token(slot_).store(creator_token, std::memory_order_release);
      token_ = creator_token;
      s = port::Link(tmp, path);  // Appears complete, or not at all.
    }
  }
  port::Unlink(tmp).IgnoreError();
  if (!s.ok()) {
    slot_ = control::kMaxMembers;
    return s;
  }
  *segment = std::move(*created);
  return absl::OkStatus();
}

bool DBImpl::MarkDestroyedAndRemove(const std::string& dir, std::string_view name,
                           const port::Segment& segment, int64_t timeout_ms,
                           absl::Status* status) {
  const control::Block block(segment.data());
  bool owner_died = false;
  const bool locked =
      port::ProcessMutex::Lock(block.mutex(), timeout_ms, &owner_died).ok();
  // Destroyed already: its files are gone, and those of its name may be a
  // new dictionary's now.
  const bool destroy =
      block.state().load(std::memory_order_acquire) == control::kStateReady;
  if (destroy) {
    block.state().store(control::kStateDestroyed, std::memory_order_release);
    const FileKey key = block.file_key();
    absl::Status s = DestroyFiles(dir, name, &key, &segment);
    if (status != nullptr) *status = s;
  }
  if (locked) {
    if (owner_died) port::ProcessMutex::MarkConsistent(block.mutex());
    port::ProcessMutex::Unlock(block.mutex());
  }
  return destroy;
}

bool DBImpl::RemoveIfAbandoned(const std::string& dir, std::string_view name,
                               const port::Segment& segment) {
  const control::Block block(segment.data());
  if (block.lifetime() == Lifetime::kPersistent) return false;
  // Holding every slot's liveness lock at once proves that no member is
  // alive (the kernel released the locks of those that died); a process
  // that opened it meanwhile and has not joined yet sees the destroyed
  // state when it joins, and starts over (as after a last Close).
  const int fd = segment.fd();
  if (!port::TryLockRange(fd, control::kMemberLockBase, control::kMaxMembers)) {
    return false;
  }
  const bool removed = MarkDestroyedAndRemove(dir, name, segment, 1000, nullptr);
  port::UnlockRange(fd, control::kMemberLockBase, control::kMaxMembers);
  return removed;
}

absl::Status DBImpl::Init() {
  const std::string path = ControlFileName(dir_, name_);
  for (int attempt = 0; attempt < 100; attempt++) {
    port::Segment segment;
    bool created = false;
    absl::StatusOr<port::Segment> opened =
        port::Segment::Open(path, options_.allow_other_owner, true);
    if (absl::IsNotFound(opened.status())) {
      if (!options_.create_if_missing) {
        return absl::NotFoundError(absl::StrCat(
            "dictionary \"", name_, "\" does not exist in ", dir_,
            " (create_if_missing is false)"));
      }
      absl::Status s = CreateControl(path, &segment);
      if (absl::IsAlreadyExists(s)) continue;  // Another process won; join it.
      if (!s.ok()) return s;
      created = true;
    } else if (!opened.ok()) {
      return opened.status();
    } else {
      segment = std::move(*opened);
    }
    absl::Status s =
        control::Block::Validate(segment.data(), segment.size(), path, name_);
    if (!s.ok()) return s;
    control::Block block(segment.data());
    if (!created) {
      s = control::AdoptAfterReboot(segment.fd(), block);
      if (!s.ok()) return s;
      // A dictionary that should have gone with its last member (which
      // was killed, so it did not close) is removed, then opened anew.
      if (RemoveIfAbandoned(dir_, name_, segment)) continue;
      if (options_.error_if_exists) {
        return absl::AlreadyExistsError(absl::StrCat(
            "dictionary \"", name_, "\" already exists (error_if_exists)"));
      }
      if (!options_.observer) {
        s = control::ClaimMember(segment.fd(), block, port::CurrentPid(),
                                 &slot_, &token_);
        if (!s.ok() && block.state().load(std::memory_order_acquire) !=
                           control::kStateReady) {
          // Its slots were all locked by a process destroying it (a last
          // Close, or RemoveIfAbandoned): start over.
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          continue;
        }
        if (!s.ok()) return s;
      }
    }
    if (block.state().load(std::memory_order_acquire) != control::kStateReady) {
      // Destroyed between our open and our joining: start over.
      if (slot_ != control::kMaxMembers) {
        control::ReleaseMember(segment.fd(), block, slot_);
      }
      slot_ = control::kMaxMembers;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    control_segment_ = std::move(segment);
    block_ = control::Block(control_segment_.data());
    key_ = block_.file_key();
    compress_ = block_.compression() == Compression::kZstdCompression;
    pid_.store(port::CurrentPid(), std::memory_order_relaxed);
    bg_pid_ = port::CurrentPid();
    std::unique_lock<std::shared_mutex> l(mu_);
    return RefreshLocked();
  }
  return absl::UnavailableError(
      absl::StrCat(path, ": could not join (destroyed again and again)"));
}

void DBImpl::Close() {
  StopBackground();  // Before anything it uses goes away.
  if (!control_segment_.valid()) return;
  if (port::CurrentPid() != pid_.load(std::memory_order_relaxed) ||
      slot_ == control::kMaxMembers) {
    // An observer, or a fork child that never used the handle: it holds no
    // slot of its own, so its close changes nothing.
    return;
  }
  const int fd = control_segment_.fd();
  const bool creator = token_ == block_.creator_token();
  control::ReleaseMember(fd, block_, slot_);
  bool destroy = false;
  switch (block_.lifetime()) {
    case Lifetime::kPersistent:
      break;
    case Lifetime::kUntilLastClose:
      // Holding every slot's lock at once proves that no member is alive;
      // joiners wait meanwhile and then see the destroyed state.
      if (port::TryLockRange(fd, control::kMemberLockBase, control::kMaxMembers)) {
        destroy = true;
      }
      break;
    case Lifetime::kUntilCreatorCloses: {
      destroy = creator;
      if (!destroy) {  // The creator died without closing?
        bool creator_alive = false;
        for (const control::Member& m :
             control::LiveMembers(fd, block_, control::kMaxMembers)) {
          if (m.token == block_.creator_token()) creator_alive = true;
        }
        destroy = !creator_alive;
      }
      break;
    }
  }
  if (destroy) MarkDestroyedAndRemove(dir_, name_, control_segment_, 1000, nullptr);
}

absl::Status DBImpl::DestroyFiles(const std::string& dir, std::string_view name,
                                  const FileKey* key,
                                  const port::Segment* control) {
  absl::StatusOr<std::vector<std::string>> files = port::ListDirectory(dir);
  if (!files.ok()) return files.status();
  bool found = false;
  absl::Status first_error;
  std::vector<std::string> not_removed;  // "path: why", one per file.
  for (const std::string& file : *files) {
    std::string file_name, tag;
    FileType type;
    uint64_t gen;
    if (!ParseFileName(file, &file_name, &type, &gen, &tag) ||
        file_name != name) {
      continue;
    }
    const std::string path = dir + "/" + file;
    // With the key, only the dictionary's own files are removed and
    // reported: its control segment (if `path` is still that file) and the
    // generation files named with its key. A control segment that replaced
    // it, another opener's temporary control file and files of another key
    // belong to a newer dictionary of this name; files without a tag
    // (planted by another user, or of a format before tags) are removed
    // when they can be, and otherwise left to their owner.
    bool own = true, remove = true;
    if (key != nullptr) {
      if (type == FileType::kControl) {
        remove = control == nullptr || control->IsFileAt(path);
      } else if (type == FileType::kTemp && gen == 0) {
        remove = false;
      } else if (tag.empty()) {
        own = false;
      } else {
        remove = IsGenerationFileOf(file, name, *key);
      }
    }
    if (!remove) continue;
    found = true;
    absl::Status s = port::Unlink(path);
    // NotFound: removed meanwhile (another destroy, a compaction).
    if (!s.ok() && !absl::IsNotFound(s) && own) {
      if (first_error.ok()) first_error = s;
      not_removed.emplace_back(s.message());
    }
  }
  if (!found) {
    return absl::NotFoundError(
        absl::StrCat("dictionary \"", AsAbsl(name), "\" does not exist in ", dir));
  }
  if (!not_removed.empty()) {
    // The code of the first failure (PermissionDenied, Internal...).
    return absl::Status(
        first_error.code(),
        absl::StrCat("dictionary \"", AsAbsl(name), "\" not fully removed: ",
                     absl::StrJoin(not_removed, "; ")));
  }
  return absl::OkStatus();
}

absl::Status DestroyDB(std::string_view name, const Options& options) {
  absl::Status s = ValidateName(name);
  if (!s.ok()) return s;
  const std::string dir = port::SegmentDirectory(options.directory);
  const std::string path = ControlFileName(dir, name);
  // Mark it destroyed under the write lock, so no writer of another
  // process creates a new generation after the files are gone. One that was
  // destroyed meanwhile may have been replaced: open the name again.
  absl::StatusOr<port::Segment> segment;
  for (int attempt = 0; attempt < 100; attempt++) {
    segment = port::Segment::Open(path, options.allow_other_owner, true);
    if (!segment.ok() ||
        !control::Block::Validate(segment->data(), segment->size(), path, name)
             .ok()) {
      break;
    }
    if (DBImpl::MarkDestroyedAndRemove(dir, name, *segment, 5000, &s)) return s;
  }
  // Another user's, or not a regular file (a symbolic link, which must not
  // lead anywhere, a FIFO, a directory): nothing is removed.
  if (absl::IsPermissionDenied(segment.status()) ||
      absl::IsInvalidArgument(segment.status())) {
    return segment.status();
  }
  // Damaged, partial, of another format version, or another dictionary's
  // under this name (a hard link or a copy: its shared state is left
  // alone): remove the files of this name.
  return DBImpl::DestroyFiles(dir, name);
}

absl::StatusOr<std::vector<std::string>> ListDBs(const Options& options) {
  const std::string dir = port::SegmentDirectory(options.directory);
  absl::StatusOr<std::vector<std::string>> files = port::ListDirectory(dir);
  if (!files.ok()) return files.status();
  std::vector<std::string> names;
  for (const std::string& file : *files) {
    std::string name;
    FileType type;
    uint64_t gen;
    if (!ParseFileName(file, &name, &type, &gen) ||
        type != FileType::kControl) {
      continue;
    }
    // Non-persistent dictionaries whose last member died without closing
    // are removed, not listed (see DBImpl::RemoveIfAbandoned).
    const std::string path = ControlFileName(dir, name);
    absl::StatusOr<port::Segment> segment =
        port::Segment::Open(path, options.allow_other_owner, true);
    if (segment.ok() &&
        control::Block::Validate(segment->data(), segment->size(), path, name)
            .ok() &&
        control::AdoptAfterReboot(segment->fd(),
                                  control::Block(segment->data()))
            .ok() &&
        DBImpl::RemoveIfAbandoned(dir, name, *segment)) {
      continue;
    }
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status DBImpl::CheckFork() {
  const int32_t pid = port::CurrentPid();
  if (pid == pid_.load(std::memory_order_relaxed)) return absl::OkStatus();
  std::lock_guard<std::mutex> l(fork_mu_);
  if (pid == pid_.load(std::memory_order_relaxed)) return absl::OkStatus();
  // A fork child: take a description of the control file of its own (the
  // inherited one shares the parent's locks) and join as a new member.
  int inherited = -1;
  absl::Status s = control_segment_.Reopen(&inherited);
  if (s.ok() && slot_ != control::kMaxMembers) {
    s = control::ClaimMember(control_segment_.fd(), block_, pid, &slot_,
                             &token_);
  }
  // Only now: when the parent is gone, the inherited description's lock on
  // the parent's slot was all that showed the dictionary in use.
  port::CloseDescriptor(inherited);
  if (!s.ok()) return s;
  if (block_.state().load(std::memory_order_acquire) != control::kStateReady) {
    return absl::FailedPreconditionError(
        absl::StrCat("dictionary \"", name_, "\" was destroyed"));
  }
  pid_.store(pid, std::memory_order_relaxed);
  return absl::OkStatus();
}

void DBImpl::PrepareFork() {
  fork_mu_.lock();
  mu_.lock();
  bg_mu_.lock();
  // The background thread reserves pages of the current log under it.
  fork_locked_ = current_.get();
  if (fork_locked_ != nullptr) fork_locked_->file_mu.lock();
}

void DBImpl::ParentAfterFork() {
  if (fork_locked_ != nullptr) fork_locked_->file_mu.unlock();
  bg_mu_.unlock();
  mu_.unlock();
  fork_mu_.unlock();
}

void DBImpl::ChildAfterFork() {
  // The child's only thread is the one that took the locks.
  if (fork_locked_ != nullptr) fork_locked_->file_mu.unlock();
  bg_mu_.unlock();
  fork_mu_.unlock();
  port::ResetSharedMutexInForkChild(&mu_);
  // Guarded by the write lock, not by the locks above: another thread of
  // the parent may have been filling it. Its buffer, if any, is left.
  new (&record_) std::string();
  // The background thread exists only in the parent: see StopBackground.
}

void DBImpl::SetUpLog(Generation* g) {
  g->records = g->log_segment.data() + log::kHeaderSize;
  g->record_capacity = g->log_segment.size() - log::kHeaderSize;
  g->index.SetArea(g->records, g->record_capacity);
  // The log is larger than what starts its compaction (see
  // PrepareGeneration): the room beyond is what writers use while the
  // background compaction runs, so that they wait for it only when it is
  // slower than writing that much.
  const size_t base =
      std::max<size_t>(block_.initial_log_size(), g->snap_segment.size());
  g->compact_at = std::min(g->record_capacity, base) / 3;
  ExpectIndexSize(g);
}

void DBImpl::ExpectIndexSize(Generation* g) {
  // Growing a large index moves every entry in one go, with mu_ held
  // exclusively: 60 ms at 500,000 keys, a stall for the writer and this
  // process's readers. So when it first has to grow past a small size, it
  // grows at once to what the log likely holds before its next compaction
  // replaces it: twice the records that start its compaction (writes go on
  // meanwhile), records being about as large as
  // the snapshot's entries, and no more keys than the snapshot has (a
  // dictionary that grows fast still grows its index in steps, but not one
  // whose keys are rewritten). Not before: a process that attaches to a
  // freshly compacted dictionary does not pay for an index it may not need.
  const uint64_t count = g->snapshot.count();
  if (count == 0) return;
  const uint64_t record_size = g->snapshot.data_size() / count + 16;
  g->expected_keys =
      std::min<uint64_t>(count, g->compact_at / record_size * 2);
}

void DBImpl::GrowIndexFor(Generation* g, size_t more) {
  constexpr size_t kSmallIndex = 4096;
  const size_t capacity = g->index.bucket_count();
  const size_t wanted = g->index.size() + more;
  if (wanted <= capacity - capacity / 8) return;  // absl's maximum load.
  // reserve(wanted) doubles the capacity (a power of two); asking for
  // 2 * wanted quadrupled it: a 10 M fill ended with 33.5 M slots
  // (302 MB) for fewer than 10 M keys.
  g->index.reserve(std::max(wanted < kSmallIndex ? 0 : g->expected_keys, wanted));
}

absl::Status DBImpl::LoadGeneration(uint32_t gen,
                                    std::shared_ptr<Generation>* out) {
  auto g = std::make_shared<Generation>();
  g->gen = gen;
  if (gen != 0) {
    const std::string snap_name = SnapshotFileName(dir_, name_, key_, gen);
    const std::string log_name = LogFileName(dir_, name_, key_, gen);
    absl::StatusOr<port::Segment> snap =
        port::Segment::Open(snap_name, options_.allow_other_owner, false);
    if (!snap.ok()) return snap.status();
    snap->CloseFile();  // Mapped: never reserved, flushed through the mapping.
    absl::StatusOr<port::Segment> log =
        port::Segment::Open(log_name, options_.allow_other_owner, true);
    if (!log.ok()) return log.status();
    g->snap_segment = std::move(*snap);
    g->log_segment = std::move(*log);
    absl::Status s = g->snapshot.Open(g->snap_segment.data(),
                                      g->snap_segment.size(), snap_name);
    if (!s.ok()) return s;
    s = log::ParseHeader(g->log_segment.data(), g->log_segment.size(), log_name,
                         &g->log_header);
    if (!s.ok()) return s;
    if (g->snapshot.generation() != gen || g->log_header.generation != gen) {
      return absl::DataLossError(
          absl::StrCat(log_name, ": segments of generation ",
                       g->snapshot.generation(), "/", g->log_header.generation,
                       " under the name of generation ", gen));
    }
    SetUpLog(g.get());
  }
  *out = std::move(g);
  return absl::OkStatus();
}

absl::Status DBImpl::RefreshLocked() {
  for (int attempt = 0;; attempt++) {
    const uint64_t head = block_.head().load(std::memory_order_acquire);
    if (head == applied_head_.load(std::memory_order_relaxed)) {
      return absl::OkStatus();
    }
    const uint32_t gen = control::HeadGeneration(head);
    const uint32_t offset = control::HeadOffset(head);
    if (current_ == nullptr || current_->gen != gen) {
      std::shared_ptr<Generation> g;
      absl::Status s = LoadGeneration(gen, &g);
      if (!s.ok() && attempt < 1000 &&
          block_.head().load(std::memory_order_acquire) != head) {
        // Retired by a compaction meanwhile (and maybe its name taken by
        // another user's file since): follow the head.
        continue;
      }
      if (absl::IsNotFound(s)) {
        return absl::DataLossError(absl::StrCat(
            "generation ", gen, " of \"", name_,
            "\" is current but its segment is missing: ", s.message()));
      }
      if (absl::IsInvalidArgument(s)) {  // Not a regular file.
        return absl::DataLossError(absl::StrCat(
            "generation ", gen, " of \"", name_,
            "\" is current but its segment cannot be used: ", s.message()));
      }
      if (!s.ok()) return s;
      if (current_ != nullptr) current_->CloseFiles();  // Retired here.
      current_ = std::move(g);
    }
    if (offset > current_->record_capacity) {
      return absl::DataLossError(absl::StrCat(
          LogFileName(dir_, name_, key_, gen), ": head offset ", offset,
          " past the log's capacity ", current_->record_capacity));
    }
    absl::Status s = ApplyRecordsLocked(current_.get(), offset);
    if (!s.ok()) return s;
    applied_head_.store(head, std::memory_order_relaxed);
    return absl::OkStatus();
  }
}

absl::Status DBImpl::ApplyRecordsLocked(Generation* g, uint32_t end,
                                        bool serve_reserve) {
  if (end < g->applied) {
    return absl::DataLossError(
        absl::StrCat(LogFileName(dir_, name_, key_, g->gen),
                     ": head moved back from ", g->applied, " to ", end));
  }
  // Keys of checked batches go into the index in groups: each key's slot is
  // prefetched when it is queued, so that the cache misses of a group
  // overlap instead of following one another (a process that indexes
  // another's writes spends most of its time on them).
  constexpr size_t kGroup = 32;
  struct Pending {
    LogIndex::Key key;
    LogIndex::Entry entry;
    const char* batch_end;
  };
  absl::InlinedVector<Pending, kGroup + 8> pending;  // No allocation.
  uint32_t pending_bytes = 0;
  uint64_t pending_records = 0;
  auto insert_pending = [&] {
    GrowIndexFor(g, pending.size());
    for (const Pending& p : pending) g->index.Insert(p.key, p.entry, p.batch_end);
    g->Indexed(pending_bytes, pending_records);
    pending.clear();
    pending_bytes = 0;
    pending_records = 0;
  };
  OpCollector ops;
  absl::Status s = ForEachBatch(
      *g, g->applied, end,
      [&](std::string_view batch, std::string* scratch, uint32_t size) {
        if (serve_reserve) MaybeServeReserve();
        if (!scratch->empty()) {  // Decompressed: the index points into it.
          g->buffers.push_back(std::move(*scratch));
          batch = g->buffers.back();
        }
        ops.ops.clear();  // The whole batch is checked before any is applied.
        absl::Status st = ops.Collect(batch);
        if (!st.ok()) return st;
        for (const OpCollector::Op& op : ops.ops) {
          // A large batch goes in group by group too: it was checked whole
          // above, and no reader sees the index until mu_ is released.
          if (pending.size() >= kGroup) insert_pending();
          const LogIndex::Key key = LogIndex::MakeKey(op.key);
          g->index.Prefetch(key);
          pending.push_back(Pending{key, op, batch.data() + batch.size()});
        }
        pending_bytes += size;
        pending_records++;
        if (pending.size() >= kGroup) insert_pending();
        return absl::OkStatus();
      });
  insert_pending();  // Every batch before a damaged one is applied.
  return s;
}

absl::Status DBImpl::DamagedIndexEntry(const Generation& g) const {
  return absl::DataLossError(absl::StrCat(
      LogFileName(dir_, name_, key_, g.gen),
      ": an entry indexed from this log no longer decodes (its bytes were "
      "changed after they were checked)"));
}

absl::Status DBImpl::ScanTail(const Generation& g, uint32_t from, uint32_t to,
                              std::string_view key, std::string* scratch,
                              std::string_view* value, bool* found) {
  struct Finder : public WriteBatch::Handler {
    std::string_view key, value;
    bool found = false, deleted = false;
    void Put(std::string_view k, std::string_view v) override {
      if (k == key) found = true, deleted = false, value = v;
    }
    void Delete(std::string_view k) override {
      if (k == key) found = true, deleted = true;
    }
  } finder;
  finder.key = key;
  absl::Status s = ForEachBatch(
      g, from, to,
      [&](std::string_view batch, std::string* buffer, uint32_t) {
        absl::Status st = WriteBatchInternal::Iterate(batch, &finder);
        if (st.ok() && finder.found && !finder.deleted && !buffer->empty()) {
          // The value lies in a decompressed buffer: keep a copy.
          scratch->assign(finder.value.data(), finder.value.size());
          finder.value = *scratch;
        }
        return st;
      });
  if (!s.ok()) return s;
  *found = finder.found;
  if (finder.found && finder.deleted) return absl::NotFoundError("");
  *value = finder.value;
  return absl::OkStatus();
}

uint32_t DBImpl::SearchableTailEnd(uint64_t head) const {
  const Generation& g = *current_;
  const uint32_t end = control::HeadOffset(head);
  const bool searchable = control::HeadGeneration(head) == g.gen &&
                          end > g.applied && end - g.applied <= kMaxTailBytes &&
                          end <= g.record_capacity;
  return searchable ? end : 0;
}

absl::Status DBImpl::ExistsLocked(std::string_view key, uint64_t hash,
                                  uint32_t tail_end, bool* exists) {
  const Generation& g = *current_;
  std::string scratch;
  std::string_view value;
  if (tail_end > g.applied) {
    bool found = false;
    absl::Status s =
        ScanTail(g, g.applied, tail_end, key, &scratch, &value, &found);
    if (found) {
      *exists = s.ok();
      return s.ok() || absl::IsNotFound(s) ? absl::OkStatus() : s;
    }
    if (!s.ok()) return s;
  }
  LogIndex::Entry latest;
  const LogIndex::Found found = g.index.Find(LogIndex::MakeKey(key, hash), &latest);
  if (found == LogIndex::Found::kDamaged) return DamagedIndexEntry(g);
  if (found == LogIndex::Found::kYes) {
    *exists = !latest.deleted;
    return absl::OkStatus();
  }
  snapshot::Entry entry;
  absl::Status s = g.gen == 0 ? absl::NotFoundError("")
                              : g.snapshot.Find(key, hash, &entry, /*verify=*/false);
  *exists = s.ok();
  return s.ok() || absl::IsNotFound(s) ? absl::OkStatus() : s;
}

absl::Status DBImpl::LookupLocked(std::string_view key, std::string* scratch,
                                  std::string_view* value, uint32_t tail_end) {
  const Generation& g = *current_;
  if (tail_end > g.applied) {
    bool found = false;
    absl::Status s = ScanTail(g, g.applied, tail_end, key, scratch, value, &found);
    if (found || !s.ok()) return s;
  }
  const uint64_t hash = Hash64(key);  // For the log index and the snapshot.
  if (!g.index.empty()) {
    LogIndex::Entry latest;
    const LogIndex::Found found = g.index.Find(LogIndex::MakeKey(key, hash), &latest);
    if (found == LogIndex::Found::kDamaged) return DamagedIndexEntry(g);
    if (found == LogIndex::Found::kYes) {
      if (latest.deleted) return absl::NotFoundError("");
      *value = latest.value;
      return absl::OkStatus();
    }
  }
  if (g.gen == 0) return absl::NotFoundError("");
  snapshot::Entry entry;
  absl::Status s = g.snapshot.Find(key, hash, &entry);
  if (!s.ok()) return s;
  return snapshot::EntryValue(entry, scratch, value);
}

template <typename Fn>
absl::Status DBImpl::WithReadView(Fn&& fn) {
  absl::Status s = CheckFork();
  if (!s.ok()) return s;
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    if (block_.head().load(std::memory_order_acquire) ==
        applied_head_.load(std::memory_order_relaxed)) {
      return fn(0);
    }
  }
  {
    // New records: index them if nobody else in this process holds the
    // lock (their cost is then paid once, not by every read) ...
    std::unique_lock<std::shared_mutex> l(mu_, std::try_to_lock);
    if (l.owns_lock()) {
      s = RefreshLocked();
      if (!s.ok()) return s;
      return fn(0);
    }
  }
  {
    // ... else, when only a few records behind in the same generation,
    // search them in place rather than wait for the lock.
    std::shared_lock<std::shared_mutex> l(mu_);
    const uint64_t head = block_.head().load(std::memory_order_acquire);
    const uint64_t applied = applied_head_.load(std::memory_order_relaxed);
    if (head == applied) return fn(0);
    const uint32_t tail_end = SearchableTailEnd(head);
    if (tail_end != 0) return fn(tail_end);
  }
  std::unique_lock<std::shared_mutex> l(mu_);
  s = RefreshLocked();
  if (!s.ok()) return s;
  return fn(0);
}

absl::Status DBImpl::Get(std::string_view key, std::string* value) {
  return WithReadView([&](uint32_t tail_end) -> absl::Status {
    std::string scratch;
    std::string_view v;
    absl::Status s = LookupLocked(key, &scratch, &v, tail_end);
    if (absl::IsNotFound(s)) {
      return absl::NotFoundError("");  // No message: a miss stays cheap.
    }
    if (s.ok()) value->assign(v.data(), v.size());
    return s;
  });
}

absl::Status DBImpl::GetPinned(std::string_view key, PinnableValue* value) {
  return WithReadView([&](uint32_t tail_end) -> absl::Status {
    auto scratch = std::make_shared<std::string>();
    std::string_view v;
    absl::Status s = LookupLocked(key, scratch.get(), &v, tail_end);
    if (absl::IsNotFound(s)) return absl::NotFoundError("key not found");
    if (!s.ok()) return s;
    if (!scratch->empty()) {
      value->pin_ = scratch;  // Decompressed: the copy is the pin.
    } else {
      value->pin_ = current_;  // Keeps the mapping alive.
    }
    value->data_ = v;
    return absl::OkStatus();
  });
}

absl::Status DBImpl::LockWriter(int64_t timeout_ms) {
  if (tls_writer == this) {
    return absl::FailedPreconditionError(
        "a write was called from inside Update/Transact of the same DB");
  }
  absl::Status s = CheckFork();
  if (!s.ok()) return s;
  bool owner_died = false;
  s = port::ProcessMutex::Lock(
      block_.mutex(),
      timeout_ms < 0 ? options_.write_lock_timeout_ms : timeout_ms,
      &owner_died);
  if (!s.ok()) return s;
  if (owner_died) {
    RecoverLocked();
    port::ProcessMutex::MarkConsistent(block_.mutex());
  }
  if (block_.state().load(std::memory_order_acquire) != control::kStateReady) {
    port::ProcessMutex::Unlock(block_.mutex());
    return absl::FailedPreconditionError(
        absl::StrCat("dictionary \"", name_, "\" was destroyed"));
  }
  tls_writer = this;
  return absl::OkStatus();
}

void DBImpl::UnlockWriter() {
  tls_writer = nullptr;
  port::ProcessMutex::Unlock(block_.mutex());
}

void DBImpl::RecoverLocked() {
  // A writer died holding the lock. Nothing it wrote is visible unless it
  // published the head; what it left is bytes past the head (overwritten by
  // the next write) and maybe files of an unpublished or retired generation.
  block_.recoveries().fetch_add(1, std::memory_order_relaxed);
  const uint32_t gen =
      control::HeadGeneration(block_.head().load(std::memory_order_acquire));
  RemoveStaleFiles(gen, /*other_generations=*/true, /*all_temps=*/false);
}

void DBImpl::RemoveStaleFiles(uint32_t gen, bool other_generations,
                              bool all_temps) {
  absl::StatusOr<std::vector<std::string>> files = port::ListDirectory(dir_);
  if (!files.ok()) return;
  for (const std::string& file : *files) {
    std::string file_name;
    FileType type;
    uint64_t file_gen;
    if (!ParseFileName(file, &file_name, &type, &file_gen) || file_name != name_) {
      continue;
    }
    // Temporary files of a background compaction are named for the
    // generation it builds, head + 1 while it is alive; a control segment's
    // temporary file has generation 0 and belongs to an opener.
    // A log or snapshot of generation `gen` under another tag is not ours
    // (left by a format without tags, or planted).
    const bool stale =
        ((type == FileType::kLog || type == FileType::kSnapshot) &&
         other_generations &&
         (file_gen != gen || !IsGenerationFileOf(file, name_, key_))) ||
        (type == FileType::kTemp && file_gen >= 1 &&
         (all_temps || file_gen <= gen));
    if (stale) port::Unlink(dir_ + "/" + file).IgnoreError();
  }
}

absl::Status DBImpl::CheckBatch(std::string_view rep, uint32_t* count) const {
  OpCollector ops;
  absl::Status s = ops.Collect(rep);
  if (!s.ok()) return s;
  for (const OpCollector::Op& op : ops.ops) {
    s = CheckSizes(op.key, op.value);
    if (!s.ok()) return s;
  }
  if (rep.size() > log::kMaxBatchSize) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batch of ", rep.size(), " bytes; the limit is ", log::kMaxBatchSize));
  }
  *count = static_cast<uint32_t>(ops.ops.size());
  return absl::OkStatus();
}

absl::Status DBImpl::CommitLocked(std::string_view rep,
                                  const SingleEntry* single, Wait* wait,
                                  bool other_compaction) {
  // The write lock is held, so only this thread moves the head until it
  // returns. mu_ (this process's index) is taken exclusively only when a
  // long tail of records must be indexed or a generation swapped; the new
  // record itself is indexed only if mu_ is free at once (otherwise readers
  // find it in the tail), so the writer never waits for readers and
  // readers wait for the writer at most for one index insert.
  OpCollector ops;
  // Each key's hash, for the log index and the snapshot alike.
  absl::InlinedVector<uint64_t, 8> hashes;
  absl::Status s;
  if (single != nullptr) {
    ops.ops.push_back(single->entry);
    hashes.push_back(single->hash);
  } else {
    s = ops.Collect(rep);
    if (!s.ok()) return s;
    for (const OpCollector::Op& op : ops.ops) hashes.push_back(Hash64(op.key));
  }

  std::shared_ptr<Generation> g;
  uint64_t head = 0;
  uint32_t tail_end = 0;
  int64_t delta = 0;  // Entry count: which keys exist before and after.
  uint64_t puts = 0, deletes = 0;
  for (int attempt = 0; g == nullptr; attempt++) {
    {
      std::shared_lock<std::shared_mutex> l(mu_);
      head = block_.head().load(std::memory_order_acquire);
      const uint64_t applied = applied_head_.load(std::memory_order_relaxed);
      if (head != applied && attempt == 0) tail_end = SearchableTailEnd(head);
      if (head == applied || tail_end != 0) {
        g = current_;
        // Keys an earlier entry of the batch wrote (several entries only).
        const bool several = ops.ops.size() > 1;
        absl::flat_hash_map<std::string_view, bool> overlay;
        for (size_t i = 0; i < ops.ops.size(); i++) {
          const OpCollector::Op& op = ops.ops[i];
          bool existed;
          auto it = several ? overlay.find(op.key) : overlay.end();
          if (it != overlay.end()) {
            existed = it->second;
          } else {
            s = ExistsLocked(op.key, hashes[i], tail_end, &existed);
            if (!s.ok()) return s;
          }
          const bool exists = !op.deleted;
          delta += static_cast<int64_t>(exists) - static_cast<int64_t>(existed);
          if (several) overlay[op.key] = exists;
          (op.deleted ? deletes : puts)++;
        }
        break;
      }
    }
    std::unique_lock<std::shared_mutex> l(mu_);
    s = RefreshLocked();
    if (!s.ok()) return s;
  }
  const uint32_t end = control::HeadOffset(head);  // Where the record goes.

  // An uncompressed record is written straight into the log (below); a
  // compressed one is built first, in a buffer reused from commit to commit.
  const bool compress = compress_ && rep.size() >= block_.compression_threshold();
  std::string& record = record_;
  if (compress) {
    if (record.capacity() > (size_t{1} << 20)) {
      std::string().swap(record);  // A huge batch's buffer is not kept.
    }
    record.clear();
    log::AppendRecord(rep, /*compress=*/true, &record);
  }
  const size_t record_size =
      compress ? record.size() : log::kRecordHeaderSize + rep.size();
  bool folded = false;
  uint32_t at = end;
  if (g->gen == 0 || record_size > g->record_capacity - end) {
    if (wait != nullptr && g->gen != 0 && port::CurrentPid() == bg_pid_) {
      std::lock_guard<std::mutex> l(bg_mu_);
      if (bg_scheduled_ && !bg_stop_) {
        wait->what = WaitFor::kOwnCompaction;
        wait->published = bg_published_;
        return absl::OkStatus();
      }
    }
    if (wait != nullptr && other_compaction && g->gen != 0) {
      // Another process's background compaction holds the compaction
      // mutex: it needs the write lock only to publish.
      if (!LockCompaction(0).ok()) {
        wait->what = WaitFor::kOtherCompaction;
        return absl::OkStatus();
      }
      port::ProcessMutex::Unlock(block_.compaction_mutex());
    }
    // A new log holds at least initial_log_size bytes; a record larger
    // than that goes straight into the new snapshot.
    {
      std::unique_lock<std::shared_mutex> l(mu_);
      s = RefreshLocked();  // Compaction folds the whole log.
      if (!s.ok()) return s;
    }
    folded = record_size > block_.initial_log_size();
    s = CompactLocked(folded ? rep : std::string_view());
    if (!s.ok()) return s;
    std::shared_lock<std::shared_mutex> l(mu_);
    g = current_;
    at = 0;
  }
  if (!folded) {
    s = ReserveLog(g.get(), at, record_size);
    if (!s.ok()) return s;
    // Past the head: no reader looks at these bytes until the head moves.
    char* dst = const_cast<char*>(g->records) + at;
    if (compress) {
      std::memcpy(dst, record.data(), record_size);
    } else {
      log::EncodeRecord(rep, dst);
    }
    FaultPoint("write.before_publish");
    block_.entries().fetch_add(static_cast<uint64_t>(delta),
                               std::memory_order_relaxed);
    const uint64_t old_head = control::MakeHead(g->gen, at);
    const uint64_t new_head =
        control::MakeHead(g->gen, at + static_cast<uint32_t>(record_size));
    block_.head().store(new_head, std::memory_order_release);
    FaultPoint("write.after_publish");
    std::unique_lock<std::shared_mutex> l(mu_, std::try_to_lock);
    // (AppendRecord keeps a record uncompressed when that is smaller.)
    const bool compressed =
        compress && (static_cast<uint8_t>(record[8]) & log::kCompressedFlag) != 0;
    if (!l.owns_lock()) {
      // Readers are busy: they find the record in the tail meanwhile.
    } else if (!compressed && current_ == g &&
               applied_head_.load(std::memory_order_relaxed) == old_head) {
      // Index our own record from the ops already decoded (and checked)
      // above, pointing into the record's copy in the log.
      const char* payload = g->records + at + log::kRecordHeaderSize;
      GrowIndexFor(g.get(), ops.ops.size());
      for (size_t i = 0; i < ops.ops.size(); i++) {
        const OpCollector::Op& op = ops.ops[i];
        LogIndex::Entry in_log = op;
        in_log.start = payload + (op.start - rep.data());
        g->index.Insert(LogIndex::MakeKey(op.key, hashes[i]), in_log,
                        payload + rep.size());
      }
      g->Indexed(static_cast<uint32_t>(record_size), 1);
      applied_head_.store(new_head, std::memory_order_relaxed);
    } else {
      s = RefreshLocked();
      if (!s.ok()) return s;
    }
    MaybeReserveAhead(g, at + record_size);
    MaybeScheduleCompaction(at + static_cast<uint32_t>(record_size),
                            g->compact_at);
  }
  block_.puts().fetch_add(puts, std::memory_order_relaxed);
  block_.deletes().fetch_add(deletes, std::memory_order_relaxed);
  block_.sequence().fetch_add(1, std::memory_order_relaxed);
  block_.change().fetch_add(1, std::memory_order_seq_cst);
  // A syscall only when some process waits (see WaitForChange).
  if (block_.waiters().load(std::memory_order_seq_cst) != 0) {
    port::FutexWakeAll(&block_.change());
  }
  return absl::OkStatus();
}

// One update of a key on its way into a snapshot. For equal keys the later
// update (higher `order`) wins. `prefix` (set by MakeChange, while the
// key's bytes are at hand: they were just decoded) holds the first 16 key
// bytes as two big-endian, zero-padded words, which order like
// the keys do as far as they go: most comparisons end there, without
// touching the keys scattered over the log (a cache miss each).
struct DBImpl::Change {
  std::string_view key;
  LogValue value;
  size_t order;
  KeyPrefix prefix;
};

namespace {

using Change = DBImpl::Change;

// Bytes [start, start + 8) of key as a big-endian word, zero-padded.
uint64_t KeyWord(std::string_view key, size_t start) {
  if (key.size() >= start + 8) {
    uint64_t word;
    std::memcpy(&word, key.data() + start, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    word = __builtin_bswap64(word);
#endif
    return word;
  }
  uint64_t word = 0;
  for (size_t i = start; i < start + 8; i++) {
    word = word << 8 | (i < key.size() ? static_cast<unsigned char>(key[i]) : 0u);
  }
  return word;
}

DBImpl::KeyPrefix PrefixOf(std::string_view key) {
  return {KeyWord(key, 0), KeyWord(key, 8)};
}

// Bytewise comparison of keys a and b given their prefixes. When the
// prefixes are equal and both keys are at most 16 bytes long, the shorter
// key is a prefix of the longer one: the keys' bytes are not needed.
int CompareKeys(const DBImpl::KeyPrefix& pa, std::string_view a,
                const DBImpl::KeyPrefix& pb, std::string_view b) {
  if (pa != pb) return pa < pb ? -1 : 1;
  if (a.size() <= 16 && b.size() <= 16) {
    return a.size() == b.size() ? 0 : (a.size() < b.size() ? -1 : 1);
  }
  return a.compare(b);
}

Change MakeChange(std::string_view key, DBImpl::LogValue value, size_t order) {
  return Change{key, value, order, PrefixOf(key)};
}

// Sorts the changes and writes them, merged with g's snapshot, into
// builder. Entries the changes leave alone are copied whole, checksum and
// compression included, without being decoded.
absl::Status MergeChanges(const DBImpl::Generation& g, std::vector<Change>* changes,
                          snapshot::Builder* builder,
                          absl::FunctionRef<void()> tick) {
  // The keys lie all over the log: fetch them ahead of use.
  constexpr size_t kAhead = 16;
  const size_t total = changes->size();
  std::sort(changes->begin(), changes->end(), [](const Change& a, const Change& b) {
    const int c = CompareKeys(a.prefix, a.key, b.prefix, b.key);
    return c != 0 ? c < 0 : a.order < b.order;
  });
  // Keep the last change of each key.
  size_t n = 0;
  for (size_t i = 0; i < total; i++) {
    const Change& c = (*changes)[i];
    if (i + 1 < total &&
        CompareKeys(c.prefix, c.key, (*changes)[i + 1].prefix,
                    (*changes)[i + 1].key) == 0) {
      continue;
    }
    (*changes)[n++] = c;
  }
  changes->resize(n);

  const uint64_t snap_count = g.gen == 0 ? 0 : g.snapshot.count();
  uint64_t si = 0;
  size_t li = 0;
  snapshot::Entry entry;
  DBImpl::KeyPrefix entry_prefix;
  bool have_entry = false;
  absl::Status s;
  for (uint64_t step = 0; s.ok(); step++) {
    if ((step & 1023) == 0) tick();
    if (!have_entry && si < snap_count) {
      s = g.snapshot.EntryAt(si, &entry, /*verify=*/false);
      if (!s.ok()) return s;
      entry_prefix = PrefixOf(entry.key);
      have_entry = true;
    }
    const bool log_left = li < n;
    if (!have_entry && !log_left) break;
    int order = -1;  // Of the next change against the next entry.
    if (log_left && have_entry) {
      const Change& c = (*changes)[li];
      order = CompareKeys(c.prefix, c.key, entry_prefix, entry.key);
    }
    if (log_left && order <= 0) {
      if (li + kAhead < n) {
        const Change& ahead = (*changes)[li + kAhead];
        __builtin_prefetch(ahead.key.data());
        if (!ahead.value.deleted) __builtin_prefetch(ahead.value.value.data());
      }
      const Change& change = (*changes)[li++];
      if (order == 0) {
        have_entry = false;
        si++;
      }
      if (!change.value.deleted) s = builder->Add(change.key, change.value.value);
    } else {
      s = builder->AddRaw(entry.key, entry.raw);
      have_entry = false;
      si++;
    }
  }
  return s;
}

}  // namespace

absl::Status DBImpl::BuildSnapshot(const Generation& g, std::vector<Change>* changes,
                                   const std::string& path, port::Segment* out,
                                   uint64_t* count) {
  // Leftovers of a writer that died before publishing it.
  port::Unlink(path).IgnoreError();
  snapshot::BuildOptions options;
  options.generation = g.gen + 1;
  options.compress = compress_;
  options.compression_threshold = block_.compression_threshold();
  options.mode = options_.mode;
  snapshot::Builder builder;
  const uint64_t snap_count = g.gen == 0 ? 0 : g.snapshot.count();
  absl::Status s = builder.Start(path, options, snap_count + changes->size());
  if (s.ok()) s = MergeChanges(g, changes, &builder, [this] { MaybeServeReserve(); });
  if (!s.ok()) return s;  // The builder removes its file.
  absl::StatusOr<port::Segment> snap = builder.Finish();
  if (!snap.ok()) return snap.status();
  *out = std::move(*snap);
  *count = builder.count();
  return absl::OkStatus();
}

absl::Status DBImpl::PrepareGeneration(const Generation& old, port::Segment snap,
                                       const std::string& log_path,
                                       uint32_t carried_from, uint32_t carried_to,
                                       uint64_t base_sequence,
                                       std::shared_ptr<Generation>* out,
                                       bool serve_reserve) {
  const uint32_t new_gen = old.gen + 1;
  const uint32_t carried = carried_to - carried_from;
  // The log grows with the data: compaction costs O(data) and starts after
  // O(data) bytes of writes (SetUpLog), so its cost per write
  // stays flat. The log itself holds eight times the snapshot plus four
  // times the records carried into it, reserved only as writes approach:
  // the room beyond the compaction point is what writers fill while a
  // background compaction runs (2-3 s at 10 M entries), instead of waiting
  // for it. Writers outrun compaction about 1:1 in bytes (the compaction
  // writes a whole snapshot and carries what came meanwhile, in rounds
  // that chase the head), so while a dictionary grows, less room made the
  // writer wait: 3x the snapshot, for 4 of a 1 M fill's 7 compactions;
  // 4x + 2x carried, for 2-3 of them (5-40 ms each). Unwritten room costs
  // nothing on tmpfs (a sparse file), and a writer that does not outrun
  // the compaction never reaches it. Where a segment takes all its space
  // when created (Windows), half as much room.
  const size_t per_snapshot_byte = port::kSparseSegments ? 8 : 4;
  const size_t per_carried_byte = port::kSparseSegments ? 4 : 2;
  size_t capacity = std::max<size_t>(block_.initial_log_size(),
                                     per_snapshot_byte * snap.size());
  capacity += per_carried_byte * carried;
  capacity = (capacity + log::kHeaderSize + 4095) & ~size_t{4095};
  capacity = std::min(capacity, kMaxLogSize);
  port::Unlink(log_path).IgnoreError();  // A leftover of a dead compactor.
  // Only the header is reserved here; records are as they are carried or
  // written (ReserveLog), or ahead of the writer (MaybeReserveAhead).
  absl::StatusOr<port::Segment> log_segment =
      port::Segment::Create(log_path, capacity, options_.mode, log::kHeaderSize);
  if (!log_segment.ok()) return log_segment.status();
  log::EncodeHeader(log_segment->data(), new_gen, capacity, base_sequence);

  auto next = std::make_shared<Generation>();
  next->gen = new_gen;
  next->snap_segment = std::move(snap);
  next->snap_segment.CloseFile();  // See Generation::file_mu.
  next->log_segment = std::move(*log_segment);
  const std::string log_name = LogFileName(dir_, name_, key_, new_gen);
  absl::Status s =
      next->snapshot.Open(next->snap_segment.data(), next->snap_segment.size(),
                          SnapshotFileName(dir_, name_, key_, new_gen));
  if (s.ok()) {
    s = log::ParseHeader(next->log_segment.data(), next->log_segment.size(),
                         log_name, &next->log_header);
  }
  if (!s.ok()) {
    port::Unlink(log_path).IgnoreError();
    return s;
  }
  SetUpLog(next.get());
  bool fits = true;
  s = CarryRecords(old, carried_from, carried_to, next.get(), &fits, serve_reserve);
  if (s.ok() && !fits) s = absl::InternalError("carried records do not fit");
  if (!s.ok()) {
    port::Unlink(log_path).IgnoreError();
    return s;
  }
  *out = std::move(next);
  return absl::OkStatus();
}

absl::Status DBImpl::CarryRecords(const Generation& old, uint32_t from,
                                  uint32_t to, Generation* next, bool* fits,
                                  bool serve_reserve) {
  // Records do not depend on where they lie: they move over as they are,
  // after those carried before, and are indexed where they now lie.
  if (from > to || to > old.record_capacity) {
    return absl::DataLossError(
        absl::StrCat(LogFileName(dir_, name_, key_, old.gen), ": records [",
                     from, ", ", to, ") to carry over lie outside the log's ",
                     old.record_capacity, " bytes"));
  }
  const size_t at = next->applied;
  const size_t length = to - from;
  *fits = length <= next->record_capacity - at;
  if (!*fits || length == 0) return absl::OkStatus();
  absl::Status s = ReserveLog(next, at, length);
  if (!s.ok()) return s;
  std::memcpy(const_cast<char*>(next->records) + at, old.records + from, length);
  return ApplyRecordsLocked(next, static_cast<uint32_t>(at + length), serve_reserve);
}

absl::Status DBImpl::ReserveLog(Generation* g, size_t at, size_t length) {
  if (at + length <= g->reserved) return absl::OkStatus();
  // Any process may have reserved these pages already: again is harmless.
  size_t step = std::min(g->record_capacity - at, std::max(length, kLogReserveStep));
  absl::Status s = g->ReserveFile(log::kHeaderSize + at, step);
  if (absl::IsResourceExhausted(s) && step > length) {
    step = length;  // A whole step does not fit: the bytes asked may.
    s = g->ReserveFile(log::kHeaderSize + at, step);
  }
  if (s.ok()) g->Reserved(at + step);
  return s;
}

void DBImpl::MaybeReserveAhead(const std::shared_ptr<Generation>& g, size_t end) {
  const size_t wanted = std::min(end + kReserveAhead, g->record_capacity);
  if (wanted <= g->reserved.load(std::memory_order_relaxed) ||
      wanted <= g->reserve_asked) {
    return;
  }
  if (!options_.background_compaction || port::CurrentPid() != bg_pid_) return;
  g->reserve_asked = std::min(end + 2 * kReserveAhead, g->record_capacity);
  std::lock_guard<std::mutex> l(bg_mu_);
  if (bg_stop_) return;
  reserve_->gen = g;
  reserve_->end = g->reserve_asked;
  reserve_->pending = true;
  reserve_wanted_.store(true, std::memory_order_relaxed);
  WakeBackgroundLocked();
}

void DBImpl::ServeReserve() {
  if (tls_background != this) return;
  std::shared_ptr<Generation> g;
  size_t end;
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    reserve_wanted_.store(false, std::memory_order_relaxed);
    if (!reserve_->pending) return;
    reserve_->pending = false;
    g = reserve_->gen.lock();  // Null when the generation is gone.
    reserve_->gen.reset();
    end = reserve_->end;
  }
  if (g == nullptr) return;
  // A failure (a full filesystem) is left for the writer to meet and report.
  for (;;) {
    const size_t from = g->reserved.load(std::memory_order_acquire);
    if (from >= end) break;
    const uint64_t head = block_.head().load(std::memory_order_relaxed);
    if (control::HeadGeneration(head) != g->gen) break;  // Compacted meanwhile.
    // In small steps: populating pages holds this process's mmap lock,
    // which the writer's own page faults (a growing index) wait for.
    const size_t step = std::min(end - from, kLogReserveStep / 4);
    if (!g->ReserveFile(log::kHeaderSize + from, step).ok()) break;
    g->Reserved(from + step);
  }
}

absl::Status DBImpl::LockCompaction(int64_t timeout_ms) {
  bool died = false;
  absl::Status s = port::ProcessMutex::Lock(block_.compaction_mutex(), timeout_ms, &died);
  if (s.ok() && died) {
    // Its temporary files are ours to remove: no other background
    // compactor runs while we hold the mutex (inline ones use final names).
    RemoveStaleFiles(0, /*other_generations=*/false, /*all_temps=*/true);
    port::ProcessMutex::MarkConsistent(block_.compaction_mutex());
  }
  return s;
}

absl::Status DBImpl::PublishGeneration(const Generation& old,
                                       std::shared_ptr<Generation> next) {
  {
    // This process's readers switch with the head: a reader that saw the
    // new head before current_ would load and index the new generation
    // all over again (tens of milliseconds with mu_ held).
    std::unique_lock<std::shared_mutex> l(mu_);
    FaultPoint("compact.before_publish");
    const uint64_t head = control::MakeHead(next->gen, next->applied);
    block_.head().store(head, std::memory_order_release);
    FaultPoint("compact.after_publish");
    current_->CloseFiles();  // `old`, which the caller still holds.
    current_ = std::move(next);
    applied_head_.store(head, std::memory_order_relaxed);
  }
  if (old.gen != 0) {
    block_.compactions().fetch_add(1, std::memory_order_relaxed);
    // Retire the old generation. Processes that still map it keep their
    // mapping; those that try to open it now follow the head instead.
    port::Unlink(SnapshotFileName(dir_, name_, key_, old.gen)).IgnoreError();
    port::Unlink(LogFileName(dir_, name_, key_, old.gen)).IgnoreError();
  }
  // Temporary files of a compactor that died building this generation (or
  // an older one) are of no use now; a live one building it gives up when
  // it sees the head moved.
  RemoveStaleFiles(old.gen + 1, /*other_generations=*/false, /*all_temps=*/false);
  return absl::OkStatus();
}

absl::Status DBImpl::CompactLocked(std::string_view pending_rep) {
  // Holding the write lock: the current generation and its index are
  // stable (the caller refreshed it). They are read under mu_ shared, so
  // this process's readers go on.
  std::shared_ptr<const Generation> old;
  std::vector<Change> changes;
  {
    std::shared_lock<std::shared_mutex> reading(mu_);
    old = current_;
    changes.reserve(old->index.size());
    const bool all = old->index.ForEach([&changes](const LogIndex::Entry& e) {
      changes.push_back(MakeChange(e.key, LogValue{e.value, e.deleted}, 0));
    });
    if (!all) return DamagedIndexEntry(*old);
  }
  const Generation& g = *old;
  if (!pending_rep.empty()) {
    OpCollector ops;
    absl::Status s = ops.Collect(pending_rep);
    if (!s.ok()) return s;
    for (const OpCollector::Op& op : ops.ops) {
      changes.push_back(
          MakeChange(op.key, LogValue{op.value, op.deleted}, changes.size() + 1));
    }
  }
  FaultPoint("compact.before_snapshot");
  port::Segment snap;
  uint64_t count = 0;
  absl::Status s =
      BuildSnapshot(g, &changes, SnapshotFileName(dir_, name_, key_, g.gen + 1),
                    &snap, &count);
  if (!s.ok()) return s;
  FaultPoint("compact.after_snapshot");
  block_.entries().store(count, std::memory_order_relaxed);
  const uint64_t base_sequence = g.log_header.base_sequence +
                                 g.applied_records + (pending_rep.empty() ? 0 : 1);
  std::shared_ptr<Generation> next;
  s = PrepareGeneration(g, std::move(snap),
                        LogFileName(dir_, name_, key_, g.gen + 1), g.applied,
                        g.applied, base_sequence, &next);
  if (s.ok()) s = PublishGeneration(g, std::move(next));
  if (!s.ok()) {
    port::Unlink(SnapshotFileName(dir_, name_, key_, g.gen + 1)).IgnoreError();
  }
  Retire(std::move(old));
  return s;
}

void DBImpl::MaybeScheduleCompaction(uint32_t used, size_t compact_at) {
  if (!options_.background_compaction || used < compact_at) return;
  if (port::CurrentPid() != bg_pid_) return;  // A fork child compacts inline.
  std::lock_guard<std::mutex> l(bg_mu_);
  if (bg_scheduled_ || bg_stop_) return;
  bg_scheduled_ = true;
  WakeBackgroundLocked();
}

void DBImpl::Retire(std::shared_ptr<const Generation> generation) {
  // Unmapping a large generation takes a while (the kernel frees its
  // pages): let the background thread do it, when there is one.
  if (!options_.background_compaction || port::CurrentPid() != bg_pid_) return;
  std::lock_guard<std::mutex> l(bg_mu_);
  if (bg_stop_) return;
  retired_.push_back(std::move(generation));
  WakeBackgroundLocked();
}

void DBImpl::WakeBackgroundLocked() {
  if (!bg_thread_.joinable()) {
    bg_thread_ = std::thread([this] { BackgroundLoop(); });
  }
  bg_cv_->notify_one();
}

void DBImpl::BackgroundLoop() {
  tls_background = this;
  std::unique_lock<std::mutex> l(bg_mu_);
  for (;;) {
    bg_cv_->wait(l, [this] {
      return bg_scheduled_ || bg_stop_ || !retired_.empty() ||
             reserve_->pending;
    });
    std::vector<std::shared_ptr<const Generation>> retired;
    retired.swap(retired_);
    if (bg_stop_) return;  // `retired` is released on the way out.
    const bool compact = bg_scheduled_;
    l.unlock();
    MaybeServeReserve();  // First: the writer is about to need the pages.
    retired.clear();
    if (compact) {
      BackgroundCompaction().IgnoreError();  // Writers compact inline if need be.
    }
    l.lock();
    if (compact) {
      bg_scheduled_ = false;
      bg_cv_->notify_all();
    }
  }
}

void DBImpl::StopBackground() {
  if (port::CurrentPid() != bg_pid_) {
    // A fork child: the thread (and whatever it held) lives only in the
    // parent. Forget it without touching its state: not even the condition
    // variable it may have been waiting on at the fork, which the child
    // inherited with a waiter that never leaves (destroying it would wait
    // for that waiter forever).
    if (bg_thread_.joinable()) {
      new std::thread(std::move(bg_thread_));
      (void)bg_cv_.release();
      (void)reserve_.release();  // That thread may have been changing it.
    }
    return;
  }
  {
    std::lock_guard<std::mutex> l(bg_mu_);
    bg_stop_ = true;
    bg_cv_->notify_all();
  }
  if (bg_thread_.joinable()) bg_thread_.join();
  retired_.clear();
  if (reserve_ != nullptr) *reserve_ = ReserveRequest();
}

absl::Status DBImpl::BackgroundCompaction() {
  // One compactor at a time in all processes; skip when another one runs.
  absl::Status s = LockCompaction(1);
  if (!s.ok()) return s;
  struct Unlock {
    void* mutex;
    ~Unlock() { port::ProcessMutex::Unlock(mutex); }
  } unlock{block_.compaction_mutex()};

  // 1. Under the write lock: the generation and how far it is committed.
  std::shared_ptr<const Generation> old;
  uint32_t frozen;
  uint64_t frozen_records;
  {
    WriterLock lock(this);
    if (!lock.status().ok()) return lock.status();
    std::unique_lock<std::shared_mutex> l(mu_);
    s = RefreshLocked();
    if (!s.ok()) return s;
    old = current_;
    frozen = old->applied;
    frozen_records = old->applied_records;
    if (old->gen == 0 || frozen < old->compact_at) {
      return absl::OkStatus();  // Compacted by someone else meanwhile.
    }
  }
  const Generation& g = *old;

  // 2. Without it: the log's records below `frozen` never change while the
  // generation lives, so they are read in place.
  std::vector<Change> changes;
  // At least one change per record: grown in steps, the vector was
  // copied and its fresh pages faulted in over and over (a sixth of the
  // thread's time in a fill).
  changes.reserve(frozen_records);
  std::deque<std::string> buffers;  // Decompressed records.
  s = ForEachBatch(
      g, 0, frozen,
      [&](std::string_view batch, std::string* scratch, uint32_t) {
        MaybeServeReserve();
        if (!scratch->empty()) {
          buffers.push_back(std::move(*scratch));
          batch = buffers.back();
        }
        OpCollector ops;
        absl::Status st = ops.Collect(batch);
        for (const OpCollector::Op& op : ops.ops) {
          changes.push_back(
              MakeChange(op.key, LogValue{op.value, op.deleted}, changes.size()));
        }
        return st;
      });
  if (!s.ok()) return s;
  const std::string tmp = TempSnapshotFileName(dir_, name_, key_, g.gen + 1);
  port::Segment snap;
  uint64_t count = 0;
  FaultPoint("bgcompact.before_snapshot");
  s = BuildSnapshot(g, &changes, tmp, &snap, &count);
  if (!s.ok()) return s;
  FaultPoint("bgcompact.after_snapshot");

  // 3. Still without it: the next generation's log, holding the records
  // committed meanwhile (which never change either), indexed; in rounds, so
  // that little is left for 4.
  const std::string tmp_log = TempLogFileName(dir_, name_, key_, g.gen + 1);
  struct Leftovers {  // Removed unless published.
    const std::string& snap;
    const std::string& log;
    bool keep = false;
    ~Leftovers() {
      if (keep) return;
      port::Unlink(snap).IgnoreError();
      port::Unlink(log).IgnoreError();
    }
  } leftovers{tmp, tmp_log};
  uint64_t head = block_.head().load(std::memory_order_acquire);
  if (control::HeadGeneration(head) != g.gen) return absl::OkStatus();
  const uint64_t base_sequence = g.log_header.base_sequence + frozen_records;
  std::shared_ptr<Generation> next;
  s = PrepareGeneration(g, std::move(snap), tmp_log, frozen,
                        control::HeadOffset(head), base_sequence, &next,
                        /*serve_reserve=*/true);
  if (!s.ok()) return s;
  uint32_t carried_to = control::HeadOffset(head);
  bool fits = true;
  // Each round carries what came during the previous one, which is less as
  // long as carrying is faster than writing; stop when little is left.
  for (int round = 0; fits && round < 8; round++) {
    head = block_.head().load(std::memory_order_acquire);
    if (control::HeadGeneration(head) != g.gen) return absl::OkStatus();
    const uint32_t end = control::HeadOffset(head);
    if (end - carried_to <= kLockedCarryBytes) break;
    s = CarryRecords(g, carried_to, end, next.get(), &fits, /*serve_reserve=*/true);
    if (!s.ok()) return s;
    if (fits) carried_to = end;
  }
  FaultPoint("bgcompact.after_carry");

  // 4. Under the write lock again: carry the last records and publish,
  // unless the generation moved on (an inline compaction).
  WriterLock lock(this);
  if (!lock.status().ok()) return lock.status();
  head = block_.head().load(std::memory_order_acquire);
  if (control::HeadGeneration(head) != g.gen) return absl::OkStatus();
  if (fits) {
    s = CarryRecords(g, carried_to, control::HeadOffset(head), next.get(), &fits);
    if (!s.ok()) return s;
  }
  if (!fits) {  // Rare: more came than the log was sized for. Start over.
    port::Segment built = std::move(next->snap_segment);
    next.reset();
    s = PrepareGeneration(g, std::move(built), tmp_log, frozen,
                          control::HeadOffset(head), base_sequence, &next);
    if (!s.ok()) return s;
  }
  const std::string snap_name = SnapshotFileName(dir_, name_, key_, g.gen + 1);
  const std::string log_name = LogFileName(dir_, name_, key_, g.gen + 1);
  s = port::Rename(tmp, snap_name);
  if (s.ok()) {
    s = port::Rename(tmp_log, log_name);
    if (!s.ok()) port::Unlink(snap_name).IgnoreError();
  }
  if (!s.ok()) return s;
  leftovers.keep = true;
  s = PublishGeneration(g, std::move(next));
  if (s.ok()) {
    // Writers waiting for room go on now, not after the old generation
    // is unmapped (tens of milliseconds at a million entries).
    std::lock_guard<std::mutex> l(bg_mu_);
    bg_published_++;
    bg_cv_->notify_all();
  }
  return s;
}

absl::Status DBImpl::Write(const WriteBatch& batch) {
  const std::string_view rep = WriteBatchInternal::Contents(batch);
  uint32_t count = 0;
  absl::Status s = CheckBatch(rep, &count);
  if (!s.ok() || count == 0) return s;
  return Commit(rep);
}

absl::Status DBImpl::Commit(std::string_view rep, const SingleEntry* single) {
  bool waited_for_other = false;
  for (;;) {
    Wait wait;
    {
      WriterLock lock(this);
      if (!lock.status().ok()) return lock.status();
      absl::Status s = CommitLocked(rep, single, &wait,
                                    /*other_compaction=*/!waited_for_other);
      if (wait.what == WaitFor::kNothing) return s;
    }
    if (wait.what == WaitFor::kOwnCompaction) {
      // The log is full while this process's background compaction runs:
      // wait for it to publish (it needs the write lock) rather than
      // compact again.
      std::unique_lock<std::mutex> l(bg_mu_);
      bg_cv_->wait_for(l, std::chrono::seconds(10), [&] {
        return !bg_scheduled_ || bg_stop_ || bg_published_ != wait.published;
      });
    } else {
      // Another process's: wait until it releases the compaction mutex
      // (published, or given up), once; then compact inline if still full.
      waited_for_other = true;
      if (LockCompaction(kWaitForOtherCompactionMs).ok()) {
        port::ProcessMutex::Unlock(block_.compaction_mutex());
      }
    }
  }
}

void DBImpl::PrefetchForWrite(std::string_view key, uint64_t hash) {
  // The writer looks the key up (ExistsLocked) in this process's index of
  // the log and in the snapshot: a cache miss each at scale. Start both now,
  // to overlap with building the record and taking the write lock.
  std::shared_lock<std::shared_mutex> l(mu_);
  if (current_ == nullptr) return;
  current_->index.Prefetch(LogIndex::MakeKey(key, hash));
  current_->snapshot.Prefetch(hash);
}

absl::Status DBImpl::CommitOne(std::string_view key,
                               const std::string_view* value, bool locked) {
  absl::Status s =
      CheckSizes(key, value != nullptr ? *value : std::string_view());
  if (!s.ok()) return s;
  const uint64_t hash = Hash64(key);
  PrefetchForWrite(key, hash);
  // The batch of one entry is encoded directly (on the stack when it is
  // small) and handed to the commit decoded: 550 of a put's 2,600
  // instructions went to building a WriteBatch and decoding it again.
  constexpr size_t kOnStack = 1024;
  const size_t size = WriteBatchInternal::SingleEntrySize(key, value);
  char on_stack[kOnStack];
  std::unique_ptr<char[]> on_heap;
  char* rep = on_stack;
  if (size > kOnStack) {
    on_heap.reset(new char[size]);  // Not zeroed: every byte is written.
    rep = on_heap.get();
  }
  SingleEntry single;
  single.hash = hash;
  WriteBatchInternal::EncodeSingleEntry(key, value, rep, &single.entry);
  if (locked) return CommitLocked(std::string_view(rep, size), &single);
  return Commit(std::string_view(rep, size), &single);
}

absl::Status DBImpl::Put(std::string_view key, std::string_view value) {
  return CommitOne(key, &value);
}

absl::Status DBImpl::Delete(std::string_view key) {
  return CommitOne(key, nullptr);
}

absl::Status DBImpl::Update(
    std::string_view key,
    absl::FunctionRef<std::optional<std::string>(const std::string_view*)> fn) {
  absl::Status s = CheckSizes(key, {});
  if (!s.ok()) return s;
  WriterLock lock(this);
  if (!lock.status().ok()) return lock.status();
  std::optional<std::string> current;
  {
    std::unique_lock<std::shared_mutex> l(mu_);
    s = RefreshLocked();
    if (!s.ok()) return s;
    std::string scratch;
    std::string_view v;
    s = LookupLocked(key, &scratch, &v);
    if (s.ok()) {
      current.emplace(v);
    } else if (!absl::IsNotFound(s)) {
      return s;
    }
  }
  std::string_view current_view;
  if (current.has_value()) current_view = *current;
  std::optional<std::string> next =
      fn(current.has_value() ? &current_view : nullptr);
  WriteBatch batch;
  if (next.has_value()) {
    s = CheckSizes(key, *next);
    if (!s.ok()) return s;
    batch.Put(key, *next);
  } else {
    if (!current.has_value()) return absl::OkStatus();  // Nothing to do.
    batch.Delete(key);
  }
  return CommitLocked(WriteBatchInternal::Contents(batch));
}

// A transaction's view: its own writes over the DB (whose head cannot move
// while the write lock is held).
class TransactionImpl : public Transaction {
 public:
  explicit TransactionImpl(DBImpl* db) : db_(db) {}

  absl::Status Get(std::string_view key, std::string* value) override {
    auto it = writes_.find(std::string(key));
    if (it != writes_.end()) {
      if (!it->second.has_value()) return absl::NotFoundError("key not found");
      *value = *it->second;
      return absl::OkStatus();
    }
    std::shared_lock<std::shared_mutex> l(db_->mu_);
    std::string scratch;
    std::string_view v;
    absl::Status s = db_->LookupLocked(key, &scratch, &v);
    if (absl::IsNotFound(s)) return absl::NotFoundError("key not found");
    if (s.ok()) value->assign(v.data(), v.size());
    return s;
  }
  void Put(std::string_view key, std::string_view value) override {
    if (!CheckSizes(key, value).ok() && status_.ok()) {
      status_ = CheckSizes(key, value);
    }
    writes_[std::string(key)] = std::string(value);
    batch_.Put(key, value);
  }
  void Delete(std::string_view key) override {
    if (!CheckSizes(key, {}).ok() && status_.ok()) status_ = CheckSizes(key, {});
    writes_[std::string(key)] = std::nullopt;
    batch_.Delete(key);
  }

  const WriteBatch& batch() const { return batch_; }
  const absl::Status& status() const { return status_; }

 private:
  DBImpl* db_;
  std::map<std::string, std::optional<std::string>> writes_;
  WriteBatch batch_;
  absl::Status status_;
};

absl::Status DBImpl::Transact(absl::FunctionRef<absl::Status(Transaction&)> fn) {
  WriterLock lock(this);
  if (!lock.status().ok()) return lock.status();
  {
    std::unique_lock<std::shared_mutex> l(mu_);
    absl::Status s = RefreshLocked();
    if (!s.ok()) return s;
  }
  TransactionImpl txn(this);
  absl::Status s = fn(txn);
  if (!s.ok()) return s;
  if (!txn.status().ok()) return txn.status();
  if (txn.batch().Count() == 0) return absl::OkStatus();
  return CommitLocked(WriteBatchInternal::Contents(txn.batch()));
}

// A held write lock (DB::LockWrites). Commits inline, like Update and
// Transact: a full log is compacted by this writer rather than waited for.
class WriteLockImpl : public WriteLock {
 public:
  explicit WriteLockImpl(DBImpl* db) : db_(db), pid_(port::CurrentPid()) {}
  ~WriteLockImpl() override {
    if (port::CurrentPid() == pid_) db_->UnlockWriter();
  }

  absl::Status Put(std::string_view key, std::string_view value) override {
    absl::Status s = CheckHolder();
    if (!s.ok()) return s;
    return db_->CommitOne(key, &value, /*locked=*/true);
  }
  absl::Status Delete(std::string_view key) override {
    absl::Status s = CheckHolder();
    if (!s.ok()) return s;
    return db_->CommitOne(key, nullptr, /*locked=*/true);
  }
  absl::Status Write(const WriteBatch& batch) override {
    absl::Status s = CheckHolder();
    if (!s.ok()) return s;
    const std::string_view rep = WriteBatchInternal::Contents(batch);
    uint32_t count = 0;
    s = db_->CheckBatch(rep, &count);
    if (!s.ok() || count == 0) return s;
    return db_->CommitLocked(rep);
  }

 private:
  absl::Status CheckHolder() const {
    if (port::CurrentPid() == pid_) return absl::OkStatus();
    return absl::FailedPreconditionError(
        "the write lock is held by the parent process (WriteLock used in a "
        "fork child)");
  }

  DBImpl* const db_;
  const int32_t pid_;
};

absl::StatusOr<std::unique_ptr<WriteLock>> DBImpl::LockWrites(
    int64_t timeout_ms) {
  if (timeout_ms < 0) {
    return absl::InvalidArgumentError("LockWrites: negative timeout");
  }
  absl::Status s = LockWriter(timeout_ms);
  if (!s.ok()) return s;
  return std::unique_ptr<WriteLock>(new WriteLockImpl(this));
}

std::unique_ptr<Iterator> DBImpl::NewIterator() {
  std::shared_ptr<const Generation> g;
  std::vector<std::pair<std::string_view, LogValue>> entries;
  absl::Status s = CheckFork();
  if (!s.ok()) return NewErrorIterator(s);
  {
    std::unique_lock<std::shared_mutex> l(mu_);
    s = RefreshLocked();
    if (!s.ok()) return NewErrorIterator(s);
    g = current_;
    entries.reserve(current_->index.size());
    const bool all = current_->index.ForEach([&entries](const LogIndex::Entry& e) {
      entries.emplace_back(e.key, LogValue{e.value, e.deleted});
    });
    if (!all) return NewErrorIterator(DamagedIndexEntry(*current_));
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return NewDBIterator(std::move(g), std::move(entries), live_iterators_);
}

absl::Status DBImpl::CompactLog() {
  WriterLock lock(this);
  if (!lock.status().ok()) return lock.status();
  {
    std::unique_lock<std::shared_mutex> l(mu_);
    absl::Status s = RefreshLocked();
    if (!s.ok()) return s;
  }
  return CompactLocked({});
}

absl::Status DBImpl::Sync() {
  absl::Status s = CheckFork();
  if (!s.ok()) return s;
  std::shared_ptr<Generation> g;
  {
    std::unique_lock<std::shared_mutex> l(mu_);
    s = RefreshLocked();
    if (!s.ok()) return s;
    g = current_;
  }
  if (g->gen != 0) {
    s = g->SyncFiles();
  }
  if (s.ok()) s = control_segment_.Sync();
  return s;
}

uint64_t DBImpl::LatestSequence() {
  const bool forked_ok = CheckFork().ok();  // Before mu_ (the lock order).
  std::unique_lock<std::shared_mutex> l(mu_);
  if (!forked_ok || !RefreshLocked().ok()) {
    return block_.sequence().load(std::memory_order_relaxed);
  }
  return current_->log_header.base_sequence + current_->applied_records;
}

uint64_t DBImpl::WaitForChange(uint64_t since, int64_t timeout_ms) {
  // Saturated: timeout_ms in nanoseconds overflows from ~9.2e12 ms, and
  // INT64_MAX means "wait without limit".
  using Clock = std::chrono::steady_clock;
  const auto now = Clock::now();
  const auto deadline =
      timeout_ms >= std::chrono::duration_cast<std::chrono::milliseconds>(
                        Clock::time_point::max() - now)
                        .count()
          ? Clock::time_point::max()
          : now + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    const uint32_t word = block_.change().load(std::memory_order_acquire);
    const uint64_t latest = LatestSequence();
    if (latest > since) return latest;
    const int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(
                             deadline - std::chrono::steady_clock::now())
                             .count();
    if (left <= 0) return latest;
    // Sleeps only while no commit happened since `word` was read. Writers
    // read `waiters` after bumping the change word (both seq_cst), so either
    // they see this waiter and wake it, or the wait sees the new word.
    block_.waiters().fetch_add(1, std::memory_order_seq_cst);
    if (block_.change().load(std::memory_order_seq_cst) == word) {
      port::FutexWait(&block_.change(), word, std::min<int64_t>(left, 1000));
    }
    block_.waiters().fetch_sub(1, std::memory_order_seq_cst);
  }
}

absl::StatusOr<uint64_t> DBImpl::ReadChanges(uint64_t since,
                                             WriteBatch::Handler* handler) {
  absl::Status s = CheckFork();
  if (!s.ok()) return s;
  std::shared_ptr<Generation> g;
  uint32_t end;
  {
    std::unique_lock<std::shared_mutex> l(mu_);
    s = RefreshLocked();
    if (!s.ok()) return s;
    g = current_;
    end = g->applied;
  }
  const uint64_t base = g->log_header.base_sequence;
  if (since < base) {
    return absl::OutOfRangeError(absl::StrCat(
        "updates ", since + 1, "..", base, " were folded into a snapshot"));
  }
  uint64_t seq = base;
  // Not ForEachBatch: records already seen are skipped without decoding.
  for (uint32_t offset = 0; offset < end;) {
    log::Record record;
    s = log::ReadRecord(g->records, end, offset, g->log_segment.path(), &record);
    if (!s.ok()) return s;
    seq++;
    if (seq > since) {
      std::string scratch;
      std::string_view batch;
      s = log::RecordBatch(record, &scratch, &batch);
      if (s.ok()) s = WriteBatchInternal::Iterate(batch, handler);
      if (!s.ok()) return s;
    }
    offset += static_cast<uint32_t>(record.size);
  }
  return std::max(seq, since);
}

std::string DBImpl::StatsString() {
  std::shared_ptr<Generation> g;
  uint64_t head;
  size_t index_keys, index_bytes;
  {
    std::unique_lock<std::shared_mutex> l(mu_);
    RefreshLocked().IgnoreError();
    g = current_;
    head = applied_head_.load(std::memory_order_relaxed);
    index_keys = g->index.size();
    index_bytes = g->index.MemoryUsage();
  }
  std::vector<std::string> pids;
  const std::vector<control::Member> members =
      control::LiveMembers(control_segment_.fd(), block_, slot_);
  for (const control::Member& m : members) pids.push_back(absl::StrCat(m.pid));
  return absl::StrCat(
      "name: ", name_, "\n", "directory: ", dir_, "\n",
      "generation: ", control::HeadGeneration(head), "\n",
      "entries: ", block_.entries().load(std::memory_order_relaxed), "\n",
      "sequence: ", g->log_header.base_sequence + g->applied_records, "\n",
      "log bytes used: ", control::HeadOffset(head), "\n",
      "log bytes capacity: ", g->record_capacity, "\n",
      "snapshot bytes: ", g->snap_segment.size(), "\n",
      "snapshot entries: ", g->gen == 0 ? 0 : g->snapshot.count(), "\n",
      "log index (this process): ", index_keys, " keys, ", index_bytes, " bytes\n",
      "compactions: ", block_.compactions().load(std::memory_order_relaxed), "\n",
      "puts: ", block_.puts().load(std::memory_order_relaxed), "\n",
      "deletes: ", block_.deletes().load(std::memory_order_relaxed), "\n",
      "recoveries: ", block_.recoveries().load(std::memory_order_relaxed), "\n",
      "members: ", members.size(), " (pids ", absl::StrJoin(pids, ","), ")\n",
      "lifetime: ", LifetimeName(block_.lifetime()), "\n",
      "compression: ", compress_ ? "zstd" : "none", "\n");
}

bool DBImpl::GetProperty(std::string_view property, std::string* value) {
  if (!CheckFork().ok()) return false;
  if (property == "ultradict.stats") {
    *value = StatsString();
    return true;
  }
  if (property == "ultradict.approximate-memory-usage") {
    std::shared_lock<std::shared_mutex> l(mu_);
    *value = absl::StrCat(control_segment_.size() + current_->snap_segment.size() +
                          current_->log_segment.size());
    return true;
  }
  if (property == "ultradict.index-memory-usage") {
    std::shared_lock<std::shared_mutex> l(mu_);
    *value = absl::StrCat(current_->index.MemoryUsage());
    return true;
  }
  if (property == "ultradict.num-entries") {
    *value = absl::StrCat(block_.entries().load(std::memory_order_relaxed));
    return true;
  }
  if (property == "ultradict.generation") {
    *value = absl::StrCat(
        control::HeadGeneration(block_.head().load(std::memory_order_acquire)));
    return true;
  }
  if (property == "ultradict.members") {
    std::vector<std::string> pids;
    for (const control::Member& m :
         control::LiveMembers(control_segment_.fd(), block_, slot_)) {
      pids.push_back(absl::StrCat(m.pid));
    }
    *value = absl::StrJoin(pids, ",");
    return true;
  }
  if (property == "ultradict.lifetime") {
    *value = LifetimeName(block_.lifetime());
    return true;
  }
  if (property == "ultradict.compression") {
    *value = compress_ ? "zstd" : "none";
    return true;
  }
  return false;
}

}  // namespace ultradict
