// compressed_test.cc: the tool on a zstd-compressed dictionary made through
// the API (the tool itself only creates uncompressed ones): get and ls open
// it with its own compression, dump shows compressed records and entries,
// verify decompresses every value.

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"
#include "ultradict/db.h"

namespace ultradict {
namespace {

using testing::IsOk;
using testing::RunTool;

TEST(CompressedTest, ToolReadsAndChecksCompressedDictionary) {
  const std::string dir = absl::StrCat(std::getenv("TEST_TMPDIR"), "/shm");
  ASSERT_EQ(std::system(absl::StrCat("mkdir -p ", dir).c_str()), 0);
  const std::string name = testing::UniqueName("zstd");
  Options options;
  options.directory = dir;
  options.compression = Compression::kZstdCompression;
  options.compression_threshold = 16;
  testing::ScopedDestroy destroy(name, options);
  const std::string big(1000, 'z');
  {
    auto db = DB::Open(options, name);
    ASSERT_THAT(db.status(), IsOk());
    ASSERT_THAT((*db)->Put("snap", big), IsOk());
    ASSERT_THAT((*db)->CompactLog(), IsOk());
    ASSERT_THAT((*db)->Put("log", big), IsOk());
  }
  const std::string flags = absl::StrCat(" --dir ", dir);
  std::string out;
  EXPECT_EQ(RunTool(absl::StrCat("get ", name, " log", flags), &out), 0);
  EXPECT_EQ(out, big);
  EXPECT_EQ(RunTool(absl::StrCat("ls ", name, flags), &out), 0);
  EXPECT_EQ(out, "log\nsnap\n");
  EXPECT_EQ(RunTool(absl::StrCat("dump ", name, flags), &out), 0);
  EXPECT_NE(out.find("compression: zstd"), std::string::npos) << out;
  EXPECT_NE(out.find("key=snap value_length="), std::string::npos) << out;
  EXPECT_NE(out.find("compressed=yes checksum=ok plain_length=1000"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("type=batch compressed=yes checksum=ok"),
            std::string::npos)
      << out;
  EXPECT_EQ(RunTool(absl::StrCat("verify ", name, flags), &out), 0) << out;
  EXPECT_EQ(RunTool(absl::StrCat("put ", name, " k v", flags), &out), 0);
  EXPECT_EQ(RunTool(absl::StrCat("stat ", name, flags), &out), 0);
  EXPECT_NE(out.find("entries: 3"), std::string::npos) << out;
}

}  // namespace
}  // namespace ultradict
