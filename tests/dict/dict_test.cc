// dict_test.cc: every Dict<K, V> operation within one process.

#include "ultradict/dict.h"

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testutil.h"

namespace {
struct Vec2 {
  double x, y;
};
}  // namespace

template <>
struct ultradict::Codec<Vec2> : ultradict::PodCodec<Vec2> {};

namespace ultradict {
namespace {

using testing::IsOk;
using testing::ScopedDestroy;
using testing::UniqueName;

using StringDict = Dict<std::string, std::string>;
using Counters = Dict<std::string, int64_t>;

class DictTest : public ::testing::Test {
 protected:
  void SetUp() override { name_ = UniqueName("dict"); }
  void TearDown() override {
    DestroyDB(name_).IgnoreError();
    EXPECT_TRUE(testing::LeftoverFiles(name_).empty());
  }

  template <typename K, typename V>
  Dict<K, V> OpenDict() {
    absl::StatusOr<Dict<K, V>> d = Dict<K, V>::Open(Options(), name_);
    EXPECT_THAT(d.status(), IsOk());
    return std::move(*d);
  }

  std::string name_;
};

TEST_F(DictTest, SetGetFind) {
  StringDict d = OpenDict<std::string, std::string>();
  EXPECT_EQ(d.name(), name_);
  EXPECT_TRUE(absl::IsNotFound(d.Get("a").status()));
  EXPECT_EQ(d.Find("a"), std::nullopt);
  ASSERT_THAT(d.Set("a", "1"), IsOk());
  ASSERT_THAT(d.Set(std::string("b"), std::string("2")), IsOk());
  absl::StatusOr<std::string> a = d.Get("a");
  ASSERT_THAT(a.status(), IsOk());
  EXPECT_EQ(*a, "1");
  EXPECT_EQ(d.Find("b"), "2");
  ASSERT_THAT(d.Set("a", "one"), IsOk());
  EXPECT_EQ(d.Find("a"), "one");
  // The bytes underneath: [tag 's'][payload].
  std::string raw;
  ASSERT_THAT(d.db()->Get("a", &raw), IsOk());
  EXPECT_EQ(raw, "sone");
}

TEST_F(DictTest, SubscriptProxy) {
  Counters d = OpenDict<std::string, int64_t>();
  int64_t missing = d["x"];
  EXPECT_EQ(missing, 0);          // A missing key reads as V{}.
  EXPECT_FALSE(d.contains("x"));  // ... and is not created.
  d["x"] = 5;
  int64_t x = d["x"];
  EXPECT_EQ(x, 5);
  d["x"] += 3;
  EXPECT_EQ(d["x"].value(), 8);
  d["x"] -= 10;
  EXPECT_EQ(d["x"].value(), -2);
  ++d["x"];
  --d["x"];
  --d["x"];
  EXPECT_EQ(d["x"].value(), -3);
  d["y"] += 1;  // Absent: starts from 0.
  EXPECT_EQ(d.Find("y"), 1);
  d["z"] = d["x"];
  EXPECT_EQ(d.Find("z"), -3);
  auto ref = d["x"];
  ref = 7;
  EXPECT_THAT(ref.status(), IsOk());
  EXPECT_EQ(d.Find("x"), 7);

  StringDict s = OpenDict<std::string, std::string>();
  std::string empty = s["nothing"];
  EXPECT_EQ(empty, "");
  s["k"] = "v";
  std::string v = s["k"];
  EXPECT_EQ(v, "v");
  // Reading x (an int64) as a string: V{} and the error in status().
  auto wrong = s["x"];
  EXPECT_EQ(wrong.value(), "");
  EXPECT_TRUE(absl::IsFailedPrecondition(wrong.status())) << wrong.status();
}

TEST_F(DictTest, IncrementDecrementAndOverflow) {
  Counters d = OpenDict<std::string, int64_t>();
  absl::StatusOr<int64_t> v = d.Increment("c");
  ASSERT_THAT(v.status(), IsOk());
  EXPECT_EQ(*v, 1);
  v = d.Increment("c", 41);
  ASSERT_THAT(v.status(), IsOk());
  EXPECT_EQ(*v, 42);
  v = d.Decrement("c", 2);
  ASSERT_THAT(v.status(), IsOk());
  EXPECT_EQ(*v, 40);

  ASSERT_THAT(d.Set("max", std::numeric_limits<int64_t>::max()), IsOk());
  const uint64_t seq = d.LatestSequence();
  EXPECT_TRUE(absl::IsOutOfRange(d.Increment("max").status()));
  EXPECT_EQ(d.LatestSequence(), seq);  // Nothing written.
  auto ref = d["max"];
  ref += 1;
  EXPECT_TRUE(absl::IsOutOfRange(ref.status()));
  EXPECT_EQ(d.Find("max"), std::numeric_limits<int64_t>::max());

  Dict<int32_t, uint8_t> small = OpenDict<int32_t, uint8_t>();
  EXPECT_TRUE(absl::IsOutOfRange(small.Decrement(1).status()));
  ASSERT_THAT(small.Set(1, 255), IsOk());
  EXPECT_TRUE(absl::IsOutOfRange(small.Increment(1).status()));

  Dict<std::string, double> real = OpenDict<std::string, double>();
  real["r"] += 0.5;
  real["r"] += 0.25;
  EXPECT_EQ(real.Find("r"), 0.75);
}

TEST_F(DictTest, ContainsEraseSizeClear) {
  Dict<int64_t, std::string> d = OpenDict<int64_t, std::string>();
  EXPECT_TRUE(d.empty());
  for (int64_t i = 0; i < 10; i++) ASSERT_THAT(d.Set(i, "v"), IsOk());
  EXPECT_EQ(d.size(), 10);
  EXPECT_TRUE(d.contains(3));
  absl::StatusOr<bool> erased = d.erase(3);
  ASSERT_THAT(erased.status(), IsOk());
  EXPECT_TRUE(*erased);
  erased = d.erase(3);
  ASSERT_THAT(erased.status(), IsOk());
  EXPECT_FALSE(*erased);
  EXPECT_FALSE(d.contains(3));
  EXPECT_EQ(d.size(), 9);
  const uint64_t before = d.LatestSequence();
  ASSERT_THAT(d.clear(), IsOk());
  EXPECT_EQ(d.LatestSequence(), before + 1);  // One atomic write.
  EXPECT_EQ(d.size(), 0);
  EXPECT_TRUE(d.empty());
  EXPECT_FALSE(d.contains(0));
  ASSERT_THAT(d.clear(), IsOk());  // Clearing an empty dict is fine.
}

TEST_F(DictTest, OrderedIterationOfIntegerKeys) {
  Dict<int64_t, int64_t> d = OpenDict<int64_t, int64_t>();
  std::map<int64_t, int64_t> model;
  for (int64_t k : std::vector<int64_t>{5, -3, 0, 1000000, -1000000, -1, 7,
                                        std::numeric_limits<int64_t>::min(),
                                        std::numeric_limits<int64_t>::max()}) {
    ASSERT_THAT(d.Set(k, k / 2), IsOk());
    model[k] = k / 2;
  }
  std::vector<std::pair<int64_t, int64_t>> seen;
  auto items = d.Items();
  for (auto [k, v] : items) seen.emplace_back(k, v);
  EXPECT_THAT(items.status(), IsOk());
  const std::vector<std::pair<int64_t, int64_t>> want(model.begin(),
                                                      model.end());
  EXPECT_EQ(seen, want);

  // From a key on.
  std::vector<int64_t> keys;
  for (const auto& [k, v] : d.ItemsFrom(-1)) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<int64_t>{-1, 0, 5, 7, 1000000,
                                        std::numeric_limits<int64_t>::max()}));

  ASSERT_THAT(d.clear(), IsOk());  // Same dictionary, other types.
  Dict<double, int> reals = OpenDict<double, int>();
  for (double k : {2.5, -0.5, -7.0, 0.0, 1e10}) {
    ASSERT_THAT(reals.Set(k, 1), IsOk());
  }
  std::vector<double> rkeys;
  for (const auto& item : reals.Items()) rkeys.push_back(item.first);
  EXPECT_EQ(rkeys, (std::vector<double>{-7.0, -0.5, 0.0, 2.5, 1e10}));
}

TEST_F(DictTest, IterationIsAPointInTimeView) {
  Dict<int32_t, int32_t> d = OpenDict<int32_t, int32_t>();
  for (int i = 0; i < 100; i++) ASSERT_THAT(d.Set(i, i), IsOk());
  auto items = d.Items();
  auto it = items.begin();
  ASSERT_THAT(d.clear(), IsOk());
  ASSERT_THAT(d.Set(1000, 1), IsOk());
  int count = 0;
  for (; it != items.end(); ++it) {
    EXPECT_EQ(it->first, count);
    EXPECT_EQ(it->second, count);
    count++;
  }
  EXPECT_EQ(count, 100);
}

TEST_F(DictTest, UpdateFunction) {
  Dict<std::string, std::string> d = OpenDict<std::string, std::string>();
  ASSERT_THAT(d.Update("log",
                       [](const std::optional<std::string>& cur) {
                         EXPECT_FALSE(cur.has_value());
                         return std::optional<std::string>("a");
                       }),
              IsOk());
  ASSERT_THAT(d.Update("log",
                       [](const std::optional<std::string>& cur) {
                         return std::optional<std::string>(*cur + "b");
                       }),
              IsOk());
  EXPECT_EQ(d.Find("log"), "ab");
  ASSERT_THAT(d.Update("log",
                       [](const std::optional<std::string>&) {
                         return std::optional<std::string>();
                       }),
              IsOk());
  EXPECT_FALSE(d.contains("log"));
}

TEST_F(DictTest, TransactAllOrNothing) {
  Counters d = OpenDict<std::string, int64_t>();
  ASSERT_THAT(d.Set("alice", 100), IsOk());
  ASSERT_THAT(d.Set("bob", 0), IsOk());
  auto transfer = [&](int64_t amount) {
    return d.Transact([&](Counters::Txn& txn) -> absl::Status {
      absl::StatusOr<int64_t> from = txn.Get("alice");
      if (!from.ok()) return from.status();
      if (*from < amount) return absl::FailedPreconditionError("funds");
      txn.Set("alice", *from - amount);
      txn.Set("bob", txn.Find("bob").value_or(0) + amount);
      return absl::OkStatus();
    });
  };
  ASSERT_THAT(transfer(30), IsOk());
  EXPECT_TRUE(absl::IsFailedPrecondition(transfer(1000)));
  EXPECT_EQ(d.Find("alice"), 70);
  EXPECT_EQ(d.Find("bob"), 30);
  ASSERT_THAT(d.Transact([](Counters::Txn& txn) {
    EXPECT_TRUE(txn.Erase("bob"));
    EXPECT_FALSE(txn.Erase("nobody"));
    EXPECT_FALSE(txn.Find("bob").has_value());
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_FALSE(d.contains("bob"));
}

TEST_F(DictTest, CodecMismatchBetweenDicts) {
  Counters ints = OpenDict<std::string, int64_t>();
  StringDict strings = OpenDict<std::string, std::string>();
  ASSERT_THAT(ints.Set("n", 42), IsOk());
  absl::StatusOr<std::string> s = strings.Get("n");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(s.status()));
  EXPECT_NE(s.status().message().find("holds a int64, read as a string"),
            std::string::npos)
      << s.status();
  EXPECT_NE(s.status().message().find(name_), std::string::npos);
  EXPECT_EQ(strings.Find("n"), std::nullopt);
  // Increment of a string value is refused, nothing written.
  ASSERT_THAT(strings.Set("t", "text"), IsOk());
  EXPECT_TRUE(absl::IsFailedPrecondition(ints.Increment("t").status()));
  EXPECT_EQ(strings.Find("t"), "text");
  // Iteration stops at the first value of another type.
  auto items = ints.Items();
  int n = 0;
  for (const auto& item : items) {
    EXPECT_EQ(item.first, "n");
    n++;
  }
  EXPECT_EQ(n, 1);
  EXPECT_TRUE(absl::IsFailedPrecondition(items.status())) << items.status();
  // Bytes written without a codec: DataLoss.
  ASSERT_THAT(ints.db()->Put("raw", ""), IsOk());
  EXPECT_TRUE(absl::IsDataLoss(ints.Get("raw").status()));
}

TEST_F(DictTest, BorrowedAndOwnedDB) {
  auto db = DB::Open(Options(), name_);
  ASSERT_THAT(db.status(), IsOk());
  {
    Counters borrowed(db->get());
    EXPECT_EQ(borrowed.db(), db->get());
    borrowed["k"] += 2;
  }
  std::string raw;
  ASSERT_THAT((*db)->Get("k", &raw), IsOk());  // Still open.
  Counters owned(std::move(*db));
  EXPECT_EQ(owned.Find("k"), 2);
  Counters moved = std::move(owned);
  EXPECT_EQ(moved.Find("k"), 2);
}

TEST_F(DictTest, WaitForChangeTimesOut) {
  Counters d = OpenDict<std::string, int64_t>();
  const uint64_t seq = d.LatestSequence();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(d.WaitForChange(seq, 200), seq);
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(150));
  EXPECT_LT(waited, std::chrono::seconds(5));
  d["a"] = 1;
  EXPECT_GT(d.WaitForChange(seq, 0), seq);  // Already changed: no wait.
}

TEST_F(DictTest, WaitForChangeWakesOnAnotherThreadsWrite) {
  Counters d = OpenDict<std::string, int64_t>();
  const uint64_t seq = d.LatestSequence();
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    d["a"] += 1;
  });
  const auto start = std::chrono::steady_clock::now();
  EXPECT_GT(d.WaitForChange(seq, 10000), seq);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  writer.join();
}

TEST_F(DictTest, PodValues) {
  Dict<int32_t, Vec2> d = OpenDict<int32_t, Vec2>();
  ASSERT_THAT(d.Set(1, Vec2{1.5, -2.0}), IsOk());
  absl::StatusOr<Vec2> v = d.Get(1);
  ASSERT_THAT(v.status(), IsOk());
  EXPECT_EQ(v->x, 1.5);
  EXPECT_EQ(v->y, -2.0);
  Vec2 missing = d[2];
  EXPECT_EQ(missing.x, 0.0);
  // Read with another codec: refused.
  Dict<int32_t, uint64_t> other = OpenDict<int32_t, uint64_t>();
  EXPECT_TRUE(absl::IsFailedPrecondition(other.Get(1).status()));
}

TEST_F(DictTest, OpenErrors) {
  Options options;
  options.create_if_missing = false;
  EXPECT_TRUE(absl::IsNotFound(Counters::Open(options, name_).status()));
  EXPECT_TRUE(
      absl::IsInvalidArgument(Counters::Open(Options(), "bad/name").status()));
}

}  // namespace
}  // namespace ultradict
