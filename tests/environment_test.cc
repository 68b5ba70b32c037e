// environment_test.cc: real-environment hazards (issue "Hardened for real
// environments"): a full filesystem, PID namespaces, other users, a
// dictionary on a disk after every process was killed, a reboot, fork().
// Cases that need root or namespaces skip with a message when not allowed.

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "db/control_block.h"
#include "db/filename.h"
#include "gtest/gtest.h"
#include "port/port.h"
#include "tests/testutil.h"
#include "ultradict/db.h"

namespace ultradict {
namespace {

using testing::IsOk;
using testing::UniqueName;

constexpr int kSkipExit = 77;

std::string PrivateDir(const std::string& hint) {
  std::string dir = absl::StrCat(::testing::TempDir(), "/env_", getpid(), "_", hint);
  mkdir(dir.c_str(), 0700);
  return dir;
}

// Runs fn in a forked child; returns its exit status (or -signal).
template <typename Fn>
int InChild(Fn&& fn) {
  const pid_t pid = fork();
  if (pid == 0) _exit(fn());
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

// In a forked child: mounts a private 8 MiB tmpfs on dir, in a private
// mount namespace. False where that is not allowed (not root).
bool MountSmallTmpfs(const std::string& dir, const char* size = "size=8m") {
  return unshare(CLONE_NEWNS) == 0 &&
         mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
         mount("tmpfs", dir.c_str(), "tmpfs", 0, size) == 0;
}

int MembersOf(DB* db) {
  std::string members;
  db->GetProperty("ultradict.members", &members);
  return members.empty() ? 0
                         : static_cast<int>(std::count(members.begin(), members.end(), ',') + 1);
}

// In a child with an 8 MiB tmpfs (mounted with `mount_options`) on dir:
// writes that find no room fail with ResourceExhausted, never SIGBUS, and
// change nothing. 0 when all went as expected, kSkipExit when the mount is
// not allowed, else the failed step.
int FillASmallTmpfs(const std::string& dir, const char* mount_options) {
  return InChild([&]() -> int {
    if (!MountSmallTmpfs(dir, mount_options)) return kSkipExit;
    Options options;
    options.directory = dir;
    options.log_size = 64 * 1024;
    auto db = DB::Open(options, "full");
    if (!db.ok()) return 10;
    const std::string small(100, 's');
    for (int i = 0; i < 100; i++) {
      if (!(*db)->Put(absl::StrCat("k", i), small).ok()) return 11;
    }
    // A value that needs more room than the filesystem has left.
    absl::Status s = (*db)->Put("huge", std::string(12 << 20, 'h'));
    if (!absl::IsResourceExhausted(s)) return 12;
    if (s.message().find("no room for") == std::string::npos) return 13;
    std::fprintf(stderr, "%s: as expected: %s\n", mount_options,
                 s.ToString().c_str());
    // Reads and smaller writes go on at the previous size.
    std::string value;
    if (!(*db)->Get("k7", &value).ok() || value != small) return 14;
    if (!absl::IsNotFound((*db)->Get("huge", &value))) return 15;
    for (int i = 0; i < 50; i++) {
      if (!(*db)->Put(absl::StrCat("after", i), small).ok()) return 16;
    }
    // Fill it with medium values until the space runs out: every failure is
    // a Status, never a SIGBUS.
    int failures = 0;
    for (int i = 0; i < 400 && failures == 0; i++) {
      s = (*db)->Put(absl::StrCat("m", i), std::string(64 * 1024, 'm'));
      if (!s.ok()) {
        if (!absl::IsResourceExhausted(s)) return 17;
        failures++;
      }
    }
    if (failures == 0) return 18;
    if (!(*db)->Get("after49", &value).ok()) return 19;
    db->reset();
    DestroyDB("full", options).IgnoreError();
    return 0;
  });
}

TEST(EnvironmentTest, FullFilesystemIsResourceExhaustedNotSigbus) {
  const int rc = FillASmallTmpfs(PrivateDir("tmpfs"), "size=8m");
  if (rc == kSkipExit) GTEST_SKIP() << "needs root and mount namespaces (unshare -m)";
  EXPECT_EQ(rc, 0) << "child failed at step " << rc;
}

// The same on a tmpfs that gives 2 MiB pages (README, "Huge pages"): a
// reservation that finds no room for a huge page, or none at all, must
// still be a Status.
TEST(EnvironmentTest, FullHugePageFilesystemIsResourceExhaustedNotSigbus) {
  for (const char* huge : {"advise", "within_size"}) {
    const std::string options = absl::StrCat("size=8m,huge=", huge);
    const int rc = FillASmallTmpfs(PrivateDir(absl::StrCat("tmpfs-", huge)),
                                   options.c_str());
    if (rc == kSkipExit) {
      GTEST_SKIP() << "needs root, mount namespaces and a kernel with "
                      "huge tmpfs pages ("
                   << options << ")";
    }
    EXPECT_EQ(rc, 0) << options << ": child failed at step " << rc;
  }
}

// Mappings of files under dir in this process (of dictionary `name`'s
// segments when given, and of those whose paths contain `kind`): how
// many, and how many of them map some of their file with 2 MiB pages
// (ShmemPmdMapped in smaps for a tmpfs file, FilePmdMapped for others).
void CountHugeMappings(const std::string& dir, int* mappings, int* huge,
                       const std::string& name = "",
                       const std::string& kind = "") {
  *mappings = *huge = 0;
  char resolved[PATH_MAX];  // smaps names files by their canonical paths.
  if (realpath(dir.c_str(), resolved) == nullptr) return;
  const std::string prefix =
      absl::StrCat(" ", resolved, "/", name.empty() ? "" : "ud.", name);
  FILE* smaps = std::fopen("/proc/self/smaps", "r");
  if (smaps == nullptr) return;
  char line[4096];
  bool in_dir = false;
  while (std::fgets(line, sizeof(line), smaps) != nullptr) {
    const std::string text = line;
    long kb = 0;
    if (std::sscanf(line, "ShmemPmdMapped: %ld kB", &kb) == 1 ||
        std::sscanf(line, "FilePmdMapped: %ld kB", &kb) == 1) {
      if (in_dir && kb > 0) ++*huge;
    } else if (text.find(prefix) != std::string::npos &&
               text.find(kind) != std::string::npos) {
      in_dir = true;
      ++*mappings;
    } else if (std::isxdigit(static_cast<unsigned char>(line[0])) &&
               text.find('-') < text.find(' ')) {
      in_dir = false;  // The header line of another mapping.
    }
  }
  std::fclose(smaps);
}

// Whether this kernel turns a shared file's pages into huge pages on
// request (MADV_COLLAPSE: Linux 6.1+, transparent huge pages built in)
// and had a huge page to give: tried on a segment of its own in dir.
bool KernelCollapsesFilePages(const std::string& dir) {
  const std::string name = UniqueName("collapse-probe");
  const std::string path = absl::StrCat(dir, "/ud.", name);
  // Reserved whole at creation: both of its 2 MiB blocks collapsed.
  auto segment = port::Segment::Create(path, size_t{4} << 20, 0600);
  if (!segment.ok()) return false;
  int mappings = 0, huge = 0;
  CountHugeMappings(dir, &mappings, &huge, name);
  unlink(path.c_str());
  return huge > 0;
}

// On /dev/shm as it is (huge=never), the log's pages are turned into huge
// pages (MADV_COLLAPSE) as its background thread reserves them ahead of
// the writer, and every handle maps them so.
TEST(EnvironmentTest, LogOnDevShmIsCollapsedIntoHugePages) {
  const std::string dir = port::SegmentDirectory("");
  if (!KernelCollapsesFilePages(dir)) {
    GTEST_SKIP() << "the kernel does not collapse file pages (MADV_COLLAPSE), "
                    "or had no huge page to give";
  }
  const std::string name = UniqueName("collapse");
  Options options;
  options.log_size = 64 << 20;  // One log for all of it.
  testing::ScopedDestroy destroy(name, options);
  auto db = DB::Open(options, name);
  ASSERT_THAT(db.status(), IsOk());
  const std::string value(100, 'v');
  constexpr int kKeys = 300000;  // 40 MB of records: past kReserveAhead.
  for (int i = 0; i < kKeys; i++) {
    ASSERT_THAT((*db)->Put(absl::StrCat("key", i), value), IsOk());
  }
  auto other = DB::Open(options, name);
  ASSERT_THAT(other.status(), IsOk());
  std::string got;
  for (int i = 0; i < kKeys; i += 7) {
    ASSERT_THAT((*other)->Get(absl::StrCat("key", i), &got), IsOk());
  }
  int mappings = 0, huge = 0;
  CountHugeMappings(dir, &mappings, &huge, name);
  EXPECT_GE(huge, 2)
      << mappings << " mappings of the log, " << huge
      << " with huge pages (the writer's and the other handle's)";
}

// On /dev/shm, a snapshot that a compaction wrote (with write(2), in 4
// KiB pages) is turned into huge pages by the background thread after it
// is published, for the handle that compacted and for every other one.
TEST(EnvironmentTest, SnapshotOnDevShmIsCollapsedAfterACompaction) {
  const std::string dir = port::SegmentDirectory("");
  if (!KernelCollapsesFilePages(dir)) {
    GTEST_SKIP() << "the kernel does not collapse file pages (MADV_COLLAPSE), "
                    "or had no huge page to give";
  }
  const std::string name = UniqueName("snapcollapse");
  Options options;
  testing::ScopedDestroy destroy(name, options);
  auto db = DB::Open(options, name);
  ASSERT_THAT(db.status(), IsOk());
  const std::string value(100, 'v');
  constexpr int kKeys = 80000;  // A snapshot of 10 MB: 4 whole blocks.
  for (int i = 0; i < kKeys; i++) {
    ASSERT_THAT((*db)->Put(absl::StrCat("key", i), value), IsOk());
  }
  ASSERT_THAT((*db)->CompactLog(), IsOk());
  auto other = DB::Open(options, name);
  ASSERT_THAT(other.status(), IsOk());
  int mappings = 0, huge = 0;
  std::string got;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    // Reads map the snapshot's pages into both handles' mappings.
    for (int i = 0; i < kKeys; i += 97) {
      ASSERT_THAT((*db)->Get(absl::StrCat("key", i), &got), IsOk());
      ASSERT_THAT((*other)->Get(absl::StrCat("key", i), &got), IsOk());
    }
    CountHugeMappings(dir, &mappings, &huge, name, ".snap");
    if (huge >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(huge, 2) << mappings << " mappings of the snapshot, " << huge
                     << " with huge pages (the writer's and the other "
                        "handle's)";
  for (int i = 0; i < kKeys; i++) {
    ASSERT_THAT((*other)->Get(absl::StrCat("key", i), &got), IsOk());
    ASSERT_EQ(got, value);
  }
}

// On a tmpfs mounted with huge=advise, the log's whole blocks are huge
// pages in the writer's mapping and in those of every handle that opens
// the dictionary (segments are advised, mapped at 2 MiB boundaries, and
// whole blocks of the log collapsed as they are reserved).
TEST(EnvironmentTest, SegmentsOnAHugeAdviseTmpfsAreMappedWithHugePages) {
  const std::string dir = PrivateDir("tmpfs-huge");
  const int rc = InChild([&]() -> int {
    if (!MountSmallTmpfs(dir, "size=256m,huge=advise")) return kSkipExit;
    // posix_fallocate, which reserves the log, takes no advice: its whole
    // blocks are collapsed, as on any tmpfs.
    if (!KernelCollapsesFilePages(dir)) return kSkipExit;
    Options options;
    options.directory = dir;
    options.log_size = 64 << 20;  // One log for all of it.
    auto db = DB::Open(options, "huge");
    if (!db.ok()) return 10;
    const std::string value(100, 'v');
    constexpr int kKeys = 60000;  // 8 MB of records.
    for (int i = 0; i < kKeys; i++) {
      if (!(*db)->Put(absl::StrCat("key", i), value).ok()) return 11;
    }
    auto other = DB::Open(options, "huge");
    if (!other.ok()) return 12;
    std::string got;
    for (int i = 0; i < kKeys; i++) {
      if (!(*other)->Get(absl::StrCat("key", i), &got).ok() || got != value) {
        return 13;
      }
    }
    int mappings = 0, huge = 0;
    CountHugeMappings(dir, &mappings, &huge);
    std::fprintf(stderr, "%d mappings of the segments, %d with huge pages\n",
                 mappings, huge);
    if (huge < 2) return 14;  // The writer's log and the other handle's.
    other->reset();
    db->reset();
    DestroyDB("huge", options).IgnoreError();
    return 0;
  });
  if (rc == kSkipExit) {
    GTEST_SKIP() << "needs root, mount namespaces and a kernel that collapses "
                    "tmpfs pages (MADV_COLLAPSE)";
  }
  EXPECT_EQ(rc, 0) << "child failed at step " << rc << " (negative: signal)";
}

TEST(EnvironmentTest, LogLargerThanTheFilesystemFailsCleanlyWhenItFills) {
  // A log's pages are reserved step by step as records reach them, so a log
  // may be created larger than the room left; the write that finds no room
  // must fail with ResourceExhausted (never SIGBUS) and change nothing.
  const std::string dir = PrivateDir("tmpfs-log");
  const int rc = InChild([&]() -> int {
    if (!MountSmallTmpfs(dir)) return kSkipExit;
    Options options;
    options.directory = dir;
    options.log_size = 32 << 20;  // Four times the filesystem.
    auto db = DB::Open(options, "sparse");
    if (!db.ok()) return 10;
    if (!(*db)->Put("first", "1").ok()) return 11;
    const std::string value(16 * 1024, 'v');
    absl::Status s;
    int written = 0;
    for (; written < 2048; written++) {
      s = (*db)->Put(absl::StrCat("k", written), value);
      if (!s.ok()) break;
    }
    if (!absl::IsResourceExhausted(s)) return 12;
    if (s.message().find("no room for") == std::string::npos) return 13;
    std::fprintf(stderr, "after %d writes, as expected: %s\n", written,
                 s.ToString().c_str());
    if (written < 100) return 14;  // It got well into the log first.
    // Everything acknowledged is there; the failed write is not.
    std::string got;
    for (int i = 0; i < written; i++) {
      if (!(*db)->Get(absl::StrCat("k", i), &got).ok() || got != value) return 15;
    }
    if (!absl::IsNotFound((*db)->Get(absl::StrCat("k", written), &got))) return 16;
    // Another process sees the same.
    auto other = DB::Open(options, "sparse");
    if (!other.ok()) return 17;
    if (!(*other)->Get(absl::StrCat("k", written - 1), &got).ok()) return 18;
    other->reset();
    db->reset();
    DestroyDB("sparse", options).IgnoreError();
    return 0;
  });
  if (rc == kSkipExit) GTEST_SKIP() << "needs root and mount namespaces (unshare -m)";
  EXPECT_EQ(rc, 0) << "child failed at step " << rc;
}

// Fills the filesystem of `dir` to its last byte with a file of its own
// (written with write(2), so no page of it is left to take). False when
// the file cannot be made.
bool FillFilesystem(const std::string& dir) {
  const std::string path = dir + "/filler";
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0) return false;
  const std::string block(4096, 'f');
  while (write(fd, block.data(), block.size()) > 0) {
  }
  close(fd);
  return true;
}

// A full filesystem must not make reads fault either: an iterator, the
// "ultradict.log-run" property and Gets of a dictionary whose log holds
// no sorted run (the run area's pages never written) go on as before.
// With `n` of 65,536 entries or more and no background thread, the
// iterator tries to build a run for every process (RunBuilder::BuildOnce),
// cannot reserve its pages, publishes nothing and sorts for itself.
int IterateOnAFullFilesystem(const std::string& dir, int n) {
  if (!MountSmallTmpfs(dir, n < 65536 ? "size=8m" : "size=64m")) {
    return kSkipExit;
  }
  Options options;
  options.directory = dir;
  options.log_size = n < 65536 ? 1 << 20 : 32 << 20;  // One log for all.
  options.background_compaction = n < 65536;  // No runs but the iterator's.
  auto db = DB::Open(options, "fulliter");
  if (!db.ok()) return 10;
  for (int i = 0; i < n; i++) {
    if (!(*db)->Put(absl::StrCat("k", i), "v").ok()) return 11;
  }
  if (!FillFilesystem(dir)) return 12;
  std::fprintf(stderr, "filesystem full; iterating\n");
  std::unique_ptr<Iterator> it = (*db)->NewIterator();
  int seen = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) seen++;
  if (!it->status().ok() || seen != n) return 13;
  it.reset();
  std::string run;
  if (!(*db)->GetProperty("ultradict.log-run", &run) || run != "none") {
    return 14;
  }
  db->reset();
  return 0;
}

TEST(EnvironmentTest, IteratorsOnAFullFilesystemAreNotASigbus) {
  for (const int n : {100, 66000}) {
    SCOPED_TRACE(n);
    const std::string dir = PrivateDir(absl::StrCat("tmpfs-iter", n));
    const int rc =
        InChild([&]() -> int { return IterateOnAFullFilesystem(dir, n); });
    if (rc == kSkipExit)
      GTEST_SKIP() << "needs root and mount namespaces (unshare -m)";
    EXPECT_EQ(rc, 0) << "child failed at step " << rc << " (negative: signal)";
  }
}

// The writer's background thread, asked for the log's first sorted run
// when the filesystem is full, fails to build it (the log gets none); it
// must not take the writer's process down.
TEST(EnvironmentTest, SortedRunOnAFullFilesystemIsNotASigbus) {
  const std::string dir = PrivateDir("tmpfs-run");
  const int rc = InChild([&]() -> int {
    if (!MountSmallTmpfs(dir, "size=64m")) return kSkipExit;
    Options options;
    options.directory = dir;
    options.log_size = 32 << 20;  // One log for all of it.
    auto db = DB::Open(options, "fullrun");
    if (!db.ok()) return 10;
    int i = 0;
    for (; i < 65520; i++) {
      absl::Status s = (*db)->Put(absl::StrCat("k", i), "v");
      if (!s.ok()) {
        std::fprintf(stderr, "%d: %s\n", i, s.ToString().c_str());
        return 11;
      }
    }
    if (!FillFilesystem(dir)) return 12;
    std::fprintf(stderr, "filesystem full; writing past the first run\n");
    int written = 0;
    for (const int last = i + 500; i < last; i++) {
      absl::Status s = (*db)->Put(absl::StrCat("k", i), "v");
      if (!s.ok() && !absl::IsResourceExhausted(s)) return 13;
      written += s.ok();
    }
    std::fprintf(stderr, "%d more written\n", written);
    if (65520 + written < 65536) return 15;  // kMinRunEntries reached.
    std::this_thread::sleep_for(std::chrono::seconds(1));  // Its attempt.
    std::string value;
    if (!(*db)->Get("k7", &value).ok()) return 14;
    db->reset();
    return 0;
  });
  if (rc == kSkipExit)
    GTEST_SKIP() << "needs root and mount namespaces (unshare -m)";
  EXPECT_EQ(rc, 0) << "child failed at step " << rc << " (negative: signal)";
}

TEST(EnvironmentTest, MembersInAnotherPidNamespaceAreTrackedAndReclaimed) {
  const std::string name = UniqueName("pidns");
  testing::ScopedDestroy destroy(name);
  auto db = DB::Open(Options(), name);
  ASSERT_THAT(db.status(), IsOk());
  ASSERT_EQ(MembersOf(db->get()), 1);
  int ready[2], report[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(report), 0);
  const pid_t middle = fork();
  if (middle == 0) {
    if (unshare(CLONE_NEWPID) != 0) _exit(kSkipExit);
    const pid_t inner = fork();  // pid 1 of the new namespace.
    if (inner == 0) {
      auto child_db = DB::Open(Options(), name);
      if (!child_db.ok() || !(*child_db)->Put("from-ns", "1").ok()) _exit(3);
      const char c = static_cast<char>(getpid());  // 1 here.
      if (write(ready[1], &c, 1) != 1) _exit(4);
      pause();
      _exit(0);
    }
    if (write(report[1], &inner, sizeof(inner)) != sizeof(inner)) _exit(5);
    int status;
    waitpid(inner, &status, 0);
    _exit(0);
  }
  close(ready[1]);
  close(report[1]);
  pid_t inner = 0;
  char ns_pid = 0;
  const bool started = read(report[0], &inner, sizeof(inner)) == sizeof(inner) &&
                       read(ready[0], &ns_pid, 1) == 1;
  if (!started) {
    int status;
    waitpid(middle, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == kSkipExit) {
      GTEST_SKIP() << "needs root for unshare(CLONE_NEWPID)";
    }
    FAIL() << "the namespaced child did not start";
  }
  EXPECT_EQ(ns_pid, 1);  // kill(pid, 0) with this pid would ask the wrong process.
  EXPECT_EQ(MembersOf(db->get()), 2);
  kill(inner, SIGKILL);
  int status;
  waitpid(middle, &status, 0);
  EXPECT_EQ(MembersOf(db->get()), 1);  // Its liveness lock died with it.
  std::string value;
  EXPECT_THAT((*db)->Get("from-ns", &value), IsOk());
  EXPECT_THAT((*db)->Put("still", "works"), IsOk());
}

TEST(EnvironmentTest, SegmentOfAnotherOwnerIsRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to chown a segment";
  const std::string name = UniqueName("owner");
  Options allow;
  allow.allow_other_owner = true;  // Destroying needs it too.
  testing::ScopedDestroy destroy(name, allow);
  {
    auto db = DB::Open(Options(), name);
    ASSERT_THAT(db.status(), IsOk());
    ASSERT_THAT((*db)->Put("k", "v"), IsOk());
  }
  const std::string control = ControlFileName(port::SegmentDirectory(""), name);
  ASSERT_EQ(chown(control.c_str(), 65534, 65534), 0);
  auto db = DB::Open(Options(), name);
  EXPECT_TRUE(absl::IsPermissionDenied(db.status())) << db.status();
  EXPECT_NE(db.status().message().find("owned by uid 65534"), std::string::npos);
  auto allowed = DB::Open(allow, name);
  EXPECT_THAT(allowed.status(), IsOk());
}

TEST(EnvironmentTest, AnotherUserCannotOpenA0600Dictionary) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to another user";
  const std::string name = UniqueName("user");
  testing::ScopedDestroy destroy(name);
  auto db = DB::Open(Options(), name);
  ASSERT_THAT(db.status(), IsOk());
  struct stat st;
  const std::string control = ControlFileName(port::SegmentDirectory(""), name);
  ASSERT_EQ(stat(control.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const int rc = InChild([&]() -> int {
    if (setgid(65534) != 0 || setuid(65534) != 0) return 20;
    Options options;
    options.create_if_missing = false;
    auto other = DB::Open(options, name);
    return absl::IsPermissionDenied(other.status()) ? 0 : 21;
  });
  EXPECT_EQ(rc, 0);
}

TEST(EnvironmentTest, DiskBackedDictionaryKeepsSyncedWritesAfterKills) {
  Options options;
  options.directory = PrivateDir("disk");
  options.log_size = 16 * 1024;
  const std::string name = UniqueName("disk");
  testing::ScopedDestroy destroy(name, options);
  const int kProcs = 3;
  pid_t pids[kProcs];
  int done[2];
  ASSERT_EQ(pipe(done), 0);
  for (int p = 0; p < kProcs; p++) {
    pids[p] = fork();
    if (pids[p] == 0) {
      auto db = DB::Open(options, name);
      if (!db.ok()) _exit(2);
      for (int i = 0; i < 500; i++) {
        if (!(*db)->Put(absl::StrCat("p", p, "_", i), std::to_string(i)).ok()) _exit(3);
      }
      if (!(*db)->Sync().ok()) _exit(4);
      const char c = 1;
      if (write(done[1], &c, 1) != 1) _exit(5);
      pause();  // Killed while attached.
      _exit(0);
    }
  }
  for (int p = 0; p < kProcs; p++) {
    char c;
    ASSERT_EQ(read(done[0], &c, 1), 1);
  }
  for (pid_t pid : pids) kill(pid, SIGKILL);
  for (pid_t pid : pids) waitpid(pid, nullptr, 0);
  auto db = DB::Open(options, name);
  ASSERT_THAT(db.status(), IsOk());
  for (int p = 0; p < kProcs; p++) {
    for (int i = 0; i < 500; i++) {
      std::string value;
      ASSERT_THAT((*db)->Get(absl::StrCat("p", p, "_", i), &value), IsOk());
      EXPECT_EQ(value, std::to_string(i));
    }
  }
  EXPECT_EQ(MembersOf(db->get()), 1);
}

TEST(EnvironmentTest, AMutexLeftLockedByAPreviousBootIsAdopted) {
  Options options;
  options.directory = PrivateDir("reboot");
  options.write_lock_timeout_ms = 2000;
  const std::string name = UniqueName("reboot");
  testing::ScopedDestroy destroy(name, options);
  {
    auto db = DB::Open(options, name);
    ASSERT_THAT(db.status(), IsOk());
    ASSERT_THAT((*db)->Put("before", "reboot"), IsOk());
  }
  // What a machine crash leaves: the mutex word says "locked by a thread"
  // that no longer exists (no robust list will ever release it), and the
  // member table names processes of the old boot.
  const std::string control = ControlFileName(options.directory, name);
  auto segment = port::Segment::Open(control, false, true);
  ASSERT_THAT(segment.status(), IsOk());
  control::Block block(segment->data());
  const size_t mutex_size = port::ProcessMutex::StorageSize();
  std::string locked_state(mutex_size, '\0');
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  const int rc = InChild([&]() -> int {
    bool died;
    if (!port::ProcessMutex::Lock(block.mutex(), 1000, &died).ok()) return 2;
    const std::string bytes(static_cast<const char*>(block.mutex()), mutex_size);
    port::ProcessMutex::Unlock(block.mutex());
    return write(pipefd[1], bytes.data(), bytes.size()) ==
                   static_cast<ssize_t>(bytes.size())
               ? 0
               : 3;
  });
  ASSERT_EQ(rc, 0);
  ASSERT_EQ(read(pipefd[0], &locked_state[0], mutex_size),
            static_cast<ssize_t>(mutex_size));
  std::memcpy(block.mutex(), locked_state.data(), mutex_size);
  block.boot_id().store(12345, std::memory_order_relaxed);  // Another boot.
  block.member_pid(7).store(4242);
  block.member_token(7).store(99);

  auto db = DB::Open(options, name);
  ASSERT_THAT(db.status(), IsOk());
  std::string value;
  ASSERT_THAT((*db)->Get("before", &value), IsOk());
  EXPECT_THAT((*db)->Put("after", "reboot"), IsOk());  // No 2 s timeout.
  EXPECT_EQ(MembersOf(db->get()), 1);
}

TEST(EnvironmentTest, ForkChildRegistersAsANewMember) {
  const std::string name = UniqueName("fork");
  testing::ScopedDestroy destroy(name);
  auto db = DB::Open(Options(), name);
  ASSERT_THAT(db.status(), IsOk());
  int go[2], back[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(back), 0);
  const pid_t child = fork();
  if (child == 0) {
    if (!(*db)->Put("child", std::to_string(getpid())).ok()) _exit(2);
    const char c = static_cast<char>(MembersOf(db->get()));
    if (write(back[1], &c, 1) != 1) _exit(3);
    char wait;
    if (read(go[0], &wait, 1) != 1) _exit(4);
    _exit(0);  // Without closing: its membership dies with it.
  }
  char members_seen_by_child = 0;
  ASSERT_EQ(read(back[0], &members_seen_by_child, 1), 1);
  EXPECT_EQ(members_seen_by_child, 2);
  EXPECT_EQ(MembersOf(db->get()), 2);
  std::string value;
  ASSERT_THAT((*db)->Get("child", &value), IsOk());
  EXPECT_EQ(value, std::to_string(child));
  ASSERT_EQ(write(go[1], "x", 1), 1);
  int status;
  waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(MembersOf(db->get()), 1);  // The parent's slot is untouched.
  EXPECT_THAT((*db)->Put("parent", "ok"), IsOk());
}

}  // namespace
}  // namespace ultradict
