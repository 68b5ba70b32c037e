// nested_test.cc: nested dictionaries (Dict::Nested), within one process and
// across processes, and that none of their segments leak.

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/testutil.h"
#include "ultradict/dict.h"

namespace ultradict {
namespace {

using testing::IsOk;
using testing::UniqueName;

using Counters = Dict<std::string, int64_t>;
using Users = Dict<std::string, std::string>;

bool Exists(const std::string& name) {
  absl::StatusOr<std::vector<std::string>> names = ListDBs();
  return names.ok() &&
         std::find(names->begin(), names->end(), name) != names->end();
}

class NestedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    name_ = UniqueName("nested");
    absl::StatusOr<Counters> d = Counters::Open(Options(), name_);
    ASSERT_THAT(d.status(), IsOk());
    parent_.emplace(std::move(*d));
  }
  void TearDown() override {
    parent_.reset();
    // Removes children too, even when the test failed half-way.
    dict_internal::DestroyTree(Options(), name_, 0).IgnoreError();
    EXPECT_EQ(testing::LeftoverFiles(name_), std::vector<std::string>());
  }
  Counters& parent() { return *parent_; }

  std::string name_;
  std::optional<Counters> parent_;
};

TEST_F(NestedTest, CreateUseAndErase) {
  absl::StatusOr<Users> users = parent().Nested<std::string, std::string>("u");
  ASSERT_THAT(users.status(), IsOk());
  EXPECT_EQ(users->depth(), 1);
  EXPECT_EQ(users->name().rfind(name_ + "-", 0), 0u) << users->name();
  ASSERT_THAT(users->Set("alice", "admin"), IsOk());
  EXPECT_TRUE(parent().IsNested("u"));
  EXPECT_FALSE(parent().IsNested("plain"));

  // A second handle reaches the same child.
  absl::StatusOr<Users> again = parent().Nested<std::string, std::string>("u");
  ASSERT_THAT(again.status(), IsOk());
  EXPECT_EQ(again->name(), users->name());
  EXPECT_EQ(again->Find("alice"), "admin");

  // The reference is not an int64.
  absl::Status s = parent().Get("u").status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("nested dictionary"), std::string::npos) << s;
  // Items() skips it; size() counts it.
  parent()["n"] = 1;
  int count = 0;
  auto items = parent().Items();
  for (const auto& [k, v] : items) {
    EXPECT_EQ(k, "n");
    count++;
  }
  EXPECT_THAT(items.status(), IsOk());
  EXPECT_EQ(count, 1);
  EXPECT_EQ(parent().size(), 2);

  const std::string child = users->name();
  EXPECT_TRUE(Exists(child));
  ASSERT_THAT(parent().EraseNested("u"), IsOk());
  EXPECT_FALSE(Exists(child));
  EXPECT_FALSE(parent().contains("u"));
  EXPECT_EQ(testing::LeftoverFiles(child), std::vector<std::string>());
  EXPECT_TRUE(absl::IsNotFound(parent().EraseNested("u")));
  EXPECT_TRUE(absl::IsFailedPrecondition(parent().EraseNested("n")));
  // Handles still open see the destroyed dictionary refuse writes.
  EXPECT_FALSE(users->Set("bob", "x").ok());
}

TEST_F(NestedTest, WrongTypesAndPlainValues) {
  ASSERT_THAT((parent().Nested<std::string, std::string>("u").status()),
              IsOk());
  absl::Status s = parent().Nested<std::string, int64_t>("u").status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("string -> string opened as string -> int64"),
            std::string::npos)
      << s;

  parent()["plain"] = 3;
  s = parent().Nested<std::string, int64_t>("plain").status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("holds a int64"), std::string::npos) << s;
  EXPECT_FALSE(Exists(dict_internal::ChildName(name_, "plain")));
  EXPECT_EQ(parent().Find("plain"), 3);
}

TEST_F(NestedTest, OverwritingOrErasingAReferenceRemovesTheChild) {
  auto child_of = [&](const std::string& key) {
    absl::StatusOr<Users> c = parent().Nested<std::string, std::string>(key);
    EXPECT_THAT(c.status(), IsOk());
    if (c.ok()) {
      EXPECT_THAT(c->Set("k", "v"), IsOk());
    }
    return c.ok() ? c->name() : std::string();
  };
  std::string a = child_of("a");
  absl::StatusOr<bool> erased = parent().erase("a");
  ASSERT_THAT(erased.status(), IsOk());
  EXPECT_TRUE(*erased);
  EXPECT_FALSE(Exists(a));

  std::string b = child_of("b");
  ASSERT_THAT(parent().Set("b", 5), IsOk());
  EXPECT_FALSE(Exists(b));
  EXPECT_EQ(parent().Find("b"), 5);

  std::string c = child_of("c");
  parent()["c"] = 1;
  EXPECT_FALSE(Exists(c));

  std::string d = child_of("d");
  ASSERT_THAT(parent().Transact([](Counters::Txn& txn) {
    txn.Set("d", 9);
    return absl::OkStatus();
  }),
              IsOk());
  EXPECT_FALSE(Exists(d));

  std::string e = child_of("e");
  std::string f = child_of("f");
  ASSERT_THAT(parent().clear(), IsOk());
  EXPECT_FALSE(Exists(e));
  EXPECT_FALSE(Exists(f));

  // A transaction that fails keeps the child.
  std::string g = child_of("g");
  EXPECT_FALSE(parent()
                   .Transact([](Counters::Txn& txn) {
                     txn.Erase("g");
                     return absl::AbortedError("no");
                   })
                   .ok());
  EXPECT_TRUE(Exists(g));
}

TEST_F(NestedTest, DestroyRemovesEverythingRecursively) {
  {
    absl::StatusOr<Counters> a = parent().Nested<std::string, int64_t>("a");
    ASSERT_THAT(a.status(), IsOk());
    absl::StatusOr<Users> b = a->Nested<std::string, std::string>("b");
    ASSERT_THAT(b.status(), IsOk());
    ASSERT_THAT(b->Set("x", "y"), IsOk());
    absl::StatusOr<Dict<int64_t, double>> c = b->Nested<int64_t, double>("c");
    ASSERT_THAT(c.status(), IsOk());
    EXPECT_EQ(c->depth(), 3);
    ASSERT_THAT(c->Set(-1, 0.5), IsOk());
    ASSERT_THAT((parent().Nested<int32_t, int32_t>("sibling").status()),
                IsOk());
  }
  EXPECT_GE(testing::LeftoverFiles(name_).size(), 5u);
  ASSERT_THAT(parent().Destroy(), IsOk());
  EXPECT_EQ(parent().db(), nullptr);
  EXPECT_EQ(testing::LeftoverFiles(name_), std::vector<std::string>());
}

TEST_F(NestedTest, DepthAndNameLimits) {
  // A parent with a name near the limit: children names stay valid.
  const std::string long_name =
      name_ + std::string(kMaxNameLength - name_.size(), 'x');
  struct Cleanup {
    std::string name;
    ~Cleanup() { dict_internal::DestroyTree(Options(), name, 0).IgnoreError(); }
  } cleanup{long_name};
  absl::StatusOr<Counters> root = Counters::Open(Options(), long_name);
  ASSERT_THAT(root.status(), IsOk());
  std::vector<Counters> chain;
  chain.push_back(std::move(*root));
  for (int depth = 1; depth <= kMaxNestingDepth; depth++) {
    absl::StatusOr<Counters> next =
        chain.back().Nested<std::string, int64_t>("next");
    ASSERT_THAT(next.status(), IsOk()) << depth;
    EXPECT_LE(next->name().size(), kMaxNameLength);
    EXPECT_EQ(next->depth(), depth);
    next->Set("depth", depth).IgnoreError();
    chain.push_back(std::move(*next));
  }
  absl::Status s = chain.back().Nested<std::string, int64_t>("next").status();
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  // Reopening the chain from the root finds the same data.
  {
    absl::StatusOr<Counters> c = chain[0].Nested<std::string, int64_t>("next");
    ASSERT_THAT(c.status(), IsOk());
    absl::StatusOr<Counters> c2 = c->Nested<std::string, int64_t>("next");
    ASSERT_THAT(c2.status(), IsOk());
    EXPECT_EQ(c2->Find("depth"), 2);
  }
  EXPECT_THAT(chain[0].Destroy(), IsOk());
  EXPECT_EQ(testing::LeftoverFiles(name_ + "x"), std::vector<std::string>());
}

TEST_F(NestedTest, ForgedReferenceIsNotFollowed) {
  const std::string victim = UniqueName("victim");
  testing::ScopedDestroy destroy(victim);
  ASSERT_THAT(DB::Open(Options(), victim).status(), IsOk());
  dict_internal::NestedRef ref;
  ref.key_tag = 's';
  ref.value_tag = 's';
  ref.name = victim;
  ASSERT_THAT(parent().db()->Put("evil", dict_internal::EncodeRef(ref)),
              IsOk());
  EXPECT_TRUE(absl::IsDataLoss(
      parent().Nested<std::string, std::string>("evil").status()));
  ASSERT_THAT(parent().erase("evil").status(), IsOk());
  ASSERT_THAT(parent().Destroy(), IsOk());
  EXPECT_TRUE(Exists(victim));
}

TEST(NestedOptionsTest, ChildrenFollowTheParentsOptions) {
  char dir_template[] = "/tmp/ud_dict_XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  Options options;
  options.directory = dir_template;
  options.compression = Compression::kZstdCompression;
  options.mode = 0640;
  const std::string name = UniqueName("opts");
  {
    absl::StatusOr<Counters> d = Counters::Open(options, name);
    ASSERT_THAT(d.status(), IsOk());
    absl::StatusOr<Users> child = d->Nested<std::string, std::string>("c");
    ASSERT_THAT(child.status(), IsOk());
    ASSERT_THAT(child->Set("big", std::string(10000, 'z')), IsOk());
    EXPECT_EQ(child->options().directory, dir_template);
    std::string compression;
    ASSERT_TRUE(
        child->db()->GetProperty("ultradict.compression", &compression));
    EXPECT_EQ(compression, "zstd");
    absl::StatusOr<std::vector<std::string>> names = ListDBs(options);
    ASSERT_THAT(names.status(), IsOk());
    EXPECT_EQ(names->size(), 2u);
    EXPECT_TRUE(ListDBs().ok());
    EXPECT_FALSE(Exists(child->name()));  // Not in /dev/shm.
    EXPECT_THAT(d->Destroy(), IsOk());
    names = ListDBs(options);
    ASSERT_THAT(names.status(), IsOk());
    EXPECT_TRUE(names->empty());
  }
  dict_internal::DestroyTree(options, name, 0).IgnoreError();
  EXPECT_EQ(rmdir(dir_template), 0) << "segments left in " << dir_template;
}

// Runs fn in a forked process; returns its exit code (0 when fn is true).
template <typename Fn>
int InChild(Fn fn) {
  const pid_t pid = fork();
  if (pid == 0) _exit(fn() ? 0 : 1);
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST_F(NestedTest, CreatedInOneProcessUsedAndRemovedInAnother) {
  // Process 1 creates the child and writes into it.
  ASSERT_EQ(InChild([&] {
              auto d = Counters::Open(Options(), name_);
              if (!d.ok()) return false;
              auto users = d->Nested<std::string, std::string>("users");
              if (!users.ok()) return false;
              return users->Set("alice", "from-child").ok();
            }),
            0);
  // This process reaches it through the parent.
  std::string child;
  {
    absl::StatusOr<Users> users =
        parent().Nested<std::string, std::string>("users");
    ASSERT_THAT(users.status(), IsOk());
    EXPECT_EQ(users->Find("alice"), "from-child");
    ASSERT_THAT(users->Set("bob", "from-parent"), IsOk());
    child = users->name();
  }
  // Process 2 reads it and removes it.
  ASSERT_EQ(InChild([&] {
              auto d = Counters::Open(Options(), name_);
              if (!d.ok()) return false;
              {
                auto users = d->Nested<std::string, std::string>("users");
                if (!users.ok() || users->Find("bob") != "from-parent") {
                  return false;
                }
              }
              return d->EraseNested("users").ok();
            }),
            0);
  EXPECT_FALSE(parent().contains("users"));
  EXPECT_FALSE(Exists(child));
  EXPECT_EQ(testing::LeftoverFiles(child), std::vector<std::string>());
  // Only the parent's own segments are left.
  for (const std::string& f : testing::LeftoverFiles(name_)) {
    EXPECT_EQ(f.find(child), std::string::npos) << f;
  }
}

TEST_F(NestedTest, RacingProcessesAgreeOnTheChild) {
  constexpr int kProcs = 4;
  std::vector<pid_t> pids;
  for (int p = 0; p < kProcs; p++) {
    const pid_t pid = fork();
    if (pid == 0) {
      auto d = Counters::Open(Options(), name_);
      if (!d.ok()) _exit(1);
      for (int i = 0; i < 50; i++) {
        auto shared = d->Nested<std::string, int64_t>("shared");
        if (!shared.ok()) _exit(2);
        if (!(*shared)["hits"].operator+=(1).status().ok()) _exit(3);
      }
      _exit(0);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  absl::StatusOr<Counters> shared =
      parent().Nested<std::string, int64_t>("shared");
  ASSERT_THAT(shared.status(), IsOk());
  EXPECT_EQ(shared->Find("hits"), kProcs * 50);
  EXPECT_EQ(parent().size(), 1);
}

}  // namespace
}  // namespace ultradict
