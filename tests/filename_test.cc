// filename_test.cc: segment file names, name validation, and the scan of a
// directory for a dictionary's files (ForEachFileOf).

#include "db/filename.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace ultradict {
namespace {

// The tag of a generation file name: the 16 hex digits before its kind.
std::string TagOf(const std::string& path) {
  std::string name, tag;
  FileType type;
  uint64_t gen;
  const std::string file = path.substr(path.rfind('/') + 1);
  EXPECT_TRUE(ParseFileName(file, &name, &type, &gen, &tag)) << file;
  return tag;
}

TEST(FilenameTest, RoundTrip) {
  std::string name, tag;
  FileType type;
  uint64_t gen;
  ASSERT_TRUE(ParseFileName("ud.abc", &name, &type, &gen));
  EXPECT_EQ(name, "abc");
  EXPECT_EQ(type, FileType::kControl);
  ASSERT_TRUE(ParseFileName("ud.a-b_c.12.0123456789abcdef.log", &name, &type,
                            &gen, &tag));
  EXPECT_EQ(name, "a-b_c");
  EXPECT_EQ(type, FileType::kLog);
  EXPECT_EQ(gen, 12u);
  EXPECT_EQ(tag, "0123456789abcdef");
  ASSERT_TRUE(
      ParseFileName("ud.x.3.0123456789abcdef.snap", &name, &type, &gen));
  EXPECT_EQ(type, FileType::kSnapshot);
  ASSERT_TRUE(ParseFileName("ud.x.4.0123456789abcdef.snap.tmp", &name, &type,
                            &gen, &tag));
  EXPECT_EQ(type, FileType::kTemp);
  EXPECT_EQ(gen, 4u);
  EXPECT_EQ(tag, "0123456789abcdef");
  ASSERT_TRUE(
      ParseFileName("ud.x.4.0123456789abcdef.log.tmp", &name, &type, &gen));
  EXPECT_EQ(type, FileType::kTemp);
  ASSERT_TRUE(ParseFileName("ud.x.tmp.0a1b2c3d", &name, &type, &gen));
  EXPECT_EQ(type, FileType::kTemp);
  EXPECT_EQ(gen, 0u);
  // Names without a tag (control format 2 and older) parse, tag empty, so
  // that DestroyDB removes them.
  ASSERT_TRUE(ParseFileName("ud.x.3.log", &name, &type, &gen, &tag));
  EXPECT_EQ(type, FileType::kLog);
  EXPECT_EQ(tag, "");
  ASSERT_TRUE(ParseFileName("ud.x.4.snap.tmp", &name, &type, &gen, &tag));
  EXPECT_EQ(type, FileType::kTemp);
  EXPECT_EQ(gen, 4u);
  EXPECT_EQ(ControlFileName("/d", "x"), "/d/ud.x");
  for (const char* bad :
       {"ud.", "x.y", "ud.a.b.c", "ud.a.x.log", "ud.a.1.txt", "ud.a/b",
        "ud.x.4.idx.tmp", "ud.x.3.0123456789ABCDEF.log", "ud.x.3.0123.log",
        "ud.x.3.0123456789abcdef.txt", "ud.x.3.0123456789abcdef.log.old",
        "ud.x.y.0123456789abcdef.log"}) {
    EXPECT_FALSE(ParseFileName(bad, &name, &type, &gen)) << bad;
  }
}

TEST(FilenameTest, IsGenerationFileOfChecksTheKeyedTag) {
  const FileKey key{1, 2};
  const FileKey other{3, 4};
  for (const std::string& path :
       {LogFileName("/d", "x", key, 3), SnapshotFileName("/d", "x", key, 3),
        TempSnapshotFileName("/d", "x", key, 3),
        TempLogFileName("/d", "x", key, 3)}) {
    const std::string file = path.substr(3);  // Without "/d/".
    EXPECT_TRUE(IsGenerationFileOf(file, "x", key)) << file;
    EXPECT_FALSE(IsGenerationFileOf(file, "x", other)) << file;
    EXPECT_FALSE(IsGenerationFileOf(file, "y", key)) << file;
  }
  // A tag of another kind or generation, tagless names, the control file.
  const std::string log_tag = TagOf(LogFileName("/d", "x", key, 3));
  EXPECT_FALSE(IsGenerationFileOf("ud.x.3." + log_tag + ".snap", "x", key));
  EXPECT_FALSE(IsGenerationFileOf("ud.x.4." + log_tag + ".log", "x", key));
  EXPECT_FALSE(IsGenerationFileOf("ud.x.3.log", "x", key));
  EXPECT_FALSE(IsGenerationFileOf("ud.x", "x", key));
}

TEST(FilenameTest, GenerationNamesCarryAKeyedTag) {
  const FileKey key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  const std::string log = LogFileName("/d", "x", key, 3);
  const std::string snap = SnapshotFileName("/d", "x", key, 3);
  const std::string tmp_snap = TempSnapshotFileName("/d", "x", key, 3);
  const std::string tmp_log = TempLogFileName("/d", "x", key, 3);
  // Frozen: ud.N.<gen>.<16 hex of SipHash-2-4(key, fixed64 gen, kind)>.<kind>
  // (kinds: 1 log, 2 snap, 3 snap.tmp, 4 log.tmp); doc/design.md's example.
  EXPECT_EQ(log, "/d/ud.x.3.dc0cac0363864a52.log");
  EXPECT_EQ(snap, "/d/ud.x.3.eef5bff15596cc25.snap");
  EXPECT_EQ(tmp_snap, "/d/ud.x.3.e9398dbde31d58be.snap.tmp");
  EXPECT_EQ(tmp_log, "/d/ud.x.3.cd08740d41ff8993.log.tmp");
  EXPECT_EQ(log.size(), std::string("/d/ud.x.3.0123456789abcdef.log").size());
  EXPECT_EQ(log.substr(0, 10), "/d/ud.x.3.");
  EXPECT_EQ(log.substr(26), ".log");
  EXPECT_EQ(snap.substr(26), ".snap");
  EXPECT_EQ(tmp_snap.substr(26), ".snap.tmp");
  EXPECT_EQ(tmp_log.substr(26), ".log.tmp");
  // Each kind and generation has a tag of its own: seeing one name tells
  // nothing of another.
  const std::set<std::string> tags = {
      TagOf(log),
      TagOf(snap),
      TagOf(tmp_snap),
      TagOf(tmp_log),
      TagOf(LogFileName("/d", "x", key, 4)),
      TagOf(SnapshotFileName("/d", "x", key, 4))};
  EXPECT_EQ(tags.size(), 6u);
  // The same for every process that reads the key; another key, another tag.
  EXPECT_EQ(LogFileName("/d", "x", key, 3), log);
  const FileKey other{key.k0 ^ 1, key.k1};
  EXPECT_NE(LogFileName("/d", "x", other, 3), log);
  std::string name, tag;
  FileType type;
  uint64_t gen;
  ASSERT_TRUE(ParseFileName(log.substr(3), &name, &type, &gen, &tag));
  EXPECT_EQ(name, "x");
  EXPECT_EQ(type, FileType::kLog);
  EXPECT_EQ(gen, 3u);
  EXPECT_EQ(tag, log.substr(10, 16));
}

TEST(FilenameTest, ValidateName) {
  EXPECT_TRUE(ValidateName("ok_name-1").ok());
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateName("")));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateName("a/b")));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateName("a.b")));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateName(std::string("a\0b", 3))));
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateName(std::string(65, 'x'))));
  EXPECT_TRUE(ValidateName(std::string(64, 'x')).ok());
}

// A scratch directory under the test's temporary directory, removed with
// everything in it at the end of the scope.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& hint)
      : path_(::testing::TempDir() + "/" + hint + "." +
              std::to_string(reinterpret_cast<uintptr_t>(this))) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  void Touch(const std::string& file) const {
    std::ofstream(path_ + "/" + file) << "x";
  }

 private:
  std::string path_;
};

constexpr char kTag[] = "0123456789abcdef";

TEST(FilenameTest, ForEachFileOfVisitsExactlyTheDictionarysFiles) {
  ScratchDir dir("foreach");
  const std::string t = kTag;
  const std::vector<std::string> ours = {
      "ud.abc",                      // control
      "ud.abc.2.log",                // tagless (older format)
      "ud.abc.3." + t + ".log",      // log
      "ud.abc.3." + t + ".snap",     // snapshot
      "ud.abc.4." + t + ".log.tmp",  // compaction's temporary log
      "ud.abc.tmp.5f3a",             // an opener's temporary control file
  };
  for (const std::string& f : ours) dir.Touch(f);
  // Other dictionaries (one a prefix of ours, one with ours as a prefix),
  // and names that are not segment files at all.
  for (const std::string& f : std::vector<std::string>{
           "ud.ab", "ud.abcd", "ud.abc-x.3." + t + ".log", "abc", "ud.",
           "ud.abc.3." + t + ".bak", "ud.abc.x.log"}) {
    dir.Touch(f);
  }

  std::vector<DictionaryFile> seen;
  ASSERT_TRUE(ForEachFileOf(dir.path(), "abc", [&](const DictionaryFile& f) {
                seen.push_back(f);
              }).ok());
  ASSERT_EQ(seen.size(), ours.size());
  std::vector<std::string> names;
  for (const DictionaryFile& f : seen) {
    names.push_back(f.file);
    EXPECT_EQ(f.path, dir.path() + "/" + f.file);
  }
  std::vector<std::string> sorted = ours;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(names, sorted);  // In name order.

  auto find = [&](const std::string& file) -> const DictionaryFile& {
    for (const DictionaryFile& f : seen) {
      if (f.file == file) return f;
    }
    ADD_FAILURE() << file << " not visited";
    return seen[0];
  };
  EXPECT_EQ(find("ud.abc").type, FileType::kControl);
  EXPECT_EQ(find("ud.abc").gen, 0u);
  EXPECT_EQ(find("ud.abc").tag, "");
  EXPECT_EQ(find("ud.abc.2.log").type, FileType::kLog);
  EXPECT_EQ(find("ud.abc.2.log").gen, 2u);
  EXPECT_EQ(find("ud.abc.2.log").tag, "");
  EXPECT_EQ(find("ud.abc.3." + t + ".log").type, FileType::kLog);
  EXPECT_EQ(find("ud.abc.3." + t + ".log").tag, t);
  EXPECT_EQ(find("ud.abc.3." + t + ".snap").type, FileType::kSnapshot);
  EXPECT_EQ(find("ud.abc.3." + t + ".snap").gen, 3u);
  EXPECT_EQ(find("ud.abc.4." + t + ".log.tmp").type, FileType::kTemp);
  EXPECT_EQ(find("ud.abc.4." + t + ".log.tmp").gen, 4u);
  EXPECT_EQ(find("ud.abc.4." + t + ".log.tmp").tag, t);
  EXPECT_EQ(find("ud.abc.tmp.5f3a").type, FileType::kTemp);
  EXPECT_EQ(find("ud.abc.tmp.5f3a").gen, 0u);
}

TEST(FilenameTest, ForEachFileOfLetsFnRemoveTheFile) {
  ScratchDir dir("foreach_remove");
  const std::string t = kTag;
  for (const std::string& f :
       {std::string("ud.abc"), "ud.abc.1." + t + ".log",
        "ud.abc.1." + t + ".snap", std::string("ud.abcd")}) {
    dir.Touch(f);
  }
  int visited = 0;
  ASSERT_TRUE(ForEachFileOf(dir.path(), "abc", [&](const DictionaryFile& f) {
                visited++;
                EXPECT_TRUE(std::filesystem::remove(f.path)) << f.path;
              }).ok());
  EXPECT_EQ(visited, 3);
  int left = 0;
  ASSERT_TRUE(ForEachFileOf(dir.path(), "abc", [&](const DictionaryFile&) {
                left++;
              }).ok());
  EXPECT_EQ(left, 0);
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/ud.abcd"));
}

TEST(FilenameTest, ForEachFileOfReturnsTheListingError) {
  ScratchDir dir("foreach_missing");
  int visited = 0;
  const absl::Status s =
      ForEachFileOf(dir.path() + "/no-such-dir", "abc",
                    [&](const DictionaryFile&) { visited++; });
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(visited, 0);
}

}  // namespace
}  // namespace ultradict
