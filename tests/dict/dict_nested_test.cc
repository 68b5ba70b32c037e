// dict_nested_test.cc: the non-template helpers of Dict (db/dict_nested.cc):
// the nested-reference codec on good and damaged bytes, child naming (a
// frozen format: children are found by name), reference checks, option and
// error helpers, and the recursive destroy's edges. Dict itself is tested in
// dict_test.cc and nested_test.cc.

#include "db/dict_nested.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"
#include "ultradict/codec.h"
#include "ultradict/dict.h"

namespace ultradict {
namespace dict_internal {
namespace {

using testing::IsOk;

NestedRef Ref(char key_tag, char value_tag, std::string name) {
  NestedRef ref;
  ref.key_tag = key_tag;
  ref.value_tag = value_tag;
  ref.name = std::move(name);
  return ref;
}

TEST(DictNestedTest, RefRoundTrip) {
  const NestedRef ref = Ref('s', 'C', "parent-0123456789ab");
  const std::string stored = EncodeRef(ref);
  EXPECT_EQ(stored, std::string("N1sCparent-0123456789ab"));
  EXPECT_TRUE(IsRef(stored));
  absl::StatusOr<NestedRef> back = DecodeRef(stored);
  ASSERT_THAT(back.status(), IsOk());
  EXPECT_EQ(back->key_tag, 's');
  EXPECT_EQ(back->value_tag, 'C');
  EXPECT_EQ(back->name, ref.name);
}

TEST(DictNestedTest, IsRefLooksAtTheTagOnly) {
  EXPECT_FALSE(IsRef(""));
  EXPECT_FALSE(IsRef("s"));
  EXPECT_FALSE(IsRef(EncodeValue<std::string>("N1sCname")));
  EXPECT_TRUE(IsRef("N"));  // Damaged, but a reference: DecodeRef says so.
}

TEST(DictNestedTest, DamagedRefsAreDataLoss) {
  const std::string good = EncodeRef(Ref('s', 's', "x"));
  ASSERT_THAT(DecodeRef(good).status(), IsOk());
  for (size_t n = 0; n < good.size(); n++) {
    EXPECT_TRUE(absl::IsDataLoss(DecodeRef(good.substr(0, n)).status())) << n;
  }
  std::string other_version = good;
  other_version[1] = '2';
  EXPECT_TRUE(absl::IsDataLoss(DecodeRef(other_version).status()));
  std::string not_ref = good;
  not_ref[0] = 's';
  EXPECT_TRUE(absl::IsDataLoss(DecodeRef(not_ref).status()));
}

TEST(DictNestedTest, Fnv1a64IsFrozen) {
  // Reference values of FNV-1a 64 over a, a zero byte, then b.
  EXPECT_EQ(Fnv1a64("", ""), 0xaf63bd4c8601b7dfULL);        // "\0"
  EXPECT_EQ(Fnv1a64("users", "k"), 0x04cff0a3804096a6ULL);  // "users\0k"
  // The zero byte separates: moving the split changes the hash.
  EXPECT_NE(Fnv1a64("ab", "c"), Fnv1a64("a", "bc"));
}

TEST(DictNestedTest, ChildNameIsFrozen) {
  EXPECT_EQ(ChildName("users", "k"), "users-f0a3804096a6");
  EXPECT_EQ(ChildName("users", "k"), ChildName("users", "k"));
  EXPECT_NE(ChildName("users", "k"), ChildName("users", "l"));
  EXPECT_NE(ChildName("users", "k"), ChildName("user", "sk"));
}

TEST(DictNestedTest, ChildNameOfLongParentFitsTheNameLimit) {
  const std::string parent(kMaxNameLength, 'p');
  const std::string child = ChildName(parent, "key");
  EXPECT_EQ(child.size(), kMaxNameLength);
  EXPECT_EQ(child.substr(0, kMaxNameLength - 13), parent.substr(0, 51));
  EXPECT_EQ(child[kMaxNameLength - 13], '-');
  for (char c : child.substr(kMaxNameLength - 12)) {
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << child;
  }
  // Parents equal in their first 51 characters still get distinct children.
  EXPECT_NE(child, ChildName(parent + "q", "key"));
}

TEST(DictNestedTest, CheckRef) {
  const NestedRef want = Ref('s', 'C', ChildName("p", "k"));
  EXPECT_THAT(CheckRef(EncodeRef(want), want), IsOk());
  absl::Status plain = CheckRef(EncodeValue<std::string>("v"), want);
  EXPECT_TRUE(absl::IsFailedPrecondition(plain)) << plain;
  EXPECT_NE(plain.message().find("not a nested dictionary"),
            std::string_view::npos)
      << plain;
  EXPECT_TRUE(absl::IsFailedPrecondition(
      CheckRef(EncodeRef(Ref('s', 's', want.name)), want)));
  EXPECT_TRUE(
      absl::IsDataLoss(CheckRef(EncodeRef(Ref('s', 'C', "other")), want)));
  EXPECT_TRUE(absl::IsDataLoss(CheckRef("N1s", want)));
}

TEST(DictNestedTest, CollectRefFollowsOnlyOwnChildren) {
  std::vector<std::string> dropped;
  const std::string own = ChildName("p", "k");
  CollectRef("p", "k", EncodeRef(Ref('s', 's', own)), &dropped);
  CollectRef("p", "k", EncodeValue<std::string>("plain"), &dropped);
  CollectRef("p", "k", EncodeRef(Ref('s', 's', "victim")), &dropped);
  CollectRef("p", "k2", EncodeRef(Ref('s', 's', own)), &dropped);
  CollectRef("p", "k", "N1", &dropped);
  EXPECT_EQ(dropped, std::vector<std::string>{own});
}

TEST(DictNestedTest, ChildOptions) {
  Options parent;
  parent.create_if_missing = false;
  parent.error_if_exists = true;
  parent.lifetime = Lifetime::kUntilLastClose;
  parent.compression = Compression::kZstdCompression;
  const Options child = ChildOptions(parent);
  EXPECT_TRUE(child.create_if_missing);
  EXPECT_FALSE(child.error_if_exists);
  EXPECT_EQ(child.lifetime, Lifetime::kPersistent);
  EXPECT_EQ(child.compression, Compression::kZstdCompression);
}

TEST(DictNestedTest, AnnotateAndKeepFirstError) {
  EXPECT_THAT(Annotate(absl::OkStatus(), "d"), IsOk());
  const absl::Status s = Annotate(absl::NotFoundError("gone"), "d");
  EXPECT_TRUE(absl::IsNotFound(s));
  EXPECT_EQ(s.message(), "dictionary \"d\": gone");

  absl::Status result;
  KeepFirstError(&result, absl::OkStatus());
  EXPECT_THAT(result, IsOk());
  KeepFirstError(&result, absl::DataLossError("first"));
  KeepFirstError(&result, absl::InternalError("second"));
  EXPECT_TRUE(absl::IsDataLoss(result));
  EXPECT_EQ(result.message(), "first");
}

TEST(DictNestedTest, DestroyTreeEdges) {
  const std::string name = testing::UniqueName("dn_missing");
  EXPECT_THAT(DestroyTree(Options(), name, 0), IsOk());
  EXPECT_THAT(DestroyDropped(Options(), {name, name + "b"}, 0), IsOk());
  EXPECT_TRUE(absl::IsFailedPrecondition(
      DestroyTree(Options(), name, kMaxNestingDepth + 1)));
  EXPECT_EQ(testing::LeftoverFiles(name), std::vector<std::string>());
}

TEST(DictNestedTest, CompressionOfWithoutDb) {
  EXPECT_EQ(CompressionOf(nullptr, Compression::kZstdCompression),
            Compression::kZstdCompression);
  EXPECT_EQ(CompressionOf(nullptr, Compression::kNoCompression),
            Compression::kNoCompression);
}

}  // namespace
}  // namespace dict_internal
}  // namespace ultradict
