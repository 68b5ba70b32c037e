// generation_testutil.cc: see generation_testutil.h.

#include "tests/generation_testutil.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "db/compaction.h"
#include "db/log_format.h"
#include "db/log_writer.h"
#include "db/write_batch_internal.h"
#include "gtest/gtest.h"
#include "port/port.h"

namespace ultradict {
namespace testing {

GenerationFixture::GenerationFixture(size_t initial_log_size) {
  files_.dir = absl::StrCat(::testing::TempDir(), "/gen", getpid(), "_",
                            port::RandomHex(4));
  EXPECT_EQ(mkdir(files_.dir.c_str(), 0700), 0) << files_.dir;
  files_.name = "t";
  files_.key = FileKey{0x0123456789abcdefull, 0xfedcba9876543210ull};
  files_.initial_log_size = initial_log_size;
}

GenerationFixture::~GenerationFixture() {
  absl::StatusOr<std::vector<std::string>> names =
      port::ListDirectory(files_.dir);
  if (names.ok()) {
    for (const std::string& n : *names) {
      port::Unlink(files_.dir + "/" + n).IgnoreError();
    }
  }
  rmdir(files_.dir.c_str());
}

std::shared_ptr<Generation> GenerationFixture::Next(
    const Generation& from, const std::vector<Update>& updates) {
  std::vector<Change> changes;
  for (size_t i = 0; i < updates.size(); i++) {
    const Update& u = updates[i];
    changes.push_back(MakeChange(
        u.first,
        LogValue{u.second ? std::string_view(*u.second) : "", !u.second}, i));
  }
  snapshot::BuildOptions options;
  port::Segment snap;
  uint64_t count = 0;
  absl::Status s = BuildSnapshot(
      from, &changes, options, files_.SnapshotPath(from.gen + 1), [] {}, &snap,
      &count);
  EXPECT_TRUE(s.ok()) << s;
  if (!s.ok()) return nullptr;
  std::shared_ptr<Generation> next;
  s = PrepareGeneration(
      from, std::move(snap), files_, files_.LogPath(from.gen + 1), 0, 0,
      /*base_sequence=*/0, [] {}, &next);
  EXPECT_TRUE(s.ok()) << s;
  return next;
}

std::shared_ptr<Generation> GenerationFixture::Make(
    const std::map<std::string, std::string>& contents) {
  Generation empty;
  std::vector<Update> updates;
  for (const auto& [k, v] : contents) updates.emplace_back(k, v);
  return Next(empty, updates);
}

void GenerationFixture::Append(Generation* g, const WriteBatch& batch,
                               uint32_t* end, bool compress) {
  const std::string_view rep = WriteBatchInternal::Contents(batch);
  std::string record;  // Encoded here when compressed.
  if (compress) log::AppendRecord(rep, /*compress=*/true, &record);
  const size_t size =
      compress ? record.size() : log::kRecordHeaderSize + rep.size();
  ASSERT_LE(*end + size, g->record_capacity);
  ASSERT_TRUE(g->ReserveLog(*end, size).ok());
  char* const at = const_cast<char*>(g->records) + *end;
  if (compress) {
    std::memcpy(at, record.data(), size);
  } else {
    log::EncodeRecord(rep, at);
  }
  *end += static_cast<uint32_t>(size);
}

}  // namespace testing
}  // namespace ultradict
