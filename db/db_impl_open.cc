// db_impl_open.cc: opening a dictionary (create or join), closing it
// (leave, and destroy it when its lifetime says so), and the handle's
// behaviour across fork(). See db_impl.h.

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "db/db_impl.h"
#include "db/filename.h"
#include "db/log_format.h"

namespace ultradict {

namespace {

constexpr size_t kMinLogSize = 4096;

absl::Status ValidateOptions(const Options& options) {
  if (options.log_size < kMinLogSize || options.log_size > log::kMaxRecordBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("log_size ", options.log_size, " outside [", kMinLogSize,
                     ", ", log::kMaxRecordBytes, "]"));
  }
  if (options.compression != Compression::kNoCompression &&
      options.compression != Compression::kZstdCompression) {
    return absl::InvalidArgumentError("unknown compression");
  }
  if (static_cast<uint8_t>(options.lifetime) > 2) {
    return absl::InvalidArgumentError("unknown lifetime");
  }
  if (options.compression_threshold > kMaxValueSize) {
    return absl::InvalidArgumentError(
        "compression_threshold over the value limit");
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

}  // namespace

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

absl::Status DBImpl::TryJoin(const std::string& path, port::Segment* segment,
                             bool* retry) {
  *retry = false;
  bool created = false;
  absl::StatusOr<port::Segment> opened =
      port::Segment::Open(path, options_.allow_other_owner, true);
  if (absl::IsNotFound(opened.status())) {
    if (!options_.create_if_missing) {
      return absl::NotFoundError(absl::StrCat("dictionary \"", name_,
                                              "\" does not exist in ", dir_,
                                              " (create_if_missing is false)"));
    }
    absl::Status s = CreateControl(path, segment);
    *retry = absl::IsAlreadyExists(s);  // Another process won; join it.
    if (!s.ok()) return *retry ? absl::OkStatus() : s;
    created = true;
  } else if (!opened.ok()) {
    return opened.status();
  } else {
    *segment = std::move(*opened);
  }
  absl::Status s =
      control::Block::Validate(segment->data(), segment->size(), path, name_);
  if (!s.ok()) return s;
  control::Block block(segment->data());
  if (!created) {
    s = control::AdoptAfterReboot(segment->fd(), block);
    if (!s.ok()) return s;
    // A dictionary that should have gone with its last member (which
    // was killed, so it did not close) is removed, then opened anew.
    *retry = RemoveIfAbandoned(dir_, name_, *segment);
    if (*retry) return absl::OkStatus();
    if (options_.error_if_exists) {
      return absl::AlreadyExistsError(absl::StrCat(
          "dictionary \"", name_, "\" already exists (error_if_exists)"));
    }
    if (!options_.observer) {
      s = control::ClaimMember(segment->fd(), block, port::CurrentPid(), &slot_,
                               &token_);
      // Its slots were all locked by a process destroying it (a last
      // Close, or RemoveIfAbandoned): start over.
      *retry = !s.ok() && block.state().load(std::memory_order_acquire) !=
                              control::kStateReady;
      if (!s.ok()) return *retry ? absl::OkStatus() : s;
    }
  }
  if (block.state().load(std::memory_order_acquire) != control::kStateReady) {
    // Destroyed between our open and our joining: start over.
    if (slot_ != control::kMaxMembers) {
      control::ReleaseMember(segment->fd(), block, slot_);
    }
    slot_ = control::kMaxMembers;
    *retry = true;
  }
  return absl::OkStatus();
}

absl::Status DBImpl::Init() {
  const std::string path = ControlFileName(dir_, name_);
  for (int attempt = 0; attempt < 100; attempt++) {
    port::Segment segment;
    bool retry = false;
    absl::Status s = TryJoin(path, &segment, &retry);
    if (!s.ok()) return s;
    if (!retry) return Adopt(std::move(segment));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return absl::UnavailableError(
      absl::StrCat(path, ": could not join (destroyed again and again)"));
}

absl::Status DBImpl::Adopt(port::Segment segment) {
  control_segment_ = std::move(segment);
  block_ = control::Block(control_segment_.data());
  files_.dir = dir_;
  files_.name = name_;
  files_.key = block_.file_key();
  files_.allow_other_owner = options_.allow_other_owner;
  files_.mode = options_.mode;
  files_.initial_log_size = block_.initial_log_size();
  compress_ = block_.compression() == Compression::kZstdCompression;
  pid_.store(port::CurrentPid(), std::memory_order_relaxed);
  port::WriterMutexLock l(&mu_);  // PrepareFork reads background_ under it.
  background_ = std::make_unique<Background>(
      options_.background_compaction,
      [this] { BackgroundCompaction().IgnoreError(); }, &block_.head());
  return RefreshLocked();
}

void DBImpl::Close() {
  if (background_ != nullptr) {  // Before anything it uses goes away.
    if (background_->InForkChild()) {
      Background::Abandon(std::move(background_));
    } else {
      background_->Stop();
    }
  }
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
  control::MemberProbe probe(fd);
  if (control::ShouldDestroyOnClose(fd, block_, creator, &probe)) {
    MarkDestroyedAndRemove(dir_, name_, control_segment_, 1000, nullptr);
  }
}

absl::Status DBImpl::CheckFork() {
  const int32_t pid = port::CurrentPid();
  if (pid == pid_.load(std::memory_order_relaxed)) return absl::OkStatus();
  port::MutexLock l(&fork_mu_);
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
  fork_mu_.Lock();
  mu_.Lock();
  if (background_ != nullptr) background_->LockForFork();
  // The background thread reserves pages of the current log under it.
  fork_locked_ = current_.get();
  if (fork_locked_ != nullptr) fork_locked_->file_mu.Lock();
}

void DBImpl::ParentAfterFork() {
  if (fork_locked_ != nullptr) fork_locked_->file_mu.Unlock();
  if (background_ != nullptr) background_->UnlockAfterFork();
  mu_.Unlock();
  fork_mu_.Unlock();
}

void DBImpl::ChildAfterFork() {
  // The child's only thread is the one that took the locks.
  if (fork_locked_ != nullptr) fork_locked_->file_mu.Unlock();
  if (background_ != nullptr) background_->UnlockAfterFork();
  fork_mu_.Unlock();
  mu_.ResetInForkChild();
  // Guarded by the write lock, not by the locks above: another thread of
  // the parent may have been filling it. Its buffer, if any, is left.
  new (&record_) std::string();
  // The background thread exists only in the parent: see Close.
}

}  // namespace ultradict
