// db_impl_files.cc: the files of a dictionary: destroying it (DestroyDB,
// and the last member's close), removing an abandoned one, listing the
// dictionaries of a directory, and removing files that no process will use.

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "db/db_impl.h"
#include "db/fault_point.h"
#include "db/filename.h"
#include "util/strings.h"

namespace ultradict {

bool DBImpl::MarkDestroyedAndRemove(const std::string& dir,
                                    std::string_view name,
                                    const port::Segment& segment,
                                    int64_t timeout_ms, absl::Status* status) {
  const control::Block block(segment.data());
  // Not taken within the timeout (a writer stuck, or stopped): destroyed
  // anyway, as DestroyDB promises; that writer fails at its next commit.
  port::ProcessMutexLock lock(block.mutex(), timeout_ms);
  // The state needs no repair after a dead writer: nothing is published
  // here, and the dictionary is going.
  lock.MarkConsistent();
  const uint32_t state = block.state().load(std::memory_order_acquire);
  if (state == control::kStateReady) {
    block.state().store(control::kStateDestroyed, std::memory_order_release);
    FaultPoint("destroy.after_mark");
  } else if (state != control::kStateDestroyed ||
             !segment.IsFileAt(ControlFileName(dir, name))) {
    // Destroyed already and its control segment removed: the files of its
    // name may be a new dictionary's now. (A state neither ready nor
    // destroyed is damage: nothing is removed for it.)
    return false;
  }
  // Marked here, or by a destroyer that died before its control segment
  // was removed (then every open and list would find it destroyed again
  // and again): its own files go, named with its key.
  const FileKey key = block.file_key();
  absl::Status s = DestroyFiles(dir, name, &key, &segment);
  if (status != nullptr) *status = s;
  return true;
}

bool DBImpl::RemoveIfAbandoned(const std::string& dir, std::string_view name,
                               const port::Segment& segment) {
  const control::Block block(segment.data());
  if (block.state().load(std::memory_order_acquire) ==
      control::kStateDestroyed) {
    // Destroyed: what its destroyer left, if it died, goes now.
    MarkDestroyedAndRemove(dir, name, segment, 1000, nullptr);
    return true;
  }
  if (block.lifetime() == Lifetime::kPersistent) return false;
  // The probe proves that no member is alive (the kernel released the
  // locks of those that died); a process that opened it meanwhile and has
  // not joined yet sees the destroyed state when it joins, and starts over
  // (as after a last Close).
  control::MemberProbe probe(segment.fd());
  if (probe.NoMemberAlive()) {
    MarkDestroyedAndRemove(dir, name, segment, 1000, nullptr);
  }
  // Destroyed here, or by another prober whose turn came first, or by a
  // DestroyDB: gone in every case.
  return block.state().load(std::memory_order_acquire) != control::kStateReady;
}

absl::Status DBImpl::DestroyFiles(const std::string& dir, std::string_view name,
                                  const FileKey* key,
                                  const port::Segment* control) {
  bool found = false;
  absl::Status first_error;
  std::vector<std::string> not_removed;  // "path: why", one per file.
  std::string control_path;
  auto remove_file = [&](const std::string& path, bool own) {
    FaultPoint("destroy.removing");
    absl::Status s = port::Unlink(path);
    // NotFound: removed meanwhile (another destroy, a compaction).
    if (!s.ok() && !absl::IsNotFound(s) && own) {
      if (first_error.ok()) first_error = s;
      not_removed.emplace_back(s.message());
    }
  };
  absl::Status listed = ForEachFileOf(dir, name, [&](const DictionaryFile& f) {
    // With the key, only the dictionary's own files are removed and
    // reported: its control segment (if `path` is still that file) and the
    // generation files named with its key. A control segment that replaced
    // it, another opener's temporary control file and files of another key
    // belong to a newer dictionary of this name; files without a tag
    // (planted by another user, or of a format before tags) are removed
    // when they can be, and otherwise left to their owner.
    bool own = true, remove = true;
    if (key != nullptr) {
      if (f.type == FileType::kControl) {
        remove = control == nullptr || control->IsFileAt(f.path);
      } else if (f.type == FileType::kTemp && f.gen == 0) {
        remove = false;
      } else if (f.tag.empty()) {
        own = false;
      } else {
        remove = IsGenerationFileOf(f.file, name, *key);
      }
    }
    if (!remove) return;
    found = true;
    if (f.type == FileType::kControl) {
      control_path = f.path;  // Last (below).
      return;
    }
    remove_file(f.path, own);
  });
  if (!listed.ok()) return listed;
  // The control segment goes last: a destroyer killed before leaves it at
  // its path, destroyed, and whoever finds it so removes the rest
  // (MarkDestroyedAndRemove); removed first, the rest would stay behind
  // with nothing to lead to it.
  if (!control_path.empty()) remove_file(control_path, true);
  if (!found) {
    return absl::NotFoundError(absl::StrCat("dictionary \"", AsAbsl(name),
                                            "\" does not exist in ", dir));
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
    // Removed since the directory was read (by another process's probe, a
    // last close or a DestroyDB): not listed.
    if (absl::IsNotFound(segment.status())) continue;
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

void DBImpl::RemoveStaleFiles(uint32_t gen, bool other_generations,
                              bool all_temps) {
  ForEachFileOf(dir_, name_, [&](const DictionaryFile& f) {
    // Temporary files of a background compaction are named for the
    // generation it builds, head + 1 while it is alive; a control segment's
    // temporary file has generation 0 and belongs to an opener.
    // A log or snapshot of generation `gen` under another tag is not ours
    // (left by a format without tags, or planted).
    const bool stale =
        ((f.type == FileType::kLog || f.type == FileType::kSnapshot) &&
         other_generations &&
         (f.gen != gen || !IsGenerationFileOf(f.file, name_, files_.key))) ||
        (f.type == FileType::kTemp && f.gen >= 1 &&
         (all_temps || f.gen <= gen));
    if (stale) port::Unlink(f.path).IgnoreError();
  }).IgnoreError();
}

}  // namespace ultradict
