// port_posix.cc: port.h for Linux (POSIX plus OFD locks and futexes).

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ULTRADICT_TSAN 1
#include <sanitizer/tsan_interface.h>
#endif
#endif

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "port/port.h"

namespace ultradict {
namespace port {

namespace {

// Turns errno into a Status naming the file, like LevelDB's PosixError.
absl::Status PosixError(const std::string& context, int error_number) {
  const std::string message =
      absl::StrCat(context, ": ", std::strerror(error_number));
  switch (error_number) {
    case ENOENT:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case ENOMEM:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

// Whether errno value e means the filesystem (or quota) is full.
bool IsNoRoom(int e) { return e == ENOSPC || e == EDQUOT || e == EFBIG; }

// Creates path (O_EXCL) with exactly `mode` (the umask must not narrow it).
absl::StatusOr<int> CreateExclusive(const std::string& path, mode_t mode) {
  const int fd = open(path.c_str(),
                      O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) return PosixError(path, errno);
  if (fchmod(fd, mode) != 0) {
    const int e = errno;
    close(fd);
    unlink(path.c_str());
    return PosixError(path, e);
  }
  return fd;
}

// ResourceExhausted for `size` bytes that did not fit into path's directory.
absl::Status NoRoomError(const std::string& path, size_t size) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
  return absl::ResourceExhaustedError(absl::StrCat(
      path, ": no room for ", size, " bytes (", FreeSpace(dir),
      " bytes free in ", dir, ")"));
}

std::atomic<int32_t> g_pid{0};

void RefreshPidAfterFork() { g_pid.store(getpid(), std::memory_order_relaxed); }

struct PidInit {
  PidInit() {
    g_pid.store(getpid(), std::memory_order_relaxed);
    pthread_atfork(nullptr, nullptr, &RefreshPidAfterFork);
  }
};

pthread_mutex_t* AsMutex(void* storage) {
  return static_cast<pthread_mutex_t*>(storage);
}

// mmap of a whole segment file, at an address aligned to 2 MiB when it is
// that large, so that the kernel can map the file's huge pages (a tmpfs's,
// or ones Segment::CollapseHugePages made) with one page-table entry each:
// a mapping's address must be aligned as the file offset is. Such a
// mapping also asks for huge pages (MADV_HUGEPAGE), which a tmpfs mounted
// with huge=advise needs for pages faulted in through it (within_size and
// always need none; never, /dev/shm's default, ignores it). With 4 KiB
// pages the random probes of the log index and the log's entries miss the
// TLB at 1 M keys, and this project's VMs (nested paging) charge for every
// walk (doc/benchmarks.md, "Huge pages").
void* MapSegment(size_t size, int prot, int flags, int fd) {
  if (size < kHugePageSize) return mmap(nullptr, size, prot, flags, fd, 0);
  char* area = static_cast<char*>(
      mmap(nullptr, size + kHugePageSize, PROT_NONE,
           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
  if (area == MAP_FAILED) return mmap(nullptr, size, prot, flags, fd, 0);
  const uintptr_t base = reinterpret_cast<uintptr_t>(area);
  char* aligned = reinterpret_cast<char*>((base + kHugePageSize - 1) &
                                          ~(kHugePageSize - 1));
  void* data = mmap(aligned, size, prot, flags | MAP_FIXED, fd, 0);
  if (data == MAP_FAILED) {
    const int e = errno;
    munmap(area, size + kHugePageSize);
    errno = e;
    return MAP_FAILED;
  }
  // The reservation's slack on either side goes (the mapping itself ends
  // at a page boundary, whatever the file's size).
  if (aligned > area) munmap(area, static_cast<size_t>(aligned - area));
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  char* end = aligned + ((size + page - 1) & ~(page - 1));
  char* area_end = area + size + kHugePageSize;
  if (area_end > end) munmap(end, static_cast<size_t>(area_end - end));
#ifdef MADV_HUGEPAGE
  madvise(data, size, MADV_HUGEPAGE);  // Best effort, like AdviseHugePages.
#endif
  return data;
}

// The whole 2 MiB-aligned blocks of a file within [begin, end): the bytes
// [first, last), none when last <= first.
struct BlockRange {
  size_t first;
  size_t last;
};
BlockRange WholeBlocks(size_t begin, size_t end) {
  return {(begin + kHugePageSize - 1) & ~(kHugePageSize - 1),
          end & ~(kHugePageSize - 1)};
}

}  // namespace

void Segment::Release() {
  if (data_ != nullptr) munmap(data_, size_);
  if (fd_ >= 0) close(fd_);
  data_ = nullptr;
  fd_ = -1;
}

absl::StatusOr<Segment> Segment::Create(const std::string& path, size_t size,
                                        mode_t mode, size_t reserve) {
  absl::StatusOr<int> fd = CreateExclusive(path, mode);
  if (!fd.ok()) return fd.status();
  Segment segment;
  segment.path_ = path;
  segment.fd_ = *fd;
  if (ftruncate(*fd, static_cast<off_t>(size)) != 0) {
    const int e = errno;
    unlink(path.c_str());
    return PosixError(path, e);
  }
  void* data = MapSegment(size, PROT_READ | PROT_WRITE, MAP_SHARED, *fd);
  if (data == MAP_FAILED) {
    const int e = errno;
    unlink(path.c_str());
    return PosixError(path, e);
  }
  segment.data_ = static_cast<char*>(data);
  segment.size_ = size;
  // Reserve the pages now: a full filesystem fails here, not with SIGBUS.
  absl::Status s = segment.Reserve(0, std::min(reserve, size));
  if (!s.ok()) {
    unlink(path.c_str());
    return s;
  }
  return segment;
}

void Segment::CloseFile() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

absl::Status Segment::ReserveRange(size_t offset, size_t length) const {
  if (fd_ < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, ": reserving pages of a closed segment file"));
  }
  // Whole 2 MiB blocks of the range become huge pages first, each from its
  // first page (allocated here) and holes: nothing else to copy. Not when
  // the filesystem may be too full for the whole range: a collapsed block
  // stays allocated when the posix_fallocate below then fails.
  const BlockRange blocks = WholeBlocks(offset, offset + length);
  struct statvfs fs;
  if (blocks.first < blocks.last && fstatvfs(fd_, &fs) == 0 &&
      static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize >=
          length + kHugePageSize) {
    for (size_t block = blocks.first; block < blocks.last;
         block += kHugePageSize) {
      if (posix_fallocate(fd_, static_cast<off_t>(block), 4096) != 0) break;
    }
    CollapseHugePages(blocks.first, blocks.last - blocks.first);
  }
  int e;
  do {  // tmpfs gives up with EINTR when a signal is pending.
    e = posix_fallocate(fd_, static_cast<off_t>(offset),
                        static_cast<off_t>(length));
  } while (e == EINTR);
  if (e != 0) {
    return IsNoRoom(e) ? NoRoomError(path_, length) : PosixError(path_, e);
  }
#ifdef MADV_POPULATE_WRITE
  // The writer is about to fill these pages: map them into this process in
  // one call rather than one page fault each (a fault per 30 records of
  // 140 bytes otherwise). After posix_fallocate, which allocates a range
  // of 4 KiB pages 20-30 times faster than faults do on this project's
  // VMs. Best effort: kernels before 5.14 say EINVAL.
  // 256 KiB at a time: populating 4 KiB pages holds this process's mmap
  // lock, which its other threads' page faults wait for (a huge page is
  // mapped whole by the first step that reaches it).
  if (data_ != nullptr) {
    constexpr uintptr_t kStep = uintptr_t{256} << 10;
    const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
    const uintptr_t base = reinterpret_cast<uintptr_t>(data_);
    const uintptr_t end = (base + offset + length + page - 1) & ~(page - 1);
    for (uintptr_t at = (base + offset) & ~(page - 1); at < end; at += kStep) {
      madvise(reinterpret_cast<void*>(at), std::min(kStep, end - at),
              MADV_POPULATE_WRITE);
    }
  }
#endif
  return absl::OkStatus();
}

bool Segment::CollapseHugePages(size_t offset, size_t length) const {
#ifdef __linux__
  // MADV_COLLAPSE (Linux 6.1; not in glibc 2.36's headers).
  constexpr int kCollapse = 25;
  if (data_ == nullptr) return false;
  const uintptr_t base = reinterpret_cast<uintptr_t>(data_);
  if ((base & (kHugePageSize - 1)) != 0) return false;  // Not mapped aligned.
  const BlockRange blocks =
      WholeBlocks(offset, std::min(offset + length, size_));
  if (blocks.last <= blocks.first) return true;
  // Best effort: EINVAL before Linux 6.1 or without transparent huge
  // pages, EAGAIN when a page is in use elsewhere, ENOMEM when no huge
  // page could be had (a full tmpfs: the posix_fallocate that follows a
  // reservation's collapse reports it).
  return madvise(data_ + blocks.first, blocks.last - blocks.first, kCollapse) ==
         0;
#else
  (void)offset;
  (void)length;
  return false;
#endif
}

SegmentFile SegmentFile::Of(const Segment& s) {
  SegmentFile f;
  f.path_ = s.path();
  f.data_ = s.data();
  f.size_ = s.size();
  // A descriptor of its own: the segment's may be closed while this reads.
  // Without one (none open, or out of descriptors) it reads the mapping.
  f.fd_ = s.fd() >= 0 ? fcntl(s.fd(), F_DUPFD_CLOEXEC, 0) : -1;
  // Only while most of the process's descriptors are free: an iterator
  // holds its one as long as it lives, after its generation's files are
  // closed too, and many of them must not leave none for the rest of the
  // process (the next generation's files, the application's). Descriptors
  // are handed out lowest first: a number at half the limit or past it
  // means that half of them are in use.
  struct rlimit limit;
  if (f.fd_ >= 0 && getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur != RLIM_INFINITY &&
      static_cast<rlim_t>(f.fd_) >= limit.rlim_cur / 2) {
    close(f.fd_);
    f.fd_ = -1;
  }
  return f;
}

void SegmentFile::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

absl::Status SegmentFile::ReadAt(uint64_t offset, char* dst, size_t n) const {
  if (offset > size_ || n > size_ - offset) {
    return absl::InvalidArgumentError(absl::StrCat(
        path_, ": reading [", offset, ", +", n, ") past ", size_, " bytes"));
  }
  if (fd_ < 0) {
    std::memcpy(dst, data_ + offset, n);
    return absl::OkStatus();
  }
  while (n > 0) {
    const ssize_t got = pread(fd_, dst, n, static_cast<off_t>(offset));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return PosixError(path_, errno);
    if (got == 0) {
      return absl::DataLossError(
          absl::StrCat(path_, ": the file ends at offset ", offset,
                       ", before its ", size_, " mapped bytes"));
    }
    dst += got;
    n -= static_cast<size_t>(got);
    offset += static_cast<uint64_t>(got);
  }
  return absl::OkStatus();
}

absl::StatusOr<FileWriter> FileWriter::Create(const std::string& path,
                                              mode_t mode) {
  absl::StatusOr<int> fd = CreateExclusive(path, mode);
  if (!fd.ok()) return fd.status();
  FileWriter writer;
  writer.path_ = path;
  writer.fd_ = *fd;
  return writer;
}

absl::Status FileWriter::WriteAt(uint64_t offset, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = pwrite(fd_, data, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (IsNoRoom(errno)) return NoRoomError(path_, size);
      return PosixError(path_, errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return absl::OkStatus();
}

absl::StatusOr<Segment> FileWriter::Finish() {
  if (size_ == 0) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": nothing written"));
  }
  void* data = MapSegment(size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_);
  if (data == MAP_FAILED) return PosixError(path_, errno);  // Abandoned.
  Segment segment;
  segment.path_ = std::move(path_);
  segment.fd_ = fd_;
  segment.data_ = static_cast<char*>(data);
  segment.size_ = size_;
  fd_ = -1;
  size_ = 0;
  return segment;
}

void FileWriter::Abandon() {
  if (fd_ < 0) return;
  close(fd_);
  unlink(path_.c_str());
  fd_ = -1;
  size_ = 0;
}

absl::StatusOr<Segment> Segment::Open(const std::string& path,
                                      bool allow_other_owner, bool writable) {
  // O_NOFOLLOW: a symbolic link planted at a segment's name (by another
  // user, where fs.protected_symlinks is off or the directory has no sticky
  // bit) must not lead to another file. O_NONBLOCK: opening a FIFO waits
  // for a writer, before the file's type can be checked (below); regular
  // files ignore it.
  const int fd = open(path.c_str(), (writable ? O_RDWR : O_RDONLY) |
                                        O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    const int e = errno;
    if (e == ELOOP) {
      return absl::InvalidArgumentError(absl::StrCat(
          path,
          ": not a regular file (a symbolic link; segments are never "
          "opened through links)"));
    }
    if (e == EISDIR || e == ENXIO) {  // ENXIO: a socket, or a device.
      return absl::InvalidArgumentError(absl::StrCat(
          path, ": not a regular file", e == EISDIR ? " (a directory)" : ""));
    }
    return PosixError(path, e);
  }
  Segment segment;
  segment.path_ = path;
  segment.fd_ = fd;
  struct stat st;
  if (fstat(fd, &st) != 0) return PosixError(path, errno);
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a regular file",
                     S_ISFIFO(st.st_mode)  ? " (a FIFO)"
                     : S_ISDIR(st.st_mode) ? " (a directory)"
                                           : ""));
  }
  if (!allow_other_owner && st.st_uid != geteuid()) {
    return absl::PermissionDeniedError(
        absl::StrCat(path, ": owned by uid ", st.st_uid, ", not by this user (uid ",
                     geteuid(), "); refusing it (Options::allow_other_owner)"));
  }
  if (st.st_size <= 0) {
    return absl::DataLossError(absl::StrCat(path, ": empty segment"));
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* data = MapSegment(size, PROT_READ | (writable ? PROT_WRITE : 0),
                          writable ? MAP_SHARED : MAP_PRIVATE, fd);
  if (data == MAP_FAILED) return PosixError(path, errno);
  segment.data_ = static_cast<char*>(data);
  segment.size_ = size;
  return segment;
}

absl::Status Segment::Sync() const {
  if (data_ != nullptr && msync(data_, size_, MS_SYNC) != 0) {
    return PosixError(path_, errno);
  }
  if (fd_ >= 0 && fsync(fd_) != 0) return PosixError(path_, errno);
  return absl::OkStatus();
}

absl::Status Segment::Reopen(int* previous) {
  // Through /proc: the same file even when path_ no longer names it (a
  // creator's control segment was created under a temporary name).
  int fd = open(absl::StrCat("/proc/self/fd/", fd_).c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    fd = open(path_.c_str(), O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {  // By name: only if it is still the file mapped.
      struct stat was, now;
      if (fstat(fd_, &was) != 0 || fstat(fd, &now) != 0 ||
          was.st_dev != now.st_dev || was.st_ino != now.st_ino) {
        close(fd);
        return absl::FailedPreconditionError(
            absl::StrCat(path_, ": no longer names the file mapped"));
      }
    }
  }
  if (fd < 0) return PosixError(path_, errno);
  *previous = fd_;
  fd_ = fd;
  return absl::OkStatus();
}

bool Segment::IsFileAt(const std::string& path) const {
  struct stat mine, there;
  return fd_ >= 0 && fstat(fd_, &mine) == 0 && lstat(path.c_str(), &there) == 0 &&
         mine.st_dev == there.st_dev && mine.st_ino == there.st_ino;
}

void CloseDescriptor(int fd) {
  if (fd >= 0) close(fd);
}

absl::Status Unlink(const std::string& path) {
  if (unlink(path.c_str()) != 0) return PosixError(path, errno);
  return absl::OkStatus();
}

absl::Status Rename(const std::string& from, const std::string& to) {
  if (rename(from.c_str(), to.c_str()) != 0) return PosixError(to, errno);
  return absl::OkStatus();
}

absl::Status Link(const std::string& from, const std::string& to) {
  if (link(from.c_str(), to.c_str()) != 0) return PosixError(to, errno);
  return absl::OkStatus();
}

void KillSelf() {
  kill(getpid(), SIGKILL);
  _exit(137);
}

void AdviseHugePages(void* data, size_t size) {
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kMin = uintptr_t{4} << 20;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin =
      (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  const uintptr_t end =
      (reinterpret_cast<uintptr_t>(data) + size) & ~(page - 1);
  if (size < kMin || end <= begin) return;
  // Best effort: EINVAL where transparent huge pages are not built in.
  madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)data;
  (void)size;
#endif
}

absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return PosixError(dir, errno);
  std::vector<std::string> names;
  while (struct dirent* entry = readdir(d)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(d);
  return names;
}

std::string SegmentDirectory(const std::string& requested) {
  if (!requested.empty()) return requested;
  const char* env = std::getenv("ULTRADICT_DIR");
  if (env != nullptr && env[0] != '\0') return env;
  return "/dev/shm";
}

std::string DescribePages(const std::string& dir) {
  char resolved[PATH_MAX];
  if (realpath(dir.c_str(), resolved) == nullptr) return "unknown";
  const std::string path = resolved;
  FILE* mounts = fopen("/proc/self/mounts", "re");
  if (mounts == nullptr) return "unknown";
  // The mount whose point is the longest prefix of path (at a '/'); later
  // lines win a tie (they are mounted over the earlier ones).
  std::string best_point, best_type, best_options;
  char line[4096];
  while (fgets(line, sizeof(line), mounts) != nullptr) {
    char point[PATH_MAX], type[256], options[2048];
    if (sscanf(line, "%*s %4095s %255s %2047s", point, type, options) != 3) {
      continue;
    }
    std::string p;  // Octal escapes: a space is written as "\040".
    if (!absl::CUnescape(point, &p)) p = point;
    const bool covers =
        p == "/" || path == p ||
        (path.size() > p.size() && path.compare(0, p.size(), p) == 0 &&
         path[p.size()] == '/');
    if (covers && p.size() >= best_point.size()) {
      best_point = p;
      best_type = type;
      best_options = options;
    }
  }
  fclose(mounts);
  if (best_type.empty()) return "unknown";
  if (best_type != "tmpfs") return best_type;
  std::string huge = "never";
  for (absl::string_view option : absl::StrSplit(best_options, ',')) {
    if (absl::ConsumePrefix(&option, "huge=")) huge = std::string(option);
  }
  return absl::StrCat("tmpfs huge=", huge);
}

size_t ProcessMutex::StorageSize() {
  return (sizeof(pthread_mutex_t) + 7) & ~size_t{7};
}

absl::Status ProcessMutex::Init(void* storage) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  int r = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
  if (r == 0) r = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
  if (r == 0) r = pthread_mutex_init(AsMutex(storage), &attr);
  pthread_mutexattr_destroy(&attr);
  if (r != 0) return PosixError("pthread_mutex_init", r);
  return absl::OkStatus();
}

absl::Status ProcessMutex::Lock(void* storage, int64_t timeout_ms,
                                bool* owner_died) {
  *owner_died = false;
  // Try first: uncontended (the common case) reads no clock. A KVM guest's
  // vDSO clock_gettime costs 20-30 ns; the two below were a tenth of a put.
  const int first = pthread_mutex_trylock(AsMutex(storage));
  if (first == 0) return absl::OkStatus();
  if (first == EOWNERDEAD) {  // (ThreadSanitizer's trylock sees this one.)
    *owner_died = true;
    return absl::OkStatus();
  }
  if (first != EBUSY) return PosixError("robust mutex", first);
  if (timeout_ms <= 0) return absl::DeadlineExceededError("mutex held");
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const int64_t now_ns = now.tv_sec * 1000000000LL + now.tv_nsec;
  // Saturated: timeout_ms * 1000000 overflows from ~9.2e12 ms (292 years),
  // and INT64_MAX means "wait forever".
  const int64_t deadline_ns = timeout_ms >= (INT64_MAX - now_ns) / 1000000LL
                                  ? INT64_MAX
                                  : now_ns + timeout_ms * 1000000LL;
  for (;;) {
    // Wait in short slices: a waiter killed at the wrong moment can swallow
    // a wake-up of a robust mutex, and the slices bound what that costs.
    struct timespec abs;
    clock_gettime(CLOCK_REALTIME, &abs);
    int64_t ns = abs.tv_nsec + 10 * 1000000LL;
    abs.tv_sec += ns / 1000000000LL;
    abs.tv_nsec = ns % 1000000000LL;
    const int r = pthread_mutex_timedlock(AsMutex(storage), &abs);
    if (r == 0) return absl::OkStatus();
    if (r == EOWNERDEAD) {
#ifdef ULTRADICT_TSAN
      // ThreadSanitizer's pthread_mutex_timedlock records a lock only when
      // it returns 0; with EOWNERDEAD this thread holds the mutex too.
      __tsan_mutex_pre_lock(storage, __tsan_mutex_try_lock);
      __tsan_mutex_post_lock(storage, __tsan_mutex_try_lock, 0);
#endif
      *owner_died = true;
      return absl::OkStatus();
    }
    if (r != ETIMEDOUT && r != EINTR) {
      return PosixError("robust mutex", r);
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec * 1000000000LL + now.tv_nsec >= deadline_ns) {
      return absl::DeadlineExceededError(absl::StrCat(
          "write lock not acquired within ", timeout_ms, " ms"));
    }
  }
}

void ProcessMutex::MarkConsistent(void* storage) {
  pthread_mutex_consistent(AsMutex(storage));
}

void ProcessMutex::Unlock(void* storage) {
  pthread_mutex_unlock(AsMutex(storage));
}

namespace {
bool SetOfdLock(int fd, short type, uint64_t offset, uint64_t len) {
  struct flock fl;
  std::memset(&fl, 0, sizeof(fl));
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(offset);
  fl.l_len = static_cast<off_t>(len);
  return fcntl(fd, F_OFD_SETLK, &fl) == 0;
}
}  // namespace

bool TryLockByte(int fd, uint64_t offset, bool exclusive) {
  return SetOfdLock(fd, exclusive ? F_WRLCK : F_RDLCK, offset, 1);
}

void UnlockByte(int fd, uint64_t offset) { SetOfdLock(fd, F_UNLCK, offset, 1); }

bool IsByteLockedByOther(int fd, uint64_t offset) {
  struct flock fl;
  std::memset(&fl, 0, sizeof(fl));
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = static_cast<off_t>(offset);
  fl.l_len = 1;
  if (fcntl(fd, F_OFD_GETLK, &fl) != 0) return false;
  return fl.l_type != F_UNLCK;
}

bool TryLockRange(int fd, uint64_t offset, uint64_t len) {
  return SetOfdLock(fd, F_WRLCK, offset, len);
}

void UnlockRange(int fd, uint64_t offset, uint64_t len) {
  SetOfdLock(fd, F_UNLCK, offset, len);
}

void FutexWait(std::atomic<uint32_t>* word, uint32_t expected,
               int64_t timeout_ms) {
  if (timeout_ms <= 0) return;
  struct timespec ts;
  ts.tv_sec = timeout_ms / 1000;
  ts.tv_nsec = (timeout_ms % 1000) * 1000000L;
  // Not FUTEX_PRIVATE: the word is shared between processes.
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, expected,
          &ts, nullptr, 0);
}

void FutexWakeAll(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, INT_MAX,
          nullptr, nullptr, 0);
}

int32_t CurrentPid() {
  static PidInit init;
  return g_pid.load(std::memory_order_relaxed);
}

void ResetSharedMutexInForkChild(std::shared_mutex* mutex) {
#ifdef ULTRADICT_TSAN
  // ThreadSanitizer saw this thread lock it: tell it that it is released.
  __tsan_mutex_pre_unlock(mutex, 0);
  __tsan_mutex_post_unlock(mutex, 0);
#endif
  new (mutex) std::shared_mutex();  // The old one holds no resources.
}

void AtFork(void (*prepare)(), void (*parent)(), void (*child)()) {
  pthread_atfork(prepare, parent, child);
}

std::string RandomHex(size_t n) {
  std::string bytes(n, '\0');
  size_t got = 0;
  while (got < n) {
    const ssize_t r = getrandom(&bytes[got], n - got, 0);
    if (r > 0) got += static_cast<size_t>(r);
  }
  return absl::BytesToHexString(bytes);
}

uint64_t BootId() {
  static const uint64_t boot_id = [] {
    const int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return uint64_t{0};
    char buf[64];
    const ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    uint64_t h = 1469598103934665603ULL;  // FNV-1a: no dependency needed here.
    for (ssize_t i = 0; i < n; i++) {
      h = (h ^ static_cast<unsigned char>(buf[i])) * 1099511628211ULL;
    }
    return n > 0 ? (h | 1) : uint64_t{0};
  }();
  return boot_id;
}

uint64_t FreeSpace(const std::string& dir) {
  struct statvfs st;
  if (statvfs(dir.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

}  // namespace port
}  // namespace ultradict
