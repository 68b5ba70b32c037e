// control_block_test.cc: the lifetime's display name and the rule "does
// this member's Close destroy the dictionary" (control_block.h), first as a
// pure rule with counted fake probes, then with the real liveness probes on
// a scratch file opened twice (OFD locks belong to an open file description,
// so the second description stands for another process); and the bounds
// of the replica_of field.

#include "db/control_block.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "gtest/gtest.h"
#include "port/port.h"
#include "ultradict/options.h"

namespace ultradict {
namespace control {
namespace {

TEST(ControlBlockTest, LifetimeName) {
  EXPECT_STREQ(LifetimeName(Lifetime::kPersistent), "persistent");
  EXPECT_STREQ(LifetimeName(Lifetime::kUntilLastClose), "until-last-close");
  EXPECT_STREQ(LifetimeName(Lifetime::kUntilCreatorCloses),
               "until-creator-closes");
  EXPECT_STREQ(LifetimeName(static_cast<Lifetime>(3)), "unknown");
  EXPECT_STREQ(LifetimeName(static_cast<Lifetime>(255)), "unknown");
}

// Fake probes that count how often the rule asks them.
struct Probes {
  bool no_member_alive = false;
  bool creator_alive = false;
  int asked_members = 0;
  int asked_creator = 0;

  bool Decide(Lifetime lifetime, bool closer_is_creator) {
    return DestroyOnCloseRule(
        lifetime, closer_is_creator,
        [this] {
          asked_members++;
          return no_member_alive;
        },
        [this] {
          asked_creator++;
          return creator_alive;
        });
  }
};

// replica_of (bytes 472..603): zero is "not a replica"; a damaged length
// is read as the longest, never past the field.
TEST(ControlBlockTest, ReplicaOfIsBoundsChecked) {
  auto memory = std::make_unique<uint64_t[]>(kSize / 8);  // Zeroed.
  char* base = reinterpret_cast<char*>(memory.get());
  const Block block(base);
  EXPECT_EQ(block.replica_of(), "");
  EXPECT_EQ(block.replica_writer().load(), 0u);
  block.SetReplicaOf("redis://h:1/0 stream k", 77);
  EXPECT_EQ(block.replica_of(), "redis://h:1/0 stream k");
  EXPECT_EQ(block.replica_writer().load(), 77u);
  EXPECT_EQ(static_cast<uint8_t>(base[kReplicaOfOffset]), 22);
  // A shorter one leaves no bytes of the longer behind.
  block.SetReplicaOf("x", 78);
  EXPECT_EQ(block.replica_of(), "x");
  EXPECT_EQ(base[kReplicaOfOffset + 2], 0);
  // Damaged length: read as kMaxReplicaOf bytes; the byte after the field
  // (the writer token's first) is not read.
  std::memset(base + kReplicaOfOffset + 1, 'p', kMaxReplicaOf);
  base[kReplicaOfOffset] = static_cast<char>(255);
  EXPECT_EQ(block.replica_of(), std::string(kMaxReplicaOf, 'p'));
  EXPECT_EQ(kReplicaOfOffset + 1 + kMaxReplicaOf, kReplicaWriterOffset);
  // Cleared: no writer either.
  block.SetReplicaOf("", 79);
  EXPECT_EQ(block.replica_of(), "");
  EXPECT_EQ(block.replica_writer().load(), 0u);
}

TEST(ControlBlockTest, PersistentNeverDestroysNorAsks) {
  for (bool creator : {false, true}) {
    Probes p;
    p.no_member_alive = true;
    EXPECT_FALSE(p.Decide(Lifetime::kPersistent, creator));
    EXPECT_EQ(p.asked_members + p.asked_creator, 0);
  }
}

TEST(ControlBlockTest, UntilLastCloseWhenNoMemberIsAlive) {
  for (bool creator : {false, true}) {
    Probes p;
    EXPECT_FALSE(p.Decide(Lifetime::kUntilLastClose, creator));
    p.no_member_alive = true;
    EXPECT_TRUE(p.Decide(Lifetime::kUntilLastClose, creator));
    EXPECT_EQ(p.asked_members, 2);
    EXPECT_EQ(p.asked_creator, 0);
  }
}

TEST(ControlBlockTest, UntilCreatorClosesWhenCreatorClosesOrIsGone) {
  Probes p;
  p.creator_alive = true;
  EXPECT_TRUE(p.Decide(Lifetime::kUntilCreatorCloses, true));
  EXPECT_EQ(p.asked_creator, 0);  // The creator itself: nothing to ask.
  EXPECT_FALSE(p.Decide(Lifetime::kUntilCreatorCloses, false));
  p.creator_alive = false;
  EXPECT_TRUE(p.Decide(Lifetime::kUntilCreatorCloses, false));
  EXPECT_EQ(p.asked_creator, 2);
  EXPECT_EQ(p.asked_members, 0);
}

TEST(ControlBlockTest, DamagedLifetimeNeverDestroys) {
  Probes p;
  p.no_member_alive = true;
  EXPECT_FALSE(p.Decide(static_cast<Lifetime>(7), true));
  EXPECT_EQ(p.asked_members + p.asked_creator, 0);
}

// A control block in memory over a scratch file open twice: `closer` is the
// closing member's description, `other` another process's.
class ShouldDestroyOnCloseTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kCreatorToken = 0x1234567;
  static constexpr uint32_t kOtherSlot = 7;

  void SetUp() override {
    path_ = ::testing::TempDir() + "/control_block_test." +
            std::to_string(getpid());
    closer_ = open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC, 0600);
    other_ = open(path_.c_str(), O_RDWR);
    ASSERT_GE(closer_, 0);
    ASSERT_GE(other_, 0);
    memory_ = std::make_unique<uint64_t[]>(kSize / 8);
  }
  void TearDown() override {
    if (closer_ >= 0) close(closer_);
    if (other_ >= 0) close(other_);
    unlink(path_.c_str());
  }

  Block MakeBlock(Lifetime lifetime) {
    Options options;
    options.lifetime = lifetime;
    Block block(reinterpret_cast<char*>(memory_.get()));
    block.InitHeader(options, kCreatorToken, "cbtest", FileKey());
    return block;
  }
  // A live member in `other`'s description with the given token.
  void Join(const Block& block, uint32_t token) {
    ASSERT_TRUE(port::TryLockByte(other_, kMemberLockBase + kOtherSlot, true));
    block.member_pid(kOtherSlot).store(1, std::memory_order_relaxed);
    block.member_token(kOtherSlot).store(token, std::memory_order_release);
  }
  // The member dies without closing: its lock goes, its slot stays.
  void Die() { port::UnlockByte(other_, kMemberLockBase + kOtherSlot); }
  // ShouldDestroyOnClose for `closer`, whose probe's locks are kept until
  // the next call or the end of the test (as a closer keeps them while it
  // destroys the dictionary).
  bool Closes(const Block& block, bool closer_is_creator) {
    probe_ = std::make_unique<MemberProbe>(closer_);
    return ShouldDestroyOnClose(closer_, block, closer_is_creator,
                                probe_.get());
  }

  std::string path_;
  int closer_ = -1;
  int other_ = -1;
  std::unique_ptr<uint64_t[]> memory_;
  std::unique_ptr<MemberProbe> probe_;
};

TEST_F(ShouldDestroyOnCloseTest, PersistentTakesNoLock) {
  const Block block = MakeBlock(Lifetime::kPersistent);
  EXPECT_FALSE(Closes(block, true));
  // The member slots are all free for another process.
  EXPECT_TRUE(port::TryLockRange(other_, kMemberLockBase, kMaxMembers));
}

TEST_F(ShouldDestroyOnCloseTest, UntilLastClose) {
  const Block block = MakeBlock(Lifetime::kUntilLastClose);
  Join(block, 99);
  EXPECT_FALSE(Closes(block, true));
  Die();
  EXPECT_TRUE(Closes(block, false));
  // The closer keeps every slot locked: a joiner cannot claim one.
  EXPECT_FALSE(port::TryLockByte(other_, kMemberLockBase, true));
  EXPECT_FALSE(
      port::TryLockByte(other_, kMemberLockBase + kMaxMembers - 1, true));
}

TEST_F(ShouldDestroyOnCloseTest, UntilCreatorCloses) {
  const Block block = MakeBlock(Lifetime::kUntilCreatorCloses);
  Join(block, kCreatorToken);
  EXPECT_FALSE(Closes(block, false));
  EXPECT_TRUE(Closes(block, true));
  Die();  // The creator died without closing.
  EXPECT_TRUE(Closes(block, false));
}

TEST_F(ShouldDestroyOnCloseTest, UntilCreatorClosesOtherMemberAlive) {
  const Block block = MakeBlock(Lifetime::kUntilCreatorCloses);
  Join(block, 99);  // Alive, but not the creator.
  EXPECT_TRUE(Closes(block, false));
}

// Two probers at once (a last close and another process's ListDBs): the
// second waits for the first's turn to end instead of taking its range
// lock for a live member.
TEST_F(ShouldDestroyOnCloseTest, ProbersTakeTurns) {
  auto first = std::make_unique<MemberProbe>(closer_);
  ASSERT_TRUE(first->NoMemberAlive());
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    first.reset();
  });
  MemberProbe second(other_);
  EXPECT_TRUE(second.NoMemberAlive());
  release.join();
}

// A live member is found, and a probe leaves nothing locked behind.
TEST_F(ShouldDestroyOnCloseTest, ProbeFindsALiveMember) {
  const Block block = MakeBlock(Lifetime::kUntilLastClose);
  Join(block, 99);
  {
    MemberProbe probe(closer_);
    EXPECT_FALSE(probe.NoMemberAlive());
  }
  Die();
  // Another description: one that the first probe had left a lock in
  // would wait 5 s and find a member.
  MemberProbe probe(other_);
  EXPECT_TRUE(probe.NoMemberAlive());
}

}  // namespace
}  // namespace control
}  // namespace ultradict
