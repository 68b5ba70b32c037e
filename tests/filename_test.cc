// filename_test.cc: segment file names and name validation.

#include "db/filename.h"

#include <set>
#include <string>

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

}  // namespace
}  // namespace ultradict
