// port_memory_test.cc: port::PrefaultPages touches exactly the pages of its
// range (guard pages on both sides fault if it reads past it),
// port::AdviseHugePages leaves the memory usable, and a segment's mapping
// (2 MiB-aligned when it is that large) leaves nothing mapped behind.

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "port/port.h"

namespace ultradict {
namespace port {
namespace {

class GuardedPages {
 public:
  // `pages` readable pages between two that fault when touched.
  explicit GuardedPages(size_t pages) : page_(sysconf(_SC_PAGESIZE)) {
    size_ = (pages + 2) * page_;
    void* p = mmap(nullptr, size_, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    base_ = p == MAP_FAILED ? nullptr : static_cast<char*>(p);
    if (base_ == nullptr) return;
    mprotect(base_, page_, PROT_NONE);
    mprotect(base_ + size_ - page_, page_, PROT_NONE);
  }
  ~GuardedPages() {
    if (base_ != nullptr) munmap(base_, size_);
  }
  char* begin() const { return base_ + page_; }
  char* end() const { return base_ + size_ - page_; }
  size_t page() const { return page_; }

 private:
  size_t page_;
  size_t size_ = 0;
  char* base_ = nullptr;
};

TEST(PrefaultPagesTest, TouchesOnlyItsRange) {
  GuardedPages pages(3);
  ASSERT_NE(pages.begin(), nullptr);
  // The whole range, ranges that start and end inside pages, one byte at
  // either edge, and nothing: a byte read past either end would fault.
  PrefaultPages(pages.begin(), pages.end() - pages.begin());
  PrefaultPages(pages.begin() + 1, pages.end() - pages.begin() - 2);
  PrefaultPages(pages.begin() + 100, pages.page());
  PrefaultPages(pages.end() - 1, 1);
  PrefaultPages(pages.begin(), 1);
  PrefaultPages(pages.end(), 0);
  PrefaultPages(pages.begin() - 1, 0);
  // The bytes are unchanged.
  for (const char* p = pages.begin(); p < pages.end(); p++) ASSERT_EQ(*p, 0);
}

TEST(AdviseHugePagesTest, MemoryStaysUsable) {
  std::vector<char> small(100, 'x');
  AdviseHugePages(small.data(), small.size());  // Below the minimum.
  std::vector<char> large(size_t{9} << 20);
  AdviseHugePages(large.data() + 3, large.size() - 5);  // Unaligned.
  std::memset(large.data(), 'y', large.size());
  EXPECT_EQ(large[large.size() / 2], 'y');
  EXPECT_EQ(small[50], 'x');
}

// Whether the page at p is mapped in this process (msync says ENOMEM for
// an address no mapping covers).
bool Mapped(const char* p) {
  return msync(const_cast<char*>(p), 1, MS_ASYNC) == 0 || errno != ENOMEM;
}

// A segment of 2 MiB or more is mapped inside a larger reservation whose
// slack is unmapped; for a size that is no multiple of the page size (a
// snapshot's) the slack after it must go too, or every generation a
// process maps would leave a mapping behind (vm.max_map_count).
TEST(SegmentMappingTest, OddSizedSegmentsLeaveNoMappingBehind) {
  const std::string dir = SegmentDirectory("");
  const size_t huge = kHugePageSize;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  for (const size_t size : {huge + 8, 3 * huge + 4096 + 24, huge, huge - 8}) {
    const std::string path =
        absl::StrCat(dir, "/port-memory-test-", getpid(), "-", size);
    auto created = Segment::Create(path, size, 0600);
    ASSERT_TRUE(created.ok()) << created.status();
    created->data()[size - 1] = 'x';
    auto opened = Segment::Open(path, false, /*writable=*/true);
    unlink(path.c_str());
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(opened->data()[size - 1], 'x');
    for (const Segment* segment : {&*created, &*opened}) {
      const char* end = segment->data() + (size + page - 1) / page * page;
      EXPECT_TRUE(Mapped(end - 1)) << "size " << size;
      if (size < huge)
        continue;  // Mapped as it is: its neighbours are others'.
      // The reservation was 2 MiB larger and its slack after the mapping at
      // least a page: that page must be free again.
      EXPECT_FALSE(Mapped(end)) << "size " << size << ": the page after the "
                                << "mapping is mapped (reservation slack left)";
      EXPECT_EQ(reinterpret_cast<uintptr_t>(segment->data()) % huge, 0u);
    }
  }
}

}  // namespace
}  // namespace port
}  // namespace ultradict
