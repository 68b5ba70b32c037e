// replica_guard_test.cc: a dictionary marked a replica (DB::SetReplicaOf)
// refuses the writes of every handle but its writer's, unless opened with
// Options::write_replica (issue 22).

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testutil.h"
#include "ultradict/db.h"
#include "ultradict/write_batch.h"

namespace ultradict {
namespace {

using ::testing::HasSubstr;
using testing::IsOk;
using testing::ScopedDestroy;
using testing::UniqueName;

constexpr char kPrimary[] = "redis://10.0.0.5:6379 stream ultradict:x";

std::unique_ptr<DB> OpenOrDie(const Options& options, const std::string& name) {
  absl::StatusOr<std::unique_ptr<DB>> db = DB::Open(options, name);
  EXPECT_THAT(db.status(), IsOk());
  return db.ok() ? std::move(*db) : nullptr;
}

void ExpectRefused(const absl::Status& s, const std::string& name) {
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr(kPrimary));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("dictionary \"" + name + "\" follows"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("write_replica"));
}

// Every write path of `db`, each with its own key; all refused.
void ExpectEveryWriteRefused(DB* db) {
  const std::string& name = db->name();
  ExpectRefused(db->Put("p", "1"), name);
  ExpectRefused(db->Delete("k"), name);
  WriteBatch batch;
  batch.Put("w", "1");
  ExpectRefused(db->Write(batch), name);
  ExpectRefused(db->Update("k", [](const std::string_view*) {
    return std::optional<std::string>("updated");
  }),
                name);
  ExpectRefused(db->Transact([](Transaction& txn) {
    txn.Put("t", "1");
    return absl::OkStatus();
  }),
                name);
  absl::StatusOr<std::unique_ptr<WriteLock>> lock = db->LockWrites(1000);
  ASSERT_THAT(lock.status(), IsOk());
  ExpectRefused((*lock)->Put("l", "1"), name);
  ExpectRefused((*lock)->Delete("k"), name);
}

// Every write path of `db`; all accepted.
void ExpectEveryWriteAllowed(DB* db) {
  EXPECT_THAT(db->Put("p", "1"), IsOk());
  EXPECT_THAT(db->Delete("p"), IsOk());
  WriteBatch batch;
  batch.Put("w", "1");
  EXPECT_THAT(db->Write(batch), IsOk());
  EXPECT_THAT(db->Update("k",
                         [](const std::string_view*) {
                           return std::optional<std::string>("v");
                         }),
              IsOk());
  EXPECT_THAT(db->Transact([](Transaction& txn) {
    txn.Put("t", "1");
    return absl::OkStatus();
  }),
              IsOk());
  absl::StatusOr<std::unique_ptr<WriteLock>> lock = db->LockWrites(1000);
  ASSERT_THAT(lock.status(), IsOk());
  EXPECT_THAT((*lock)->Put("l", "1"), IsOk());
}

TEST(ReplicaGuardTest, OnlyTheWriterOrWriteReplicaMayWrite) {
  const std::string name = UniqueName("replica_guard");
  ScopedDestroy cleanup(name);
  Options options;
  options.create_if_missing = true;
  std::unique_ptr<DB> follower = OpenOrDie(options, name);
  std::unique_ptr<DB> other = OpenOrDie(options, name);
  Options writable = options;
  writable.write_replica = true;
  std::unique_ptr<DB> forced = OpenOrDie(writable, name);
  Options observer = options;
  observer.observer = true;
  std::unique_ptr<DB> tool = OpenOrDie(observer, name);
  ASSERT_TRUE(follower && other && forced && tool);
  ASSERT_THAT(other->Put("k", "v"), IsOk());

  std::string value;
  ASSERT_TRUE(other->GetProperty("ultradict.replica-of", &value));
  EXPECT_EQ(value, "");
  ASSERT_THAT(follower->SetReplicaOf(kPrimary), IsOk());
  ASSERT_TRUE(other->GetProperty("ultradict.replica-of", &value));
  EXPECT_EQ(value, kPrimary);
  ASSERT_TRUE(other->GetProperty("ultradict.stats", &value));
  EXPECT_THAT(value, HasSubstr(std::string("replica of: ") + kPrimary + "\n"));

  const uint64_t seq = other->LatestSequence();
  ExpectEveryWriteRefused(other.get());
  ExpectEveryWriteRefused(tool.get());  // An observer has no token.
  EXPECT_EQ(other->LatestSequence(), seq);
  // Reads are not affected.
  EXPECT_THAT(other->Get("k", &value), IsOk());
  EXPECT_EQ(value, "v");
  ExpectEveryWriteAllowed(follower.get());
  ExpectEveryWriteAllowed(forced.get());

  // Cleared by any handle: everyone writes again.
  ASSERT_THAT(tool->SetReplicaOf(""), IsOk());
  ASSERT_TRUE(other->GetProperty("ultradict.stats", &value));
  EXPECT_THAT(value, HasSubstr("replica of: none\n"));
  ExpectEveryWriteAllowed(other.get());
  ExpectEveryWriteAllowed(tool.get());
}

TEST(ReplicaGuardTest, TooLongPrimaryIsRefused) {
  const std::string name = UniqueName("replica_long");
  ScopedDestroy cleanup(name);
  Options options;
  options.create_if_missing = true;
  std::unique_ptr<DB> db = OpenOrDie(options, name);
  ASSERT_TRUE(db);
  EXPECT_THAT(db->SetReplicaOf(std::string(127, 'p')), IsOk());
  std::string value;
  ASSERT_TRUE(db->GetProperty("ultradict.replica-of", &value));
  EXPECT_EQ(value, std::string(127, 'p'));
  const absl::Status s = db->SetReplicaOf(std::string(128, 'p'));
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  ASSERT_TRUE(db->GetProperty("ultradict.replica-of", &value));
  EXPECT_EQ(value, std::string(127, 'p'));  // Unchanged.
}

TEST(ReplicaGuardTest, CalledUnderTheWriteLockIsRefused) {
  const std::string name = UniqueName("replica_lock");
  ScopedDestroy cleanup(name);
  Options options;
  options.create_if_missing = true;
  std::unique_ptr<DB> db = OpenOrDie(options, name);
  ASSERT_TRUE(db);
  absl::Status inner;
  ASSERT_THAT(db->Transact([&](Transaction&) {
    inner = db->SetReplicaOf(kPrimary);
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_TRUE(absl::IsFailedPrecondition(inner)) << inner;
}

TEST(ReplicaGuardTest, MarkSurvivesReopenOfAPersistentDictionary) {
  const std::string name = UniqueName("replica_reopen");
  ScopedDestroy cleanup(name);
  Options options;
  options.create_if_missing = true;
  options.lifetime = Lifetime::kPersistent;
  {
    std::unique_ptr<DB> db = OpenOrDie(options, name);
    ASSERT_TRUE(db);
    ASSERT_THAT(db->Put("k", "v"), IsOk());
    ASSERT_THAT(db->SetReplicaOf(kPrimary), IsOk());
  }
  std::unique_ptr<DB> db = OpenOrDie(options, name);
  ASSERT_TRUE(db);
  std::string value;
  ASSERT_TRUE(db->GetProperty("ultradict.replica-of", &value));
  EXPECT_EQ(value, kPrimary);
  // The writer's handle is gone: the reopened one is another handle.
  ExpectEveryWriteRefused(db.get());
  EXPECT_THAT(db->Get("k", &value), IsOk());
  ASSERT_THAT(db->SetReplicaOf(""), IsOk());
  EXPECT_THAT(db->Put("k", "w"), IsOk());
}

}  // namespace
}  // namespace ultradict
