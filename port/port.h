// port.h: everything UltraDict needs from the operating system, and the only
// place that knows which one it is. port_posix.cc implements it for Linux.
//
// - Segment: a named file of fixed size in a directory (/dev/shm by default),
//   mapped read-write into this process. Pages are reserved (allocated)
//   before they are written, at creation or by Reserve, so a full filesystem
//   is an error, never a SIGBUS.
// - FileWriter: a new file written front to back with write(2) and then
//   mapped as a Segment (snapshots: no page is zeroed before it is filled).
// - ProcessMutex: a robust mutex that lives inside a segment and is shared by
//   processes; a holder that dies hands it on with `owner_died` set.
// - Byte locks: open-file-description locks on single bytes of a segment
//   file, released by the kernel when the holder dies (liveness).
// - Futex wait/wake on a 32-bit word in a segment (change notification).

#ifndef ULTRADICT_PORT_PORT_H_
#define ULTRADICT_PORT_PORT_H_

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace ultradict {
namespace port {

// The size of a huge page (x86-64 and arm64 with 4 KiB pages): segments
// of at least this size are mapped at addresses aligned to it, and whole
// blocks of it are what Segment::CollapseHugePages turns into one page.
inline constexpr size_t kHugePageSize = size_t{2} << 20;

// A mapped segment file. Movable, not copyable; unmaps and closes on
// destruction (the file itself stays until Unlink).
class Segment {
 public:
  Segment() = default;
  Segment(Segment&& other) noexcept;
  Segment& operator=(Segment&& other) noexcept;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
  ~Segment() { Release(); }

  static constexpr size_t kReserveAll = ~size_t{0};

  // Creates path (O_EXCL) of `size` zero bytes and maps it. The first
  // `reserve` bytes (all by default) are reserved at once; the rest is
  // sparse until Reserve, and must not be written before it.
  // AlreadyExists when it exists; ResourceExhausted (with the bytes asked
  // and left) when the filesystem is full.
  static absl::StatusOr<Segment> Create(const std::string& path, size_t size,
                                        mode_t mode,
                                        size_t reserve = kReserveAll);

  // Opens and maps an existing segment (its whole size). NotFound when it
  // does not exist; PermissionDenied when owned by another user and
  // !allow_other_owner.
  static absl::StatusOr<Segment> Open(const std::string& path,
                                      bool allow_other_owner, bool writable);

  char* data() const { return data_; }
  size_t size() const { return size_; }
  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  bool valid() const { return data_ != nullptr; }

  // Reserves the bytes [offset, offset + length) of the file (of any
  // process's segment), so that writing them through the mapping cannot
  // fault; ResourceExhausted when the filesystem is full. Reserving bytes
  // again is harmless (a whole 2 MiB block of 4 KiB pages is then copied
  // into a huge page: see CollapseHugePages).
  absl::Status Reserve(size_t offset, size_t length) const;

  // Turns the whole 2 MiB-aligned blocks of the file within [offset,
  // offset + length) into 2 MiB pages where the kernel can (Linux 6.1+,
  // MADV_COLLAPSE, whatever the filesystem's huge= setting), for every
  // process mapping them: a block's holes are filled (allocated), its
  // pages copied (a process writing to them waits meanwhile). Reserve
  // does it for the whole blocks it reserves, from their first page. Best
  // effort: false when the kernel did not (no huge page to give, a page
  // in use elsewhere, no MADV_COLLAPSE; a no-op elsewhere), true when it
  // did or there was no whole block in the range.
  bool CollapseHugePages(size_t offset, size_t length) const;

  // Flushes the mapping to the file (msync).
  absl::Status Sync() const;

  // Closes the file and keeps the mapping, for a segment whose file is not
  // needed any more (POSIX: a mapping needs no open descriptor, so a
  // process may pin many retired generations without running out of
  // them): fd() is -1 afterwards, Reserve fails, Sync flushes the mapping
  // only. Windows keeps its handles (a named mapping lives only as long as
  // one of them).
  void CloseFile();

  // Re-opens the file under a new open file description (after fork, so
  // the child's byte locks are its own). The mapping stays. The descriptor
  // it replaces is not closed but handed to *previous (close it with
  // CloseDescriptor): a fork child keeps the liveness lock of the
  // description it inherited until it holds one of its own.
  absl::Status Reopen(int* previous);

  // Whether `path` names this segment's file itself (not a link to it, and
  // not a file that replaced it there). False when unknown.
  bool IsFileAt(const std::string& path) const;

 private:
  friend class FileWriter;

  // Unmaps and closes (platform-specific); leaves the segment empty.
  void Release();
  // Reserve of a non-empty range inside the file (platform-specific).
  absl::Status ReserveRange(size_t offset, size_t length) const;

  std::string path_;
  int fd_ = -1;
  char* data_ = nullptr;
  size_t size_ = 0;
};

// The same on every platform: the range check, then the platform's part.
inline absl::Status Segment::Reserve(size_t offset, size_t length) const {
  if (offset > size_ || length > size_ - offset) {
    return absl::InvalidArgumentError(absl::StrCat(
        path_, ": reserving [", offset, ", +", length, ") past ", size_, " bytes"));
  }
  return length == 0 ? absl::OkStatus() : ReserveRange(offset, length);
}

// The same on every platform: take over other's mapping and handle.
inline Segment::Segment(Segment&& other) noexcept {
  *this = std::move(other);
}

inline Segment& Segment::operator=(Segment&& other) noexcept {
  if (this != &other) {
    Release();  // Unmaps and closes what this held.
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    data_ = other.data_;
    size_ = other.size_;
    other.fd_ = -1;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

// A read-only view of a segment's bytes for reading them front to back
// with ReadAt, copied out by the kernel (pread) rather than through this
// process's mapping: on this project's VMs the first touch of each page of
// a mapping costs 2-8 us (the hypervisor's page tables), so a pass over a
// segment this process never touched costs 6x more through the mapping
// than through pread (doc/design.md, "Reading a snapshot in order").
// POSIX: a descriptor of its own (a dup of the segment's), so that it
// stays valid after the segment's file is closed; where the segment has no
// open file (closed, or Windows), or half of the process's descriptors
// (RLIMIT_NOFILE) are in use, it copies from the mapping. The mapping must
// outlive it. Movable.
class SegmentFile {
 public:
  SegmentFile() = default;
  SegmentFile(SegmentFile&& other) noexcept { *this = std::move(other); }
  SegmentFile& operator=(SegmentFile&& other) noexcept;
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;
  ~SegmentFile() { Close(); }

  // Of segment s (its file if open, else its mapping).
  static SegmentFile Of(const Segment& s);

  // Copies bytes [offset, offset + n) of the segment to dst.
  // InvalidArgument past the segment's size; DataLoss when the file ends
  // before (someone truncated it: the mapping would fault).
  absl::Status ReadAt(uint64_t offset, char* dst, size_t n) const;
  // Whether it reads the file (not the mapping).
  bool reads_file() const { return fd_ >= 0; }

 private:
  void Close();

  std::string path_;
  int fd_ = -1;
  const char* data_ = nullptr;
  size_t size_ = 0;
};

inline SegmentFile& SegmentFile::operator=(SegmentFile&& other) noexcept {
  if (this != &other) {
    Close();
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    data_ = other.data_;
    size_ = other.size_;
    other.fd_ = -1;
    other.data_ = nullptr;
    other.size_ = 0;
  }
  return *this;
}

// A new file written front to back (and patched at offsets already
// written), then mapped as a Segment. Writes go through write(2), so a full
// filesystem is an error from Append. Movable; a writer destroyed before
// Finish removes its file.
class FileWriter {
 public:
  FileWriter() = default;
  FileWriter(FileWriter&& other) noexcept { *this = std::move(other); }
  FileWriter& operator=(FileWriter&& other) noexcept;
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;
  ~FileWriter() { Abandon(); }

  // Creates path (O_EXCL) with the given mode. AlreadyExists when it exists.
  static absl::StatusOr<FileWriter> Create(const std::string& path, mode_t mode);

  // Appends data at the end; ResourceExhausted when the filesystem is full.
  absl::Status Append(const char* data, size_t size);
  // Overwrites bytes already appended.
  absl::Status WriteAt(uint64_t offset, const char* data, size_t size);
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

  // Maps the whole file read-write; the writer is empty afterwards.
  absl::StatusOr<Segment> Finish();
  // Closes and removes the file (unless finished).
  void Abandon();

 private:
  std::string path_;
  int fd_ = -1;
  uint64_t size_ = 0;
};

inline absl::Status FileWriter::Append(const char* data, size_t size) {
  absl::Status s = WriteAt(size_, data, size);
  if (s.ok()) size_ += size;
  return s;
}

inline FileWriter& FileWriter::operator=(FileWriter&& other) noexcept {
  if (this != &other) {
    Abandon();
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    size_ = other.size_;
    other.fd_ = -1;
    other.size_ = 0;
  }
  return *this;
}

// Closes a descriptor handed out by Segment::Reopen.
void CloseDescriptor(int fd);

// Removes the file at path. NotFound when absent.
absl::Status Unlink(const std::string& path);

// Renames atomically within a directory (replacing `to`).
absl::Status Rename(const std::string& from, const std::string& to);

// Makes `to` a second name of `from`; AlreadyExists when `to` exists (an
// atomic create-if-absent of a fully written file).
absl::Status Link(const std::string& from, const std::string& to);

// Ends this process at once, as a crash would (fault points in tests).
[[noreturn]] void KillSelf();

// Touches each page of [data, data + size) (reads a byte of it), so that
// later accesses by any thread of this process find it mapped. On this
// project's VMs the first access to a page of a shared mapping costs
// 7-19 us even after Reserve populated it (the hypervisor's own page
// tables): 226-283 ns per 130-byte record written into fresh pages that
// were populated (456-623 ns unpopulated), 5-23 ns once another thread
// had touched them. The background thread
// touches log pages ahead of the writer with it. The bytes are read and
// dropped: touching pages another thread is writing is harmless (not
// instrumented by ThreadSanitizer). One byte every 4096 (every page where
// pages are 4 KiB or larger).
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
__attribute__((no_sanitize("thread")))
#endif
#endif
#if defined(__SANITIZE_THREAD__)
__attribute__((no_sanitize_thread))
#endif
inline void PrefaultPages(const char* data, size_t size) {
  constexpr uintptr_t kStride = 4096;
  if (size == 0) return;
  const uintptr_t begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t last = begin + size - 1;
  unsigned sum = 0;
  for (uintptr_t p = begin; p <= last; p = (p & ~(kStride - 1)) + kStride) {
    sum += *reinterpret_cast<const volatile unsigned char*>(p);
  }
  (void)sum;
}

// Asks that the pages of [data, data + size), private memory this process
// allocated and has not touched yet, be backed by huge pages where the
// system offers them (Linux transparent huge pages in "madvise" mode; a
// no-op elsewhere and for less than 4 MiB). On this project's VMs the first
// touch of a 4 KiB page of fresh memory costs ~14 us: 64 MiB of a
// compaction's change list took 225 ms in 4 KiB pages and 10 ms in 2 MiB
// ones (doc/design.md, "Reading a snapshot in order, and fresh memory").
void AdviseHugePages(void* data, size_t size);

// Names of the entries of a directory (not "." / "..").
absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& dir);

// The segment directory: `requested` if not empty, else $ULTRADICT_DIR, else
// /dev/shm.
std::string SegmentDirectory(const std::string& requested);

// How the filesystem holding `dir` backs mapped files with pages, for
// reports: "tmpfs huge=never" (/dev/shm's default: 4 KiB pages), "tmpfs
// huge=within_size" (2 MiB pages where they fit), ..., or the filesystem's
// type when it is not a tmpfs; "unknown" when it cannot be told (and on
// Windows).
std::string DescribePages(const std::string& dir);

// A robust, process-shared mutex placed in shared memory.
class ProcessMutex {
 public:
  // Bytes of shared memory a mutex takes (aligned to 8).
  static size_t StorageSize();
  // Initializes the mutex at storage (creation only).
  static absl::Status Init(void* storage);

  // Locks, waiting at most timeout_ms (0: only if it is free now). Sets
  // *owner_died when the previous holder died holding it: the caller must
  // repair the protected state, then call MarkConsistent before Unlock.
  // DeadlineExceeded on timeout.
  static absl::Status Lock(void* storage, int64_t timeout_ms, bool* owner_died);
  static void MarkConsistent(void* storage);
  static void Unlock(void* storage);
};

// Open-file-description byte locks on fd (see fcntl(2) F_OFD_SETLK).
// TryLockByte returns true when this description now holds the lock.
bool TryLockByte(int fd, uint64_t offset, bool exclusive);
void UnlockByte(int fd, uint64_t offset);
// True when a lock conflicting with an exclusive lock is held on the byte
// by another open file description (a live process).
bool IsByteLockedByOther(int fd, uint64_t offset);
// Tries to lock [offset, offset+len) exclusively at once.
bool TryLockRange(int fd, uint64_t offset, uint64_t len);
void UnlockRange(int fd, uint64_t offset, uint64_t len);

// Waits while *word == expected, at most timeout_ms (futex, shared).
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected,
               int64_t timeout_ms);
void FutexWakeAll(std::atomic<uint32_t>* word);

// In the child of a fork(): makes *mutex, which the child's thread locked
// exclusively before the fork (see AtFork), a new unlocked mutex. It cannot
// be unlocked there: glibc knows a writer by its thread id, which the
// child's thread no longer has, so the unlock would count as a reader's.
void ResetSharedMutexInForkChild(std::shared_mutex* mutex);

// This process's id (cheap).
int32_t CurrentPid();

// Runs prepare() in the thread that calls fork() before the fork, then
// parent() in the parent and child() in the child after it (pthread_atfork:
// handlers registered later prepare earlier and finish later). Does nothing
// where there is no fork() (Windows).
void AtFork(void (*prepare)(), void (*parent)(), void (*child)());

// A number that identifies this boot of the machine (a hash of
// /proc/sys/kernel/random/boot_id); 0 when unknown.
uint64_t BootId();

// n random bytes from the kernel, hex-encoded.
std::string RandomHex(size_t n);

// Free bytes on the filesystem of dir (0 when unknown).
uint64_t FreeSpace(const std::string& dir);

// Whether a segment's bytes take space only once reserved (POSIX: sparse
// files, on tmpfs), rather than all from its creation (Windows).
#ifdef _WIN32
inline constexpr bool kSparseSegments = false;
#else
inline constexpr bool kSparseSegments = true;
#endif

}  // namespace port
}  // namespace ultradict

#endif  // ULTRADICT_PORT_PORT_H_
