// stats_test.cc: `ultradict stat`'s parsing of the "ultradict.stats"
// property (tools/stats.h): every line the engine prints today has its JSON
// key, the JSON parses back with the documented keys and types, and an
// unknown, repeated, missing or malformed line is an error, not a guessed
// key.

#include "tools/stats.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"
#include "tools/report.h"
#include "ultradict/db.h"

namespace ultradict {
namespace tool {
namespace {

using ::ultradict::testing::IsOk;
using Json = nlohmann::ordered_json;

// The property of a small dictionary, as the engine prints it.
std::string EngineStats() {
  Options options;
  options.directory = std::getenv("TEST_TMPDIR");
  const std::string name = ::ultradict::testing::UniqueName("stats");
  ::ultradict::testing::ScopedDestroy destroy(name, options);
  auto db = DB::Open(options, name);
  EXPECT_THAT(db.status(), IsOk());
  if (!db.ok()) return "";
  EXPECT_THAT((*db)->Put("a", "1"), IsOk());
  EXPECT_THAT((*db)->Put("b", "2"), IsOk());
  EXPECT_THAT((*db)->Delete("a"), IsOk());
  std::string stats;
  EXPECT_TRUE((*db)->GetProperty("ultradict.stats", &stats));
  return stats;
}

TEST(StatsTest, EveryEngineLineHasItsKey) {
  const std::string property = EngineStats();
  absl::StatusOr<Stats> stats = ParseStats(property, {41, 42});
  ASSERT_THAT(stats.status(), IsOk()) << property;
  // The text is the property's, but for the members line.
  const std::string text = stats->Text();
  EXPECT_NE(text.find("members: 2 (pids 41,42)\n"), std::string::npos) << text;
  EXPECT_NE(text.find("entries: 1\n"), std::string::npos) << text;

  // Through text and back, as a script reads it.
  const Json json = Json::parse(JsonLine(stats->Json()));
  std::vector<std::string> keys;
  for (const auto& item : json.items()) keys.push_back(item.key());
  EXPECT_EQ(absl::StrJoin(keys, " "),
            "name directory generation entries sequence log_bytes_used "
            "log_bytes_capacity snapshot_bytes snapshot_entries log_index_keys "
            "log_index_bytes compactions puts deletes recoveries members "
            "member_pids lifetime compression");
  EXPECT_TRUE(json["name"].is_string());
  EXPECT_EQ(json["entries"], 1);
  EXPECT_EQ(json["puts"], 2);
  EXPECT_EQ(json["deletes"], 1);
  EXPECT_EQ(json["sequence"], 3);
  EXPECT_EQ(json["log_index_keys"], 2);
  EXPECT_TRUE(json["log_index_bytes"].is_number_unsigned());
  EXPECT_EQ(json["members"], 2);
  EXPECT_EQ(json["member_pids"], Json::array({41, 42}));
  EXPECT_EQ(json["lifetime"], "persistent");
  EXPECT_EQ(json["compression"], "none");
}

TEST(StatsTest, UnknownLineIsAnError) {
  const std::string property = EngineStats() + "new counter: 7\n";
  absl::StatusOr<Stats> stats = ParseStats(property, {});
  EXPECT_TRUE(absl::IsInternal(stats.status())) << stats.status();
  EXPECT_NE(stats.status().message().find("new counter"),
            absl::string_view::npos);
}

TEST(StatsTest, RepeatedOrMissingLineIsAnError) {
  const std::string property = EngineStats();
  EXPECT_TRUE(
      absl::IsInternal(ParseStats(property + "puts: 1\n", {}).status()));
  const std::string no_puts =
      absl::StrReplaceAll(property, {{"\nputs: 2\n", "\n"}});
  ASSERT_NE(no_puts, property);
  absl::StatusOr<Stats> stats = ParseStats(no_puts, {});
  EXPECT_TRUE(absl::IsInternal(stats.status())) << stats.status();
  EXPECT_NE(stats.status().message().find("\"puts\""), absl::string_view::npos);
}

TEST(StatsTest, MalformedValueIsAnError) {
  const std::string property = EngineStats();
  for (const auto& [from, to] :
       std::vector<std::pair<std::string, std::string>>{
           {"\nputs: 2\n", "\nputs: two\n"},
           {"\nputs: 2\n", "\nputs: -2\n"},
           {" keys, ", " keys "},
           {" keys, ", " slots, "},
           {" bytes\n", " KiB\n"}}) {
    const std::string bad = absl::StrReplaceAll(property, {{from, to}});
    ASSERT_NE(bad, property) << from;
    EXPECT_TRUE(absl::IsInternal(ParseStats(bad, {}).status())) << to;
  }
}

TEST(ReportTest, JsonKeepsTypesOrderAndKinds) {
  Node node("segment");
  node.Str("path", "/dev/shm/ud.x");
  node.Num("size", uint64_t{1} << 40);
  node.Bool("live", true);
  node.Missing("head_offset", "unknown (single segment)");
  node.Add("damage", "DAMAGE").Str("message", "bad \"quote\"\n");
  node.Add("records", "record").Num("offset", 64);
  const Json json = Json::parse(JsonLine(node.Json()));
  EXPECT_EQ(
      json.dump(),
      "{\"path\":\"/dev/shm/ud.x\",\"size\":1099511627776,\"live\":true,"
      "\"head_offset\":null,"
      "\"damage\":[{\"kind\":\"damage\",\"message\":\"bad \\\"quote\\\"\\n\"}],"
      "\"records\":[{\"kind\":\"record\",\"offset\":64}]}");
  // The text form is unchanged by the JSON one.
  EXPECT_EQ(node.Text(0, false),
            "path: /dev/shm/ud.x\nsize: 1099511627776\nlive: yes\n"
            "head_offset: unknown (single segment)\n"
            "DAMAGE: bad \"quote\"\n\nrecord offset=64\n");
}

TEST(ReportTest, JsonLineNeverThrowsOnBytesThatAreNotUtf8) {
  Node node("segment");
  node.Str("path", std::string("/tmp/\xff\xfe", 7));
  const std::string line = JsonLine(node.Json());
  EXPECT_EQ(line.back(), '\n');
  const Json json = Json::parse(line);
  EXPECT_EQ(json["path"], "/tmp/\xEF\xBF\xBD\xEF\xBF\xBD");  // U+FFFD twice.
}

}  // namespace
}  // namespace tool
}  // namespace ultradict
