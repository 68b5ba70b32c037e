// filename_test.cc: segment file names and name validation.

#include "db/filename.h"

#include "absl/status/status.h"
#include "gtest/gtest.h"

namespace ultradict {
namespace {

TEST(FilenameTest, RoundTrip) {
  std::string name;
  FileType type;
  uint64_t gen;
  ASSERT_TRUE(ParseFileName("ud.abc", &name, &type, &gen));
  EXPECT_EQ(name, "abc");
  EXPECT_EQ(type, FileType::kControl);
  ASSERT_TRUE(ParseFileName("ud.a-b_c.12.log", &name, &type, &gen));
  EXPECT_EQ(type, FileType::kLog);
  EXPECT_EQ(gen, 12u);
  ASSERT_TRUE(ParseFileName("ud.x.3.snap", &name, &type, &gen));
  EXPECT_EQ(type, FileType::kSnapshot);
  ASSERT_TRUE(ParseFileName("ud.x.4.snap.tmp", &name, &type, &gen));
  EXPECT_EQ(type, FileType::kTemp);
  EXPECT_EQ(gen, 4u);
  EXPECT_EQ(TempSnapshotFileName("/d", "x", 4), "/d/ud.x.4.snap.tmp");
  ASSERT_TRUE(ParseFileName("ud.x.4.log.tmp", &name, &type, &gen));
  EXPECT_EQ(type, FileType::kTemp);
  EXPECT_EQ(gen, 4u);
  EXPECT_EQ(TempLogFileName("/d", "x", 4), "/d/ud.x.4.log.tmp");
  EXPECT_FALSE(ParseFileName("ud.x.4.idx.tmp", &name, &type, &gen));
  EXPECT_EQ(LogFileName("/d", "x", 3), "/d/ud.x.3.log");
  EXPECT_EQ(SnapshotFileName("/d", "x", 3), "/d/ud.x.3.snap");
  EXPECT_EQ(ControlFileName("/d", "x"), "/d/ud.x");
  for (const char* bad : {"ud.", "x.y", "ud.a.b.c", "ud.a.x.log", "ud.a.1.txt",
                          "ud.a/b"}) {
    EXPECT_FALSE(ParseFileName(bad, &name, &type, &gen)) << bad;
  }
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
