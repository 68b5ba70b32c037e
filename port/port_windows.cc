// port_windows.cc: port.h for Windows (Win32 API; built with mingw-w64 and
// tested under Wine, see doc/windows.md). Not part of the Bazel build.
//
// How the POSIX notions map:
// - Segment: a file in the segment directory (default %TEMP%\ultradict),
//   opened with FILE_SHARE_READ|WRITE|DELETE so that it can be renamed and
//   deleted while other processes map it, and mapped with
//   CreateFileMapping/MapViewOfFile. fd() is the file HANDLE as an int:
//   Windows guarantees that kernel handles fit in 32 bits (a handle may be
//   truncated to 32 bits and sign-extended back), so port.h stays unchanged.
// - Unlink: a POSIX-semantics delete where the system offers it (the name
//   goes at once, the data when the last handle closes). Otherwise the file
//   is renamed to a hidden trash name in the same directory (renaming an
//   open, mapped file is allowed) and marked delete-on-close; a file still
//   mapped somewhere cannot be deleted on classic Windows, so its trash name
//   stays until ListDirectory, which hides trash names, reaps it.
// - ProcessMutex: a named mutex cannot live in shared memory, so Init stores
//   a random 16-hex id in the storage and the mutex is
//   "Local\ultradict-<id>", opened by each process on first use.
//   WAIT_ABANDONED means the holder died (EOWNERDEAD). The storage also
//   records whether the mutex is held: a holder that died while it was the
//   last process with a handle takes the named mutex with it, and the next
//   locker still learns that the holder died.
// - Byte locks: LockFileEx/UnlockFileEx with LOCKFILE_FAIL_IMMEDIATELY on the
//   segment's file handle; Windows drops them when the handle is closed or
//   the process dies. Unlike OFD locks they do not merge or split: an unlock
//   must name exactly a range that was locked (the engine does so).
// - FutexWait: Windows has no cross-process wait on an address (WaitOnAddress
//   is process-local), so it polls the word about every millisecond up to the
//   timeout; FutexWakeAll has nothing to do.

#ifndef _WIN32
#error "port_windows.cc is the Windows port; Linux builds port_posix.cc"
#endif

#define _CRT_RAND_S  // rand_s, RandomHex's fallback.
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
// Needs windows.h first.
#include <aclapi.h>
#include <bcrypt.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "port/port.h"

namespace ultradict {
namespace port {

namespace {

// Hidden names of unlinked files that could not be deleted yet. They never
// parse as UltraDict file names (those start with "ud.").
constexpr char kTrashPrefix[] = ".ud-trash-";

constexpr DWORD kShareAll = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

std::wstring Widen(const std::string& s) {
  if (s.empty()) return std::wstring();
  const int n = MultiByteToWideChar(CP_UTF8, 0, s.data(),
                                    static_cast<int>(s.size()), nullptr, 0);
  std::wstring w(static_cast<size_t>(n > 0 ? n : 0), L'\0');
  if (n > 0) {
    MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), &w[0], n);
  }
  return w;
}

std::string Narrow(const wchar_t* w) {
  const int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, nullptr, 0, nullptr, nullptr);
  if (n <= 1) return std::string();
  std::string s(static_cast<size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, w, -1, &s[0], n, nullptr, nullptr);
  s.resize(static_cast<size_t>(n - 1));
  return s;
}

std::string ErrorText(DWORD error) {
  wchar_t* buf = nullptr;
  const DWORD n = FormatMessageW(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
          FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, error, 0, reinterpret_cast<wchar_t*>(&buf), 0, nullptr);
  std::string text;
  if (n > 0 && buf != nullptr) text = Narrow(buf);
  if (buf != nullptr) LocalFree(buf);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' ||
                           text.back() == ' ' || text.back() == '.')) {
    text.pop_back();
  }
  if (text.empty()) text = "Windows error";
  return absl::StrCat(text, " (error ", error, ")");
}

// Turns a Win32 error into a Status naming the file (PosixError's twin).
absl::Status WindowsError(const std::string& context, DWORD error) {
  const std::string message = absl::StrCat(context, ": ", ErrorText(error));
  switch (error) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_DELETE_PENDING:  // Unlinked, waiting for its last handle.
      return absl::NotFoundError(message);
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
      return absl::AlreadyExistsError(message);
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
    case ERROR_PRIVILEGE_NOT_HELD:
      return absl::PermissionDeniedError(message);
    case ERROR_DISK_FULL:
    case ERROR_HANDLE_DISK_FULL:
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
    case ERROR_NOT_ENOUGH_QUOTA:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

// Handles travel through port.h as ints (see the top of the file).
HANDLE AsHandle(int fd) {
  return reinterpret_cast<HANDLE>(static_cast<intptr_t>(fd));
}
int AsFd(HANDLE h) { return static_cast<int>(reinterpret_cast<intptr_t>(h)); }

std::string DirOf(const std::string& path) {
  const size_t slash = path.find_last_of("/\\");
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Marks the file of `h` (opened with DELETE access) for deletion when its
// last handle closes.
bool DeleteOnClose(HANDLE h) {
  FILE_DISPOSITION_INFO info;
  info.DeleteFile = TRUE;
  return SetFileInformationByHandle(h, FileDispositionInfo, &info, sizeof(info));
}

// FILE_DISPOSITION_INFO_EX (Windows 10 1709+); spelled out for older
// headers.
struct DispositionInfoEx {
  DWORD Flags;
};
constexpr DWORD kDispositionDelete = 0x1;
constexpr DWORD kDispositionPosixSemantics = 0x2;
constexpr FILE_INFO_BY_HANDLE_CLASS kFileDispositionInfoEx =
    static_cast<FILE_INFO_BY_HANDLE_CLASS>(21);

// Removes the name at once (POSIX semantics) when the file system can.
bool PosixDelete(HANDLE h) {
  DispositionInfoEx info;
  info.Flags = kDispositionDelete | kDispositionPosixSemantics;
  return SetFileInformationByHandle(h, kFileDispositionInfoEx, &info, sizeof(info));
}

// Maps the whole file `h` of `size` bytes.
absl::StatusOr<char*> MapFile(HANDLE h, size_t size, bool writable,
                              const std::string& path) {
  HANDLE mapping = CreateFileMappingW(
      h, nullptr, writable ? PAGE_READWRITE : PAGE_READONLY, 0, 0, nullptr);
  if (mapping == nullptr) return WindowsError(path, GetLastError());
  void* data =
      MapViewOfFile(mapping, writable ? FILE_MAP_WRITE : FILE_MAP_READ, 0, 0, size);
  const DWORD error = GetLastError();
  CloseHandle(mapping);  // The view keeps the section alive.
  if (data == nullptr) return WindowsError(path, error);
  return static_cast<char*>(data);
}

// Whether the file belongs to this process's user (or to its default owner:
// an elevated administrator's new files belong to Administrators).
absl::Status CheckOwner(HANDLE h, const std::string& path) {
  PSID owner = nullptr;
  PSECURITY_DESCRIPTOR sd = nullptr;
  if (GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, &owner,
                      nullptr, nullptr, nullptr, &sd) != ERROR_SUCCESS ||
      owner == nullptr) {
    if (sd != nullptr) LocalFree(sd);
    return absl::OkStatus();  // No owner to compare (e.g. FAT).
  }
  bool mine = false;
  HANDLE token = nullptr;
  if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
    for (TOKEN_INFORMATION_CLASS cls : {TokenUser, TokenOwner}) {
      DWORD n = 0;
      GetTokenInformation(token, cls, nullptr, 0, &n);
      if (n == 0) continue;
      std::string buf(n, '\0');
      if (!GetTokenInformation(token, cls, &buf[0], n, &n)) continue;
      PSID sid = cls == TokenUser
                     ? reinterpret_cast<TOKEN_USER*>(&buf[0])->User.Sid
                     : reinterpret_cast<TOKEN_OWNER*>(&buf[0])->Owner;
      if (EqualSid(sid, owner)) mine = true;
    }
    CloseHandle(token);
  } else {
    mine = true;  // Cannot tell: do not refuse.
  }
  LocalFree(sd);
  if (!mine) {
    return absl::PermissionDeniedError(absl::StrCat(
        path, ": owned by another user; refusing it (Options::allow_other_owner)"));
  }
  return absl::OkStatus();
}

// Creates path (CREATE_NEW), shared for reading, writing and deleting,
// with DELETE access (for DeleteOnClose).
absl::StatusOr<HANDLE> CreateExclusive(const std::string& path) {
  HANDLE h = CreateFileW(Widen(path).c_str(), GENERIC_READ | GENERIC_WRITE | DELETE,
                         kShareAll, nullptr, CREATE_NEW, FILE_ATTRIBUTE_NORMAL,
                         nullptr);
  if (h == INVALID_HANDLE_VALUE) return WindowsError(path, GetLastError());
  return h;
}

bool IsDiskFull(DWORD error) {
  return error == ERROR_DISK_FULL || error == ERROR_HANDLE_DISK_FULL;
}

// ResourceExhausted for `size` bytes that did not fit into path's directory.
absl::Status NoRoomError(const std::string& path, size_t size) {
  const std::string dir = DirOf(path);
  return absl::ResourceExhaustedError(absl::StrCat(
      path, ": no room for ", size, " bytes (", FreeSpace(dir), " bytes free in ",
      dir, ")"));
}

uint64_t Fnv1a(const void* data, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

}  // namespace

void Segment::Release() {
  if (data_ != nullptr) UnmapViewOfFile(data_);
  if (fd_ != -1) CloseHandle(AsHandle(fd_));
  data_ = nullptr;
  fd_ = -1;
}

absl::StatusOr<Segment> Segment::Create(const std::string& path, size_t size,
                                        mode_t mode, size_t reserve) {
  // `mode` has no Windows meaning: the file gets the directory's inherited
  // ACL (%TEMP% is private to the user). Every byte is reserved at once
  // (setting the end of file allocates it), whatever `reserve` says.
  (void)mode;
  (void)reserve;
  absl::StatusOr<HANDLE> created = CreateExclusive(path);
  if (!created.ok()) return created.status();
  HANDLE h = *created;
  Segment segment;
  segment.path_ = path;
  segment.fd_ = AsFd(h);
  // Reserve every byte now (not sparse): a full disk fails here, not with an
  // in-page error later.
  FILE_END_OF_FILE_INFO eof;
  eof.EndOfFile.QuadPart = static_cast<LONGLONG>(size);
  if (!SetFileInformationByHandle(h, FileEndOfFileInfo, &eof, sizeof(eof))) {
    const DWORD e = GetLastError();
    DeleteOnClose(h);
    if (IsDiskFull(e)) return NoRoomError(path, size);
    return WindowsError(path, e);
  }
  absl::StatusOr<char*> data = MapFile(h, size, /*writable=*/true, path);
  if (!data.ok()) {
    DeleteOnClose(h);
    return data.status();
  }
  segment.data_ = *data;
  segment.size_ = size;
  return segment;
}

absl::StatusOr<Segment> Segment::Open(const std::string& path,
                                      bool allow_other_owner, bool writable) {
  // FILE_FLAG_OPEN_REPARSE_POINT: a symbolic link (or junction) is opened
  // itself, not followed, and refused below (POSIX: O_NOFOLLOW).
  HANDLE h = CreateFileW(
      Widen(path).c_str(), GENERIC_READ | (writable ? GENERIC_WRITE : 0),
      kShareAll, nullptr, OPEN_EXISTING,
      FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  if (h == INVALID_HANDLE_VALUE) {
    const DWORD e = GetLastError();
    // A directory cannot be opened without FILE_FLAG_BACKUP_SEMANTICS: it
    // fails with "access denied", which is not the reason.
    const DWORD attributes = GetFileAttributesW(Widen(path).c_str());
    if (e == ERROR_ACCESS_DENIED && attributes != INVALID_FILE_ATTRIBUTES &&
        (attributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": not a regular file (a directory)"));
    }
    return WindowsError(path, e);
  }
  Segment segment;
  segment.path_ = path;
  segment.fd_ = AsFd(h);
  BY_HANDLE_FILE_INFORMATION info;
  if (!GetFileInformationByHandle(h, &info)) {
    return WindowsError(path, GetLastError());
  }
  if ((info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": not a regular file (a symbolic link; segments are never "
        "opened through links)"));
  }
  if ((info.dwFileAttributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_DEVICE)) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a regular file"));
  }
  if (!allow_other_owner) {
    absl::Status s = CheckOwner(h, path);
    if (!s.ok()) return s;
  }
  const uint64_t file_size =
      (uint64_t{info.nFileSizeHigh} << 32) | uint64_t{info.nFileSizeLow};
  if (file_size == 0) {
    return absl::DataLossError(absl::StrCat(path, ": empty segment"));
  }
  const size_t size = static_cast<size_t>(file_size);
  absl::StatusOr<char*> data = MapFile(h, size, writable, path);
  if (!data.ok()) return data.status();
  segment.data_ = *data;
  segment.size_ = size;
  return segment;
}

void Segment::CloseFile() {}  // The handles keep the mapping alive here.

absl::Status Segment::ReserveRange(size_t, size_t) const {
  return absl::OkStatus();  // Create reserved every byte already.
}

SegmentFile SegmentFile::Of(const Segment& s) {
  // Reads the mapping: a named mapping has no file to read, and the handles
  // of a file-backed one keep the mapping alive anyway.
  SegmentFile f;
  f.path_ = s.path();
  f.data_ = s.data();
  f.size_ = s.size();
  return f;
}

void SegmentFile::Close() {}

absl::Status SegmentFile::ReadAt(uint64_t offset, char* dst, size_t n) const {
  if (offset > size_ || n > size_ - offset) {
    return absl::InvalidArgumentError(absl::StrCat(
        path_, ": reading [", offset, ", +", n, ") past ", size_, " bytes"));
  }
  std::memcpy(dst, data_ + offset, n);
  return absl::OkStatus();
}

absl::StatusOr<FileWriter> FileWriter::Create(const std::string& path,
                                              mode_t mode) {
  (void)mode;  // As in Segment::Create.
  absl::StatusOr<HANDLE> h = CreateExclusive(path);
  if (!h.ok()) return h.status();
  FileWriter writer;
  writer.path_ = path;
  writer.fd_ = AsFd(*h);
  return writer;
}

absl::Status FileWriter::WriteAt(uint64_t offset, const char* data, size_t size) {
  while (size > 0) {
    const DWORD chunk = static_cast<DWORD>(std::min<size_t>(size, 1u << 30));
    OVERLAPPED at = {};
    at.Offset = static_cast<DWORD>(offset);
    at.OffsetHigh = static_cast<DWORD>(offset >> 32);
    DWORD written = 0;
    if (!WriteFile(AsHandle(fd_), data, chunk, &written, &at)) {
      const DWORD e = GetLastError();
      if (IsDiskFull(e)) return NoRoomError(path_, size);
      return WindowsError(path_, e);
    }
    if (written == 0) return NoRoomError(path_, size);  // Never loop forever.
    data += written;
    size -= written;
    offset += written;
  }
  return absl::OkStatus();
}

absl::StatusOr<Segment> FileWriter::Finish() {
  if (size_ == 0) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": nothing written"));
  }
  absl::StatusOr<char*> data =
      MapFile(AsHandle(fd_), static_cast<size_t>(size_), /*writable=*/true, path_);
  if (!data.ok()) return data.status();  // Abandoned by the destructor.
  Segment segment;
  segment.path_ = std::move(path_);
  segment.fd_ = fd_;
  segment.data_ = *data;
  segment.size_ = static_cast<size_t>(size_);
  fd_ = -1;
  size_ = 0;
  return segment;
}

void FileWriter::Abandon() {
  if (fd_ == -1) return;
  DeleteOnClose(AsHandle(fd_));
  CloseHandle(AsHandle(fd_));
  fd_ = -1;
  size_ = 0;
}

absl::Status Segment::Sync() const {
  if (data_ != nullptr && !FlushViewOfFile(data_, size_)) {
    return WindowsError(path_, GetLastError());
  }
  if (fd_ != -1 && !FlushFileBuffers(AsHandle(fd_))) {
    const DWORD e = GetLastError();
    // A read-only handle cannot flush; the view flush above did the work.
    if (e != ERROR_ACCESS_DENIED && e != ERROR_INVALID_HANDLE) {
      return WindowsError(path_, e);
    }
  }
  return absl::OkStatus();
}

absl::Status Segment::Reopen(int* previous) {
  // A fresh handle to the same file even when path_ no longer names it.
  HANDLE h = ReOpenFile(AsHandle(fd_), GENERIC_READ | GENERIC_WRITE, kShareAll, 0);
  if (h == INVALID_HANDLE_VALUE) {
    h = CreateFileW(Widen(path_).c_str(), GENERIC_READ | GENERIC_WRITE, kShareAll,
                    nullptr, OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  }
  if (h == INVALID_HANDLE_VALUE) return WindowsError(path_, GetLastError());
  *previous = fd_;
  fd_ = AsFd(h);
  return absl::OkStatus();
}

namespace {
// The volume and file index of an open file (its identity).
bool FileIdentity(HANDLE h, BY_HANDLE_FILE_INFORMATION* info) {
  return GetFileInformationByHandle(h, info) != 0;
}
}  // namespace

bool Segment::IsFileAt(const std::string& path) const {
  if (fd_ == -1) return false;
  HANDLE there = CreateFileW(Widen(path).c_str(), 0, kShareAll, nullptr,
                             OPEN_EXISTING,
                             FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS,
                             nullptr);
  if (there == INVALID_HANDLE_VALUE) return false;
  BY_HANDLE_FILE_INFORMATION a, b;
  // Wine reports volume serial 0 for some handles of a file (a mapped
  // one) and the volume's for others: compare serials only when both are
  // known (path is in the directory the segment was opened from).
  const bool same =
      FileIdentity(AsHandle(fd_), &a) && FileIdentity(there, &b) &&
      (a.dwVolumeSerialNumber == 0 || b.dwVolumeSerialNumber == 0 ||
       a.dwVolumeSerialNumber == b.dwVolumeSerialNumber) &&
      a.nFileIndexHigh == b.nFileIndexHigh && a.nFileIndexLow == b.nFileIndexLow;
  CloseHandle(there);
  return same;
}

void CloseDescriptor(int fd) {
  if (fd != -1) CloseHandle(AsHandle(fd));
}

absl::Status Unlink(const std::string& path) {
  const std::wstring wpath = Widen(path);
  HANDLE h = CreateFileW(wpath.c_str(), DELETE, kShareAll, nullptr, OPEN_EXISTING,
                         FILE_FLAG_OPEN_REPARSE_POINT, nullptr);
  if (h == INVALID_HANDLE_VALUE) return WindowsError(path, GetLastError());
  absl::Status s;
  if (!PosixDelete(h)) {
    // Classic semantics: the name would stay (and block a new file of the
    // same name) until the last handle closes. Move it aside first.
    const std::string trash = absl::StrCat(DirOf(path), "\\", kTrashPrefix,
                                           RandomHex(8));
    if (MoveFileExW(wpath.c_str(), Widen(trash).c_str(), 0)) {
      DeleteOnClose(h);  // Fails while mapped: ListDirectory reaps it later.
    } else {
      const DWORD e = GetLastError();
      if (!DeleteOnClose(h)) s = WindowsError(path, e);
    }
  }
  CloseHandle(h);
  return s;
}

absl::Status Rename(const std::string& from, const std::string& to) {
  const std::wstring wfrom = Widen(from), wto = Widen(to);
  if (MoveFileExW(wfrom.c_str(), wto.c_str(), MOVEFILE_REPLACE_EXISTING)) {
    return absl::OkStatus();
  }
  DWORD e = GetLastError();
  // A target that is mapped somewhere cannot be replaced on classic
  // semantics: move it to the trash first (then `to` is briefly absent).
  if (e == ERROR_ACCESS_DENIED &&
      GetFileAttributesW(wto.c_str()) != INVALID_FILE_ATTRIBUTES &&
      Unlink(to).ok()) {
    if (MoveFileExW(wfrom.c_str(), wto.c_str(), MOVEFILE_REPLACE_EXISTING)) {
      return absl::OkStatus();
    }
    e = GetLastError();
  }
  return WindowsError(to, e);
}

absl::Status Link(const std::string& from, const std::string& to) {
  if (!CreateHardLinkW(Widen(to).c_str(), Widen(from).c_str(), nullptr)) {
    return WindowsError(to, GetLastError());
  }
  return absl::OkStatus();
}

void AdviseHugePages(void*, size_t) {}  // Large pages need a privilege.

void KillSelf() {
  TerminateProcess(GetCurrentProcess(), 137);
  for (;;) Sleep(INFINITE);  // Not reached.
}

absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& dir) {
  WIN32_FIND_DATAW entry;
  HANDLE find = FindFirstFileExW(Widen(dir + "\\*").c_str(), FindExInfoBasic,
                                 &entry, FindExSearchNameMatch, nullptr, 0);
  if (find == INVALID_HANDLE_VALUE) {
    const DWORD e = GetLastError();
    if (e == ERROR_FILE_NOT_FOUND) return std::vector<std::string>();
    return WindowsError(dir, e);
  }
  std::vector<std::string> names;
  std::vector<std::string> trash;
  do {
    const std::string name = Narrow(entry.cFileName);
    if (name == "." || name == ".." || name.empty()) continue;
    if (absl::StartsWith(name, kTrashPrefix)) {
      trash.push_back(name);
      continue;
    }
    names.push_back(name);
  } while (FindNextFileW(find, &entry));
  FindClose(find);
  // Unlinked files that were still mapped then: delete those mapped no more.
  for (const std::string& name : trash) {
    DeleteFileW(Widen(dir + "\\" + name).c_str());
  }
  return names;
}

bool Segment::CollapseHugePages(size_t, size_t) const { return false; }

std::string DescribePages(const std::string&) { return "unknown"; }

std::string SegmentDirectory(const std::string& requested) {
  if (!requested.empty()) return requested;
  const wchar_t* env = _wgetenv(L"ULTRADICT_DIR");
  if (env != nullptr && env[0] != L'\0') return Narrow(env);
  static const std::string dir = [] {
    wchar_t temp[MAX_PATH + 1];
    const DWORD n = GetTempPathW(MAX_PATH + 1, temp);
    std::string base = (n > 0 && n <= MAX_PATH) ? Narrow(temp) : std::string(".");
    while (!base.empty() && (base.back() == '\\' || base.back() == '/')) {
      base.pop_back();
    }
    std::string d = base + "\\ultradict";
    CreateDirectoryW(Widen(d).c_str(), nullptr);  // Exists already: fine.
    return d;
  }();
  return dir;
}

// ---------------------------------------------------------------------------
// ProcessMutex. Storage (32 bytes of the 64 the control block reserves):
//   0  8  magic "UDWINMTX"
//   8 16  id: 16 hex digits; the mutex is "Local\ultradict-<id>"
//  24  8  holder: pid << 32 | thread id while held, 0 when free
namespace {

constexpr uint64_t kMutexMagic = 0x58544d4e49574455ULL;  // "UDWINMTX"

struct MutexStorage {
  uint64_t magic;
  char id[16];
  std::atomic<uint64_t> holder;
};
static_assert(sizeof(MutexStorage) == 32, "ProcessMutex storage layout");

// This process's handle to one named mutex (kept for the process's life).
struct MutexHandle {
  HANDLE handle = nullptr;
  std::atomic<DWORD> owner_thread{0};  // Thread of this process holding it.
};

std::mutex g_mutexes_mu;
std::map<std::string, MutexHandle>* g_mutexes = new std::map<std::string, MutexHandle>;

absl::StatusOr<MutexHandle*> HandleFor(void* storage) {
  MutexStorage* m = static_cast<MutexStorage*>(storage);
  if (m->magic != kMutexMagic) {
    return absl::FailedPreconditionError(
        "robust mutex: storage not initialized by the Windows port");
  }
  const std::string id(m->id, sizeof(m->id));
  std::lock_guard<std::mutex> l(g_mutexes_mu);
  MutexHandle& entry = (*g_mutexes)[id];
  if (entry.handle == nullptr) {
    const std::wstring name = Widen("Local\\ultradict-" + id);
    entry.handle = CreateMutexW(nullptr, FALSE, name.c_str());
    if (entry.handle == nullptr) {
      const DWORD e = GetLastError();
      g_mutexes->erase(id);
      return WindowsError(absl::StrCat("robust mutex ultradict-", id), e);
    }
  }
  return &entry;
}

}  // namespace

size_t ProcessMutex::StorageSize() { return sizeof(MutexStorage); }

absl::Status ProcessMutex::Init(void* storage) {
  MutexStorage* m = static_cast<MutexStorage*>(storage);
  const std::string id = RandomHex(8);
  std::memcpy(m->id, id.data(), sizeof(m->id));
  m->holder.store(0, std::memory_order_relaxed);
  std::atomic_thread_fence(std::memory_order_release);
  m->magic = kMutexMagic;
  return absl::OkStatus();
}

absl::Status ProcessMutex::Lock(void* storage, int64_t timeout_ms,
                                bool* owner_died) {
  *owner_died = false;
  absl::StatusOr<MutexHandle*> entry = HandleFor(storage);
  if (!entry.ok()) return entry.status();
  const DWORD tid = GetCurrentThreadId();
  const DWORD wait_ms = static_cast<DWORD>(
      std::clamp<int64_t>(timeout_ms, 0, int64_t{INFINITE} - 1));
  if ((*entry)->owner_thread.load(std::memory_order_relaxed) == tid) {
    // Windows mutexes are recursive; a pthread mutex is not. Behave like
    // the POSIX port: this thread cannot get it again.
    Sleep(wait_ms);
    return absl::DeadlineExceededError(absl::StrCat(
        "write lock not acquired within ", timeout_ms, " ms (held by this thread)"));
  }
  const DWORD r = WaitForSingleObject((*entry)->handle, wait_ms);
  if (r == WAIT_OBJECT_0 || r == WAIT_ABANDONED) {
    MutexStorage* m = static_cast<MutexStorage*>(storage);
    const uint64_t me = (uint64_t{GetCurrentProcessId()} << 32) | tid;
    const uint64_t previous = m->holder.exchange(me, std::memory_order_acq_rel);
    // A holder that died as the last process with a handle took the named
    // mutex with it (no WAIT_ABANDONED then), but left `holder` set.
    *owner_died = r == WAIT_ABANDONED || previous != 0;
    (*entry)->owner_thread.store(tid, std::memory_order_relaxed);
    return absl::OkStatus();
  }
  if (r == WAIT_TIMEOUT) {
    return absl::DeadlineExceededError(
        absl::StrCat("write lock not acquired within ", timeout_ms, " ms"));
  }
  return WindowsError("robust mutex", GetLastError());
}

void ProcessMutex::MarkConsistent(void* storage) {
  // A Windows mutex is usable again after WAIT_ABANDONED; nothing to do.
  (void)storage;
}

void ProcessMutex::Unlock(void* storage) {
  absl::StatusOr<MutexHandle*> entry = HandleFor(storage);
  if (!entry.ok()) return;
  static_cast<MutexStorage*>(storage)->holder.store(0, std::memory_order_release);
  (*entry)->owner_thread.store(0, std::memory_order_relaxed);
  ReleaseMutex((*entry)->handle);
}

// ---------------------------------------------------------------------------
// Byte locks.
namespace {
bool LockRange(int fd, uint64_t offset, uint64_t len, bool exclusive) {
  OVERLAPPED ov;
  std::memset(&ov, 0, sizeof(ov));
  ov.Offset = static_cast<DWORD>(offset);
  ov.OffsetHigh = static_cast<DWORD>(offset >> 32);
  const DWORD flags =
      LOCKFILE_FAIL_IMMEDIATELY | (exclusive ? LOCKFILE_EXCLUSIVE_LOCK : 0);
  return LockFileEx(AsHandle(fd), flags, 0, static_cast<DWORD>(len),
                    static_cast<DWORD>(len >> 32), &ov) != 0;
}
void UnlockRangeImpl(int fd, uint64_t offset, uint64_t len) {
  OVERLAPPED ov;
  std::memset(&ov, 0, sizeof(ov));
  ov.Offset = static_cast<DWORD>(offset);
  ov.OffsetHigh = static_cast<DWORD>(offset >> 32);
  UnlockFileEx(AsHandle(fd), 0, static_cast<DWORD>(len),
               static_cast<DWORD>(len >> 32), &ov);
}
}  // namespace

bool TryLockByte(int fd, uint64_t offset, bool exclusive) {
  return LockRange(fd, offset, 1, exclusive);
}

void UnlockByte(int fd, uint64_t offset) { UnlockRangeImpl(fd, offset, 1); }

bool IsByteLockedByOther(int fd, uint64_t offset) {
  // No F_GETLK on Windows: try the lock and give it back. (A lock of this
  // very handle also counts here; the engine never asks about its own.)
  if (!LockRange(fd, offset, 1, /*exclusive=*/true)) return true;
  UnlockRangeImpl(fd, offset, 1);
  return false;
}

bool TryLockRange(int fd, uint64_t offset, uint64_t len) {
  return LockRange(fd, offset, len, /*exclusive=*/true);
}

void UnlockRange(int fd, uint64_t offset, uint64_t len) {
  UnlockRangeImpl(fd, offset, len);
}

// ---------------------------------------------------------------------------
// Change notification: a polling wait (see the top of the file).
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected,
               int64_t timeout_ms) {
  if (timeout_ms <= 0) return;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (int spins = 0;; spins++) {
    if (word->load(std::memory_order_acquire) != expected) return;
    if (std::chrono::steady_clock::now() >= deadline) return;
    if (spins < 16) {
      SwitchToThread();
    } else {
      Sleep(1);
    }
  }
}

void FutexWakeAll(std::atomic<uint32_t>* word) {
  (void)word;  // Waiters poll.
}

int32_t CurrentPid() { return static_cast<int32_t>(GetCurrentProcessId()); }

void AtFork(void (*)(), void (*)(), void (*)()) {}  // No fork() on Windows.

void ResetSharedMutexInForkChild(std::shared_mutex* mutex) {
  new (mutex) std::shared_mutex();  // Never called: no fork() here.
}

std::string RandomHex(size_t n) {
  std::string bytes(n, '\0');
  if (n > 0 && BCryptGenRandom(nullptr, reinterpret_cast<PUCHAR>(&bytes[0]),
                               static_cast<ULONG>(n),
                               BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) {
    for (size_t i = 0; i < n; i++) {  // Fallback: the CRT's RtlGenRandom.
      unsigned int r = 0;
      rand_s(&r);
      bytes[i] = static_cast<char>(r);
    }
  }
  return absl::BytesToHexString(bytes);
}

// The boot is identified by its time: now - uptime (GetTickCount64), in whole
// seconds, hashed. That difference jitters by a tick, and a clock change
// moves it; so the first process computes it and publishes it in a named
// section "Local\ultradict-boot-id" that every later process reads and keeps
// open. The value can only change when no UltraDict process is left (when
// nobody can be holding a mutex or a member slot that it would reset).
uint64_t BootId() {
  static const uint64_t boot_id = [] {
    auto compute = [] {
      FILETIME ft;
      GetSystemTimeAsFileTime(&ft);
      const uint64_t now_100ns =
          (uint64_t{ft.dwHighDateTime} << 32) | ft.dwLowDateTime;
      const uint64_t up_100ns = GetTickCount64() * 10000ULL;
      const uint64_t boot_s = (now_100ns - up_100ns + 5000000ULL) / 10000000ULL;
      return Fnv1a(&boot_s, sizeof(boot_s)) | 1;
    };
    HANDLE section = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr,
                                        PAGE_READWRITE, 0, 8,
                                        L"Local\\ultradict-boot-id");
    if (section == nullptr) return compute();
    const bool existed = GetLastError() == ERROR_ALREADY_EXISTS;
    void* view = MapViewOfFile(section, FILE_MAP_WRITE, 0, 0, 8);
    if (view == nullptr) return compute();  // (Leaves the section open.)
    auto* word = static_cast<std::atomic<uint64_t>*>(view);
    if (existed) {
      // The creator publishes right after creating; wait a little for it.
      for (int i = 0; i < 1000; i++) {
        const uint64_t v = word->load(std::memory_order_acquire);
        if (v != 0) return v;
        Sleep(1);
      }
    }
    uint64_t expected = 0;
    const uint64_t mine = compute();
    if (word->compare_exchange_strong(expected, mine, std::memory_order_acq_rel)) {
      return mine;
    }
    return expected;  // Another process published first.
    // The section and its view stay open for the life of the process.
  }();
  return boot_id;
}

uint64_t FreeSpace(const std::string& dir) {
  ULARGE_INTEGER avail;
  if (!GetDiskFreeSpaceExW(Widen(dir).c_str(), &avail, nullptr, nullptr)) return 0;
  return avail.QuadPart;
}

}  // namespace port
}  // namespace ultradict
