// multiprocess_test.cc: several Windows processes sharing one dictionary.
// The test re-runs its own .exe (CreateProcess) with a role argument:
//   multiprocess_test.exe --child <role> <name> <lifetime> [count]
// Covers a writer and a reader in two processes, a process killed
// (TerminateProcess) while it holds the write lock and the survivor taking
// over (WAIT_ABANDONED, or the held flag when the named mutex died with its
// last handle), a crash inside a commit (fault point), and each lifetime's
// handle behaviour. Run under Wine by tools/windows/run_tests.sh.

#include <windows.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "port/port.h"
#include "ultradict/db.h"
#include "ultradict/iterator.h"

namespace ultradict {
namespace {

constexpr DWORD kChildTimeoutMs = 60000;

std::string Key(int i) { return absl::StrCat("key", 100000 + i); }
std::string Value(int i) { return absl::StrCat("value-", i, "-", std::string(i % 50, 'v')); }

Options OptionsFor(Lifetime lifetime) {
  Options options;
  options.lifetime = lifetime;
  options.log_size = 64 * 1024;  // Small: the writers compact along the way.
  options.write_lock_timeout_ms = 20000;
  return options;
}

std::wstring Wide(const std::string& s) { return std::wstring(s.begin(), s.end()); }

// A named event shared by the test and its children.
HANDLE Event(const std::string& name, const std::string& what) {
  return CreateEventW(nullptr, TRUE, FALSE,
                      Wide(absl::StrCat("Local\\udtest-", name, "-", what)).c_str());
}

// ---------------------------------------------------------------------------
// Child roles. Exit code 0 on success; 2.. on failures (printed).

int Fail(const std::string& what) {
  std::fprintf(stderr, "child %lu: %s\n", GetCurrentProcessId(), what.c_str());
  return 2;
}

int RunChild(const std::string& role, const std::string& name, Lifetime lifetime,
             int count) {
  absl::StatusOr<std::unique_ptr<DB>> db = DB::Open(OptionsFor(lifetime), name);
  if (!db.ok()) return Fail(db.status().ToString());
  HANDLE ready = Event(name, "ready");
  HANDLE go = Event(name, "go");
  if (role == "writer") {  // Puts count keys in order.
    for (int i = 0; i < count; i++) {
      absl::Status s = (*db)->Put(Key(i), Value(i));
      if (!s.ok()) return Fail(s.ToString());
    }
    return 0;
  }
  if (role == "reader") {  // Sees the parent's keys appear, in order.
    SetEvent(ready);
    uint64_t seq = 0;
    int seen = 0;
    const ULONGLONG deadline = GetTickCount64() + kChildTimeoutMs;
    while (seen < count && GetTickCount64() < deadline) {
      seq = (*db)->WaitForChange(seq, 200);
      // A point-in-time view: sequential puts show as a prefix of the keys.
      std::unique_ptr<Iterator> it = (*db)->NewIterator();
      int now = 0;
      for (it->SeekToFirst(); it->Valid(); it->Next(), now++) {
        if (now >= count || it->key() != Key(now)) {
          return Fail(absl::StrCat("view holds ", std::string(it->key()),
                                   " where ", Key(now), " belongs"));
        }
        if (it->value() != Value(now)) return Fail("bad value for " + Key(now));
      }
      if (!it->status().ok()) return Fail(it->status().ToString());
      if (now < seen) return Fail("keys disappeared");
      seen = now;
    }
    return seen == count ? 0 : Fail(absl::StrCat("saw only ", seen, " keys"));
  }
  if (role == "hold") {  // Takes the write lock and waits to be killed.
    absl::Status s = (*db)->Update("held", [&](const std::string_view*) {
      SetEvent(ready);
      Sleep(INFINITE);
      return std::optional<std::string>("never");
    });
    return Fail("Update returned: " + s.ToString());
  }
  if (role == "put-and-wait") {  // Puts, then stays attached until "go".
    absl::Status s = (*db)->Put("from-child", "yes");
    if (!s.ok()) return Fail(s.ToString());
    SetEvent(ready);
    if (WaitForSingleObject(go, kChildTimeoutMs) != WAIT_OBJECT_0) {
      return Fail("no go");
    }
    return 0;  // Closes the dictionary on the way out.
  }
  if (role == "crash-in-commit") {  // ULTRADICT_FAULT_POINT kills it.
    for (int i = 0; i < count; i++) {
      absl::Status s = (*db)->Put(Key(i), Value(i));
      if (!s.ok()) return Fail(s.ToString());
    }
    return Fail("the fault point did not fire");
  }
  return Fail("unknown role " + role);
}

// ---------------------------------------------------------------------------
// The test side.

struct Child {
  PROCESS_INFORMATION pi{};
  bool started = false;
  ~Child() {
    if (started) {
      TerminateProcess(pi.hProcess, 1);
      WaitForSingleObject(pi.hProcess, 5000);
      CloseHandle(pi.hProcess);
      CloseHandle(pi.hThread);
    }
  }
  DWORD Wait() {
    if (WaitForSingleObject(pi.hProcess, kChildTimeoutMs) != WAIT_OBJECT_0) {
      return 1000;  // Hung.
    }
    DWORD code = 999;
    GetExitCodeProcess(pi.hProcess, &code);
    return code;
  }
  void Kill() {
    TerminateProcess(pi.hProcess, 9);
    WaitForSingleObject(pi.hProcess, kChildTimeoutMs);
  }
};

std::unique_ptr<Child> Spawn(const std::string& role, const std::string& name,
                             Lifetime lifetime, int count = 0) {
  wchar_t exe[MAX_PATH];
  GetModuleFileNameW(nullptr, exe, MAX_PATH);
  std::wstring cmd = L"\"" + std::wstring(exe) + L"\" --child " +
                     Wide(absl::StrCat(role, " ", name, " ",
                                       static_cast<int>(lifetime), " ", count));
  STARTUPINFOW si{};
  si.cb = sizeof(si);
  auto child = std::make_unique<Child>();
  child->started = CreateProcessW(exe, &cmd[0], nullptr, nullptr, FALSE, 0,
                                  nullptr, nullptr, &si, &child->pi) != 0;
  EXPECT_TRUE(child->started) << "CreateProcess: " << GetLastError();
  return child;
}

std::string UniqueName(const std::string& hint) {
  static int counter = 0;
  return absl::StrCat("w", GetCurrentProcessId(), "_", counter++, "_", hint);
}

// Files of dictionary `name` in the segment directory.
std::vector<std::string> FilesOf(const std::string& name) {
  std::vector<std::string> found;
  absl::StatusOr<std::vector<std::string>> files =
      port::ListDirectory(port::SegmentDirectory(""));
  if (!files.ok()) return found;
  for (const std::string& f : *files) {
    if (f == "ud." + name || absl::StartsWith(f, "ud." + name + ".")) {
      found.push_back(f);
    }
  }
  return found;
}

bool Exists(const std::string& name) {
  Options options;
  options.create_if_missing = false;
  return DB::Open(options, name).ok();
}

uint64_t Recoveries(DB* db) {
  std::string stats;
  db->GetProperty("ultradict.stats", &stats);
  const size_t at = stats.find("recoveries: ");
  return at == std::string::npos ? 0 : std::strtoull(stats.c_str() + at + 12, nullptr, 10);
}

TEST(MultiProcessTest, ChildWritesWhileParentReads) {
  const std::string name = UniqueName("wr");
  const int kCount = 2000;
  absl::StatusOr<std::unique_ptr<DB>> db =
      DB::Open(OptionsFor(Lifetime::kUntilLastClose), name);
  ASSERT_TRUE(db.ok()) << db.status();
  std::unique_ptr<Child> writer = Spawn("writer", name, Lifetime::kUntilLastClose, kCount);
  uint64_t seq = 0;
  int seen = 0;
  const ULONGLONG deadline = GetTickCount64() + kChildTimeoutMs;
  while (seen < kCount && GetTickCount64() < deadline) {
    seq = (*db)->WaitForChange(seq, 200);
    std::string value;
    while (seen < kCount && (*db)->Get(Key(seen), &value).ok()) {
      ASSERT_EQ(value, Value(seen));
      seen++;
    }
  }
  EXPECT_EQ(seen, kCount);
  EXPECT_EQ(writer->Wait(), 0u);
  EXPECT_TRUE(Exists(name));  // The writer closed; we are still attached.
  db->reset();
  EXPECT_TRUE(FilesOf(name).empty());  // Last close removed it.
}

TEST(MultiProcessTest, ParentWritesWhileChildReads) {
  const std::string name = UniqueName("rw");
  const int kCount = 2000;
  absl::StatusOr<std::unique_ptr<DB>> db =
      DB::Open(OptionsFor(Lifetime::kUntilLastClose), name);
  ASSERT_TRUE(db.ok()) << db.status();
  HANDLE ready = Event(name, "ready");
  std::unique_ptr<Child> reader = Spawn("reader", name, Lifetime::kUntilLastClose, kCount);
  ASSERT_EQ(WaitForSingleObject(ready, kChildTimeoutMs), WAIT_OBJECT_0);
  for (int i = 0; i < kCount; i++) ASSERT_TRUE((*db)->Put(Key(i), Value(i)).ok());
  EXPECT_EQ(reader->Wait(), 0u);
  CloseHandle(ready);
}

// `parent_locked_first`: the parent has used the write lock before the
// child dies, so it holds a handle to the named mutex and sees
// WAIT_ABANDONED; otherwise the mutex dies with the child and the held flag
// in the control segment tells.
void KilledHolderTest(bool parent_locked_first) {
  const std::string name = UniqueName(parent_locked_first ? "killa" : "killb");
  absl::StatusOr<std::unique_ptr<DB>> db =
      DB::Open(OptionsFor(Lifetime::kUntilLastClose), name);
  ASSERT_TRUE(db.ok()) << db.status();
  if (parent_locked_first) {
    ASSERT_TRUE((*db)->Put("before", "1").ok());
  }
  HANDLE ready = Event(name, "ready");
  std::unique_ptr<Child> holder = Spawn("hold", name, Lifetime::kUntilLastClose);
  ASSERT_EQ(WaitForSingleObject(ready, kChildTimeoutMs), WAIT_OBJECT_0);
  // While it lives, the lock is really held.
  Options quick = OptionsFor(Lifetime::kUntilLastClose);
  quick.write_lock_timeout_ms = 100;
  quick.create_if_missing = false;
  {
    absl::StatusOr<std::unique_ptr<DB>> other = DB::Open(quick, name);
    ASSERT_TRUE(other.ok()) << other.status();
    EXPECT_TRUE(absl::IsDeadlineExceeded((*other)->Put("x", "y")));
  }
  holder->Kill();
  // The survivor takes over, repairs, and goes on.
  ASSERT_TRUE((*db)->Put("after", "2").ok());
  EXPECT_GE(Recoveries(db->get()), 1u);
  std::string value;
  EXPECT_TRUE(absl::IsNotFound((*db)->Get("held", &value)));
  if (parent_locked_first) {
    ASSERT_TRUE((*db)->Get("before", &value).ok());
    EXPECT_EQ(value, "1");
  }
  // Another process can write after the takeover too.
  std::unique_ptr<Child> writer = Spawn("writer", name, Lifetime::kUntilLastClose, 100);
  EXPECT_EQ(writer->Wait(), 0u);
  ASSERT_TRUE((*db)->Get(Key(99), &value).ok());
  EXPECT_EQ(value, Value(99));
  std::string members;
  (*db)->GetProperty("ultradict.members", &members);
  EXPECT_EQ(members, absl::StrCat(GetCurrentProcessId()));  // The dead left.
  CloseHandle(ready);
  db->reset();
  EXPECT_TRUE(FilesOf(name).empty());
}

TEST(MultiProcessTest, KilledHolderAbandonsTheMutex) { KilledHolderTest(true); }
TEST(MultiProcessTest, KilledLastHolderOfTheNamedMutex) { KilledHolderTest(false); }

TEST(MultiProcessTest, CrashInsideACommit) {
  for (const char* point : {"write.before_publish", "write.after_publish"}) {
    SCOPED_TRACE(point);
    const std::string name = UniqueName("crash");
    absl::StatusOr<std::unique_ptr<DB>> db =
        DB::Open(OptionsFor(Lifetime::kUntilLastClose), name);
    ASSERT_TRUE(db.ok()) << db.status();
    SetEnvironmentVariableA("ULTRADICT_FAULT_POINT", point);
    SetEnvironmentVariableA("ULTRADICT_FAULT_SKIP", "10");
    std::unique_ptr<Child> child =
        Spawn("crash-in-commit", name, Lifetime::kUntilLastClose, 1000);
    SetEnvironmentVariableA("ULTRADICT_FAULT_POINT", nullptr);
    SetEnvironmentVariableA("ULTRADICT_FAULT_SKIP", nullptr);
    EXPECT_EQ(child->Wait(), 137u);  // KillSelf.
    ASSERT_TRUE((*db)->Put("survivor", "ok").ok());
    std::string value;
    for (int i = 0; i < 10; i++) {
      ASSERT_TRUE((*db)->Get(Key(i), &value).ok()) << Key(i);
      EXPECT_EQ(value, Value(i));
    }
    // The 11th put either committed whole or not at all; nothing after it.
    EXPECT_TRUE(absl::IsNotFound((*db)->Get(Key(11), &value)));
    ASSERT_TRUE((*db)->Get("survivor", &value).ok());
  }
}

TEST(MultiProcessTest, PersistentSurvivesWithNoProcessAttached) {
  const std::string name = UniqueName("persist");
  std::unique_ptr<Child> writer = Spawn("writer", name, Lifetime::kPersistent, 50);
  ASSERT_EQ(writer->Wait(), 0u);
  EXPECT_FALSE(FilesOf(name).empty());  // Files on disk, nobody attached.
  {
    Options options;
    options.create_if_missing = false;
    absl::StatusOr<std::unique_ptr<DB>> db = DB::Open(options, name);
    ASSERT_TRUE(db.ok()) << db.status();
    std::string value;
    ASSERT_TRUE((*db)->Get(Key(49), &value).ok());
    EXPECT_EQ(value, Value(49));
  }
  EXPECT_TRUE(Exists(name));  // Closing does not remove it either.
  ASSERT_TRUE(DestroyDB(name).ok());
  EXPECT_TRUE(FilesOf(name).empty());
  EXPECT_FALSE(Exists(name));
}

TEST(MultiProcessTest, UntilLastCloseLivesWhileAnyProcessHasItOpen) {
  const std::string name = UniqueName("last");
  absl::StatusOr<std::unique_ptr<DB>> db =
      DB::Open(OptionsFor(Lifetime::kUntilLastClose), name);
  ASSERT_TRUE(db.ok()) << db.status();
  HANDLE ready = Event(name, "ready");
  HANDLE go = Event(name, "go");
  std::unique_ptr<Child> child = Spawn("put-and-wait", name, Lifetime::kUntilLastClose);
  ASSERT_EQ(WaitForSingleObject(ready, kChildTimeoutMs), WAIT_OBJECT_0);
  db->reset();  // The creator closes first: the child still has it.
  EXPECT_FALSE(FilesOf(name).empty());
  {
    Options options = OptionsFor(Lifetime::kUntilLastClose);
    options.create_if_missing = false;
    absl::StatusOr<std::unique_ptr<DB>> again = DB::Open(options, name);
    ASSERT_TRUE(again.ok()) << again.status();
    std::string value;
    ASSERT_TRUE((*again)->Get("from-child", &value).ok());
  }
  SetEvent(go);
  EXPECT_EQ(child->Wait(), 0u);
  EXPECT_TRUE(FilesOf(name).empty());  // The child was the last.
  EXPECT_FALSE(Exists(name));
  CloseHandle(ready);
  CloseHandle(go);
}

TEST(MultiProcessTest, UntilLastCloseIgnoresAKilledMember) {
  const std::string name = UniqueName("lastkill");
  absl::StatusOr<std::unique_ptr<DB>> db =
      DB::Open(OptionsFor(Lifetime::kUntilLastClose), name);
  ASSERT_TRUE(db.ok()) << db.status();
  HANDLE ready = Event(name, "ready");
  std::unique_ptr<Child> child = Spawn("put-and-wait", name, Lifetime::kUntilLastClose);
  ASSERT_EQ(WaitForSingleObject(ready, kChildTimeoutMs), WAIT_OBJECT_0);
  child->Kill();  // Never closes; its liveness lock goes with it.
  db->reset();
  EXPECT_TRUE(FilesOf(name).empty());
  CloseHandle(ready);
}

TEST(MultiProcessTest, UntilCreatorClosesGoesWithTheCreator) {
  for (bool kill : {false, true}) {
    SCOPED_TRACE(kill ? "creator killed" : "creator closes");
    const std::string name = UniqueName("creator");
    HANDLE ready = Event(name, "ready");
    HANDLE go = Event(name, "go");
    std::unique_ptr<Child> creator =
        Spawn("put-and-wait", name, Lifetime::kUntilCreatorCloses);
    ASSERT_EQ(WaitForSingleObject(ready, kChildTimeoutMs), WAIT_OBJECT_0);
    Options options = OptionsFor(Lifetime::kUntilCreatorCloses);
    options.create_if_missing = false;
    absl::StatusOr<std::unique_ptr<DB>> db = DB::Open(options, name);
    ASSERT_TRUE(db.ok()) << db.status();
    if (kill) {
      creator->Kill();
      EXPECT_FALSE(FilesOf(name).empty());  // Until the next member closes.
      std::string value;
      EXPECT_TRUE((*db)->Get("from-child", &value).ok());
      db->reset();
      EXPECT_TRUE(FilesOf(name).empty());
    } else {
      SetEvent(go);
      EXPECT_EQ(creator->Wait(), 0u);
      EXPECT_TRUE(FilesOf(name).empty());  // Gone with the creator...
      EXPECT_FALSE(Exists(name));
      std::string value;  // ...while this handle keeps its mapping.
      EXPECT_TRUE((*db)->Get("from-child", &value).ok());
      EXPECT_EQ(value, "yes");
    }
    CloseHandle(ready);
    CloseHandle(go);
  }
}

}  // namespace
}  // namespace ultradict

int main(int argc, char** argv) {
  if (argc >= 5 && std::string(argv[1]) == "--child") {
    return ultradict::RunChild(argv[2], argv[3],
                               static_cast<ultradict::Lifetime>(std::atoi(argv[4])),
                               argc >= 6 ? std::atoi(argv[5]) : 0);
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
