// port_test.cc: the Windows port layer (port/port_windows.cc) on its own:
// segments, unlink of open and mapped files, links, byte locks between
// handles, the named robust mutex, the polling wait, and the small helpers.
// Built with mingw-w64 and run under Wine by tools/windows/run_tests.sh.

#include <windows.h>

#include <atomic>
#include <cstdio>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "port/port.h"

namespace ultradict {
namespace port {
namespace {

std::string TestDir() {
  static const std::string dir = [] {
    std::string d = absl::StrCat(SegmentDirectory(""), "\\port_test_",
                                 GetCurrentProcessId());
    CreateDirectoryA(d.c_str(), nullptr);
    return d;
  }();
  return dir;
}

std::string PathOf(const std::string& name) { return TestDir() + "/" + name; }

bool Listed(const std::string& name) {
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(TestDir());
  if (!names.ok()) return false;
  for (const std::string& n : *names) {
    if (n == name) return true;
  }
  return false;
}

TEST(PortTest, SegmentDirectoryDefaultsAndOverrides) {
  EXPECT_EQ(SegmentDirectory("C:\\x"), "C:\\x");
  const std::string def = SegmentDirectory("");
  EXPECT_FALSE(def.empty());
  const DWORD attrs = GetFileAttributesA(def.c_str());
  ASSERT_NE(attrs, INVALID_FILE_ATTRIBUTES) << def;
  EXPECT_NE(attrs & FILE_ATTRIBUTE_DIRECTORY, 0u);
}

TEST(PortTest, CreateOpenShareAndErrors) {
  const std::string path = PathOf("seg1");
  Unlink(path).IgnoreError();
  absl::StatusOr<Segment> a = Segment::Create(path, 65536, 0600);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->size(), 65536u);
  EXPECT_NE(a->fd(), -1);
  for (size_t i = 0; i < a->size(); i += 4096) EXPECT_EQ(a->data()[i], 0);
  std::memcpy(a->data() + 100, "hello", 5);

  absl::StatusOr<Segment> again = Segment::Create(path, 4096, 0600);
  EXPECT_TRUE(absl::IsAlreadyExists(again.status())) << again.status();

  absl::StatusOr<Segment> b = Segment::Open(path, false, true);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->size(), 65536u);
  EXPECT_EQ(std::string(b->data() + 100, 5), "hello");  // One shared file.
  b->data()[200] = 'x';
  EXPECT_EQ(a->data()[200], 'x');
  EXPECT_TRUE(b->Sync().ok());

  absl::StatusOr<Segment> ro = Segment::Open(path, false, false);
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ(ro->data()[200], 'x');
  EXPECT_TRUE(ro->Sync().ok());

  absl::StatusOr<Segment> missing = Segment::Open(PathOf("nope"), false, true);
  EXPECT_TRUE(absl::IsNotFound(missing.status())) << missing.status();
  EXPECT_TRUE(absl::StrContains(missing.status().message(), "nope"));
  EXPECT_TRUE(absl::IsNotFound(Unlink(PathOf("nope"))));

  // Moving keeps the mapping.
  Segment moved = std::move(*a);
  EXPECT_FALSE(a->valid());
  EXPECT_EQ(std::string(moved.data() + 100, 5), "hello");
  int previous = -1;
  EXPECT_TRUE(moved.Reopen(&previous).ok());
  port::CloseDescriptor(previous);
  EXPECT_EQ(std::string(moved.data() + 100, 5), "hello");
  EXPECT_TRUE(Unlink(path).ok());
}

TEST(PortTest, EmptyFileIsDataLoss) {
  const std::string path = PathOf("empty");
  HANDLE h = CreateFileA(path.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS,
                         FILE_ATTRIBUTE_NORMAL, nullptr);
  ASSERT_NE(h, INVALID_HANDLE_VALUE);
  CloseHandle(h);
  absl::StatusOr<Segment> s = Segment::Open(path, false, true);
  EXPECT_TRUE(absl::IsDataLoss(s.status())) << s.status();
  EXPECT_TRUE(Unlink(path).ok());
}

// The heart of handle lifetime on Windows: a file that is open and mapped
// (here and by another handle) can be unlinked, its name is free at once for
// a new file, and the old mapping keeps working.
TEST(PortTest, UnlinkWhileMappedFreesTheName) {
  const std::string path = PathOf("seg2");
  Unlink(path).IgnoreError();
  absl::StatusOr<Segment> a = Segment::Create(path, 8192, 0600);
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<Segment> b = Segment::Open(path, false, true);
  ASSERT_TRUE(b.ok()) << b.status();
  a->data()[0] = 'A';
  ASSERT_TRUE(Unlink(path).ok());
  EXPECT_FALSE(Listed("seg2"));
  EXPECT_TRUE(absl::IsNotFound(Segment::Open(path, false, true).status()));
  absl::StatusOr<Segment> c = Segment::Create(path, 4096, 0600);
  ASSERT_TRUE(c.ok()) << c.status();  // The name is free again.
  EXPECT_EQ(c->data()[0], 0);
  // The old file lives on for its holders.
  b->data()[1] = 'B';
  EXPECT_EQ(a->data()[0], 'A');
  EXPECT_EQ(a->data()[1], 'B');
  EXPECT_TRUE(Unlink(path).ok());
  // Trash names (if any) are never listed.
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(TestDir());
  ASSERT_TRUE(names.ok());
  for (const std::string& n : *names) EXPECT_FALSE(absl::StartsWith(n, ".ud-trash"));
}

// Raw directory entries (trash names included).
std::vector<std::string> RawEntries(const std::string& dir) {
  std::vector<std::string> out;
  WIN32_FIND_DATAA entry;
  HANDLE find = FindFirstFileA((dir + "\\*").c_str(), &entry);
  if (find == INVALID_HANDLE_VALUE) return out;
  do {
    const std::string n = entry.cFileName;
    if (n != "." && n != "..") out.push_back(n);
  } while (FindNextFileA(find, &entry));
  FindClose(find);
  return out;
}

TEST(PortTest, TrashIsReapedOnceUnmapped) {
  const std::string path = PathOf("seg3");
  Unlink(path).IgnoreError();
  ListDirectory(TestDir()).IgnoreError();
  {
    absl::StatusOr<Segment> a = Segment::Create(path, 4096, 0600);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_TRUE(Unlink(path).ok());
    int trash = 0;
    for (const std::string& n : RawEntries(TestDir())) {
      if (absl::StartsWith(n, ".ud-trash-")) trash++;
    }
    // Informational: which way Unlink went on this system.
    std::printf("[   INFO   ] unlink of a mapped file: %s\n",
                trash > 0 ? "moved to trash (classic delete semantics)"
                          : "POSIX delete (name gone at once)");
  }
  ListDirectory(TestDir()).IgnoreError();  // Reaps what is unmapped now.
  for (const std::string& n : RawEntries(TestDir())) {
    EXPECT_FALSE(absl::StartsWith(n, ".ud-trash-")) << n;
  }
}

TEST(PortTest, LinkIsCreateIfAbsent) {
  const std::string from = PathOf("from.tmp");
  const std::string to = PathOf("to");
  Unlink(to).IgnoreError();
  absl::StatusOr<Segment> a = Segment::Create(from, 4096, 0600);
  ASSERT_TRUE(a.ok()) << a.status();
  a->data()[7] = 'L';
  ASSERT_TRUE(Link(from, to).ok());
  EXPECT_TRUE(absl::IsAlreadyExists(Link(from, to)));
  EXPECT_TRUE(Unlink(from).ok());  // Still mapped by `a`.
  absl::StatusOr<Segment> b = Segment::Open(to, false, true);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->data()[7], 'L');
  b->data()[8] = 'M';
  EXPECT_EQ(a->data()[8], 'M');
  // The name's file is the one mapped, through either handle (Wine gives
  // a mapped handle volume serial 0: the check must not depend on it).
  EXPECT_TRUE(a->IsFileAt(to));
  EXPECT_TRUE(b->IsFileAt(to));
  EXPECT_FALSE(a->IsFileAt(from));  // Gone.
  EXPECT_TRUE(Unlink(to).ok());
  absl::StatusOr<Segment> c = Segment::Create(to, 4096, 0600);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(a->IsFileAt(to));  // Another file under the name now.
  EXPECT_TRUE(c->IsFileAt(to));
  EXPECT_TRUE(Unlink(to).ok());
}

TEST(PortTest, RenameReplacesEvenAMappedTarget) {
  const std::string from = PathOf("r.tmp");
  const std::string to = PathOf("r");
  absl::StatusOr<Segment> old = Segment::Create(to, 4096, 0600);
  ASSERT_TRUE(old.ok()) << old.status();
  old->data()[0] = 'O';
  absl::StatusOr<Segment> fresh = Segment::Create(from, 4096, 0600);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  fresh->data()[0] = 'N';
  ASSERT_TRUE(Rename(from, to).ok());  // Both still mapped here.
  EXPECT_FALSE(Listed("r.tmp"));
  absl::StatusOr<Segment> now = Segment::Open(to, false, true);
  ASSERT_TRUE(now.ok()) << now.status();
  EXPECT_EQ(now->data()[0], 'N');
  EXPECT_EQ(old->data()[0], 'O');
  EXPECT_TRUE(absl::IsNotFound(Rename(PathOf("absent"), to)));
  EXPECT_TRUE(Unlink(to).ok());
}

TEST(PortTest, ByteLocksBetweenHandles) {
  const std::string path = PathOf("locks");
  Unlink(path).IgnoreError();
  absl::StatusOr<Segment> a = Segment::Create(path, 4096, 0600);
  ASSERT_TRUE(a.ok()) << a.status();
  absl::StatusOr<Segment> b = Segment::Open(path, false, true);
  ASSERT_TRUE(b.ok()) << b.status();
  const uint64_t base = uint64_t{1} << 20;  // Past the end, like the engine.
  EXPECT_FALSE(IsByteLockedByOther(b->fd(), base));
  ASSERT_TRUE(TryLockByte(a->fd(), base, true));
  EXPECT_TRUE(IsByteLockedByOther(b->fd(), base));
  EXPECT_FALSE(TryLockByte(b->fd(), base, true));
  EXPECT_FALSE(TryLockByte(b->fd(), base, false));
  EXPECT_TRUE(TryLockByte(b->fd(), base + 1, true));
  EXPECT_FALSE(TryLockRange(a->fd(), base, 16));
  UnlockByte(a->fd(), base);
  EXPECT_FALSE(IsByteLockedByOther(b->fd(), base));
  UnlockByte(b->fd(), base + 1);
  // Shared locks share.
  EXPECT_TRUE(TryLockByte(a->fd(), base + 2, false));
  EXPECT_TRUE(TryLockByte(b->fd(), base + 2, false));
  EXPECT_TRUE(IsByteLockedByOther(a->fd(), base + 3) == false);
  UnlockByte(a->fd(), base + 2);
  UnlockByte(b->fd(), base + 2);
  ASSERT_TRUE(TryLockRange(a->fd(), base, 4096));
  EXPECT_TRUE(IsByteLockedByOther(b->fd(), base + 4095));
  UnlockRange(a->fd(), base, 4096);
  EXPECT_FALSE(IsByteLockedByOther(b->fd(), base + 4095));
  // Closing a handle drops its locks (as a dying process does).
  ASSERT_TRUE(TryLockByte(a->fd(), base + 9, true));
  EXPECT_TRUE(IsByteLockedByOther(b->fd(), base + 9));
  { Segment gone = std::move(*a); }
  EXPECT_FALSE(IsByteLockedByOther(b->fd(), base + 9));
  EXPECT_TRUE(Unlink(path).ok());
}

TEST(PortTest, ProcessMutexLocksAcrossThreadsAndTimesOut) {
  alignas(8) char storage[64] = {};
  ASSERT_LE(ProcessMutex::StorageSize(), sizeof(storage));
  ASSERT_TRUE(ProcessMutex::Init(storage).ok());
  bool died = true;
  ASSERT_TRUE(ProcessMutex::Lock(storage, 1000, &died).ok());
  EXPECT_FALSE(died);
  // Not recursive, like a pthread mutex.
  bool died2 = false;
  EXPECT_TRUE(absl::IsDeadlineExceeded(ProcessMutex::Lock(storage, 20, &died2)));
  std::atomic<int> phase{0};
  std::thread other([&] {
    bool d = false;
    EXPECT_TRUE(absl::IsDeadlineExceeded(ProcessMutex::Lock(storage, 30, &d)));
    phase = 1;
    EXPECT_TRUE(ProcessMutex::Lock(storage, 5000, &d).ok());
    EXPECT_FALSE(d);
    phase = 2;
    ProcessMutex::Unlock(storage);
  });
  while (phase.load() < 1) Sleep(1);
  Sleep(20);
  EXPECT_EQ(phase.load(), 1);
  ProcessMutex::Unlock(storage);
  other.join();
  EXPECT_EQ(phase.load(), 2);
  // A thread that ends holding the mutex abandons it: owner_died.
  std::thread quitter([&] {
    bool d = false;
    EXPECT_TRUE(ProcessMutex::Lock(storage, 1000, &d).ok());
  });
  quitter.join();
  ASSERT_TRUE(ProcessMutex::Lock(storage, 1000, &died).ok());
  EXPECT_TRUE(died);
  ProcessMutex::MarkConsistent(storage);
  ProcessMutex::Unlock(storage);
  ASSERT_TRUE(ProcessMutex::Lock(storage, 1000, &died).ok());
  EXPECT_FALSE(died);
  ProcessMutex::Unlock(storage);
}

TEST(PortTest, ProcessMutexNeedsInit) {
  alignas(8) char storage[64] = {};
  bool died = false;
  EXPECT_FALSE(ProcessMutex::Lock(storage, 10, &died).ok());
}

TEST(PortTest, FutexWaitPollsUntilChangeOrTimeout) {
  std::atomic<uint32_t> word{5};
  auto start = std::chrono::steady_clock::now();
  FutexWait(&word, 5, 50);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start).count();
  EXPECT_GE(ms, 45);
  EXPECT_LT(ms, 2000);
  start = std::chrono::steady_clock::now();
  FutexWait(&word, 4, 5000);  // Not equal: returns at once.
  std::thread t([&] {
    Sleep(30);
    word.store(6);
    FutexWakeAll(&word);
  });
  FutexWait(&word, 5, 5000);
  ms = std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(word.load(), 6u);
  EXPECT_LT(ms, 2000);
  t.join();
}

TEST(PortTest, Helpers) {
  EXPECT_EQ(CurrentPid(), static_cast<int32_t>(GetCurrentProcessId()));
  const std::string r1 = RandomHex(8), r2 = RandomHex(8);
  EXPECT_EQ(r1.size(), 16u);
  EXPECT_NE(r1, r2);
  EXPECT_EQ(r1.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(BootId(), 0u);
  EXPECT_EQ(BootId(), BootId());
  EXPECT_GT(FreeSpace(TestDir()), 0u);
  absl::StatusOr<std::vector<std::string>> none = ListDirectory(PathOf("no-dir"));
  EXPECT_TRUE(absl::IsNotFound(none.status())) << none.status();
}

}  // namespace
}  // namespace port
}  // namespace ultradict

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  const int rc = RUN_ALL_TESTS();
  ultradict::port::ListDirectory(ultradict::port::TestDir()).IgnoreError();
  RemoveDirectoryA(ultradict::port::TestDir().c_str());
  return rc;
}
