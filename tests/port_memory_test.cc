// port_memory_test.cc: port::PrefaultPages touches exactly the pages of its
// range (guard pages on both sides fault if it reads past it), and
// port::AdviseHugePages leaves the memory usable.

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <vector>

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

}  // namespace
}  // namespace port
}  // namespace ultradict
