// control_block_test.cc: the lifetime's display name and the rule "does
// this member's Close destroy the dictionary" (control_block.h), first as a
// pure rule with counted fake probes, then with the real liveness probes on
// a scratch file opened twice (OFD locks belong to an open file description,
// so the second description stands for another process).

#include "db/control_block.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>

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

  std::string path_;
  int closer_ = -1;
  int other_ = -1;
  std::unique_ptr<uint64_t[]> memory_;
};

TEST_F(ShouldDestroyOnCloseTest, PersistentTakesNoLock) {
  const Block block = MakeBlock(Lifetime::kPersistent);
  EXPECT_FALSE(ShouldDestroyOnClose(closer_, block, true));
  // The member slots are all free for another process.
  EXPECT_TRUE(port::TryLockRange(other_, kMemberLockBase, kMaxMembers));
}

TEST_F(ShouldDestroyOnCloseTest, UntilLastClose) {
  const Block block = MakeBlock(Lifetime::kUntilLastClose);
  Join(block, 99);
  EXPECT_FALSE(ShouldDestroyOnClose(closer_, block, true));
  Die();
  EXPECT_TRUE(ShouldDestroyOnClose(closer_, block, false));
  // The closer keeps every slot locked: a joiner cannot claim one.
  EXPECT_FALSE(port::TryLockByte(other_, kMemberLockBase, true));
  EXPECT_FALSE(
      port::TryLockByte(other_, kMemberLockBase + kMaxMembers - 1, true));
}

TEST_F(ShouldDestroyOnCloseTest, UntilCreatorCloses) {
  const Block block = MakeBlock(Lifetime::kUntilCreatorCloses);
  Join(block, kCreatorToken);
  EXPECT_FALSE(ShouldDestroyOnClose(closer_, block, false));
  EXPECT_TRUE(ShouldDestroyOnClose(closer_, block, true));
  Die();  // The creator died without closing.
  EXPECT_TRUE(ShouldDestroyOnClose(closer_, block, false));
}

TEST_F(ShouldDestroyOnCloseTest, UntilCreatorClosesOtherMemberAlive) {
  const Block block = MakeBlock(Lifetime::kUntilCreatorCloses);
  Join(block, 99);  // Alive, but not the creator.
  EXPECT_TRUE(ShouldDestroyOnClose(closer_, block, false));
}

}  // namespace
}  // namespace control
}  // namespace ultradict
