// port_windows.cc: port.h for Windows (Win32 API; built with mingw-w64 and
// tested under Wine, see doc/windows.md). Not part of the Bazel build.
//
// How the POSIX notions map:
// - Segment: a file in the segment directory (default %TEMP%\ultradict),
//   opened with FILE_SHARE_READ|WRITE|DELETE so that it can be renamed and
//   deleted while other processes map it, and mapped with
//   CreateFileMapping/MapViewOfFile. fd() is the file HANDLE truncated to an
//   int: Windows guarantees that kernel handles fit in 32 bits (they are
//   sign-extended back), which keeps port.h unchanged.
// - Unlink: POSIX-semantics delete when the system offers it (the name goes
//   at once, the data when the last handle closes); otherwise the file is
//   renamed to a hidden trash name in the same directory and deleted when it
//   can be (a mapped file cannot be deleted on classic Windows semantics);
//   ListDirectory hides and reaps trash names.
// - ProcessMutex: a named mutex cannot live in shared memory, so the storage
//   holds a random id and the mutex is "Local\ultradict-<id>", opened by each
//   process on first use. WAIT_ABANDONED means the holder died. The storage
//   also records whether the mutex is held, so a holder that died when it was
//   the last process with a handle (the named mutex then vanishes with it) is
//   still reported as owner_died to the next locker.
// - Byte locks: LockFileEx/UnlockFileEx on the segment's file handle;
//   Windows drops them when the handle is closed or the process dies.
// - FutexWait: Windows has no cross-process wait on an address
//   (WaitOnAddress is process-local), so it polls the word every ~1 ms up to
//   the timeout.

#ifndef _WIN32
#error "port_windows.cc is for Windows only (port_posix.cc is the Linux port)"
#endif

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>
#include <bcrypt.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "port/port.h"

namespace ultradict {
namespace port {

namespace {

// Hidden names of unlinked files that could not be deleted yet.
constexpr char kTrashPrefix[] = ".ud-trash-";

std::wstring Widen(const std::string& s) {
  if (s.empty()) return std::wstring();
  const int n = MultiByteToWideChar(CP_UTF8, 0, s.data(),
                                    static_cast<int>(s.size()), nullptr, 0);
  std::wstring w(static_cast<size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), &w[0], n);
  return w;
}

std::string Narrow(const wchar_t* w) {
  const int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, nullptr, 0, nullptr, nullptr);
  if (n <= 1) return std::string();
  std::string s(static_cast<size_t>(n - 1), '\0');
  WideCharToMultiByte(CP_UTF8, 0, w, -1, &s[0], n, nullptr, nullptr);
  return s;
}

std::string ErrorText(DWORD error) {
  wchar_t* buf = nullptr;
  const DWORD n = FormatMessageW(
      FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
          FORMAT_MESSAGE_IGNORE_INSERTS,
      nullptr, error, 0, reinterpret_cast<wchar_t*>(&buf), 0, nullptr);
  std::string text;
  if (n > 0 && buf != nullptr) {
    text = Narrow(buf);
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' ||
                             text.back() == ' ' || text.back() == '.')) {
      text.pop_back();
    }
  }
  if (buf != nullptr) LocalFree(buf);
  if (text.empty()) text = "Windows error";
  return absl::StrCat(text, " (error ", error, ")");
}

// Turns a Win32 error into a Status naming the file (PosixError's twin).
absl::Status WindowsError(const std::string& context, DWORD error) {
  const std::string message = absl::StrCat(context, ": ", ErrorText(error));
  switch (error) {
    case ERROR_FILE_NOT_FOUND:
    case ERROR_PATH_NOT_FOUND:
    case ERROR_INVALID_NAME:
      return absl::NotFoundError(message);
    case ERROR_FILE_EXISTS:
    case ERROR_ALREADY_EXISTS:
      return absl::AlreadyExistsError(message);
    case ERROR_ACCESS_DENIED:
    case ERROR_SHARING_VIOLATION:
    case ERROR_LOCK_VIOLATION:
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
int AsFd(HANDLE h) {
  return static_cast<int>(reinterpret_cast<intptr_t>(h));
}

constexpr DWORD kShareAll = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

std::string DirOf(const std::string& path) {
  const size_t slash = path.find_last_of("/\\");
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

void Close(HANDLE h) {
  if (h != nullptr && h != INVALID_HANDLE_VALUE) CloseHandle(h);
}

// Maps the whole file `h` of `size` bytes.
absl::StatusOr<char*> MapFile(HANDLE h, size_t size, bool writable,
                              const std::string& path) {
  HANDLE mapping = CreateFileMappingW(h, nullptr,
                                      writable ? PAGE_READWRITE : PAGE_READONLY,
                                      0, 0, nullptr);
  if (mapping == nullptr) return WindowsError(path, GetLastError());
  void* data = MapViewOfFile(mapping, writable ? FILE_MAP_WRITE : FILE_MAP_READ,
                             0, 0, size);
  const DWORD error = GetLastError();
  CloseHandle(mapping);  // The view keeps the section alive.
  if (data == nullptr) return WindowsError(path, error);
  return static_cast<char*>(data);
}

// The SID of the file's owner against this process's user and default
// owner (an elevated administrator's files belong to Administrators).
absl::Status CheckOwner(HANDLE h, const std::string& path) {
  PSID owner = nullptr;
  PSECURITY_DESCRIPTOR sd = nullptr;
  if (GetSecurityInfoCompat(h, &owner, &sd) != ERROR_SUCCESS || owner == nullptr) {
    return absl::OkStatus();  // Unknown (e.g. FAT): nothing to compare.
  }
  bool mine = false;
  HANDLE token = nullptr;
  if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
    for (TOKEN_INFORMATION_CLASS cls : {TokenUser, TokenOwner}) {
      DWORD n = 0;
      GetTokenInformation(token, cls, nullptr, 0, &n);
      std::string buf(n, '\0');
      if (n > 0 && GetTokenInformation(token, cls, &buf[0], n, &n)) {
        PSID sid = cls == TokenUser
                       ? reinterpret_cast<TOKEN_USER*>(&buf[0])->User.Sid
                       : reinterpret_cast<TOKEN_OWNER*>(&buf[0])->Owner;
        if (EqualSid(sid, owner)) mine = true;
      }
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

}  // namespace

// GetSecurityInfo lives in advapi32's aclapi.h; declared here to keep the
// header list short (and the name out of the anonymous namespace's way).
}  // namespace port
}  // namespace ultradict

#include <aclapi.h>

namespace ultradict {
namespace port {
namespace {
DWORD GetSecurityInfoCompat(HANDLE h, PSID* owner, PSECURITY_DESCRIPTOR* sd) {
  return GetSecurityInfo(h, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION, owner,
                         nullptr, nullptr, nullptr, sd);
}
}  // namespace
}  // namespace port
}  // namespace ultradict
