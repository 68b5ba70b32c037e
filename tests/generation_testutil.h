// generation_testutil.h: building generations in a test without a DB: a
// generation of given contents (snapshot + empty log) under a temporary
// directory, and records appended to its log.

#ifndef ULTRADICT_TESTS_GENERATION_TESTUTIL_H_
#define ULTRADICT_TESTS_GENERATION_TESTUTIL_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "db/generation.h"
#include "ultradict/write_batch.h"

namespace ultradict {
namespace testing {

// A key's update: a value to put, or nullopt to delete it.
using Update = std::pair<std::string, std::optional<std::string>>;

// Generation files in a fresh directory under the test's temporary one
// (removed with the fixture); initial_log_size 4096 unless given.
class GenerationFixture {
 public:
  explicit GenerationFixture(size_t initial_log_size = 4096);
  ~GenerationFixture();

  const GenerationFiles& files() const { return files_; }

  // Generation `from.gen + 1` whose snapshot is `from`'s state with
  // `updates` applied and whose log is empty, under its final file names.
  std::shared_ptr<Generation> Next(const Generation& from,
                                   const std::vector<Update>& updates);
  // Generation 1 holding `contents`.
  std::shared_ptr<Generation> Make(
      const std::map<std::string, std::string>& contents);

  // Appends one record holding `batch` to g's log at g's end of records
  // (`*end`, advanced past it), without indexing it; zstd-compressed when
  // `compress` and that makes it smaller (log::AppendRecord).
  static void Append(Generation* g, const WriteBatch& batch, uint32_t* end,
                     bool compress = false);

 private:
  GenerationFiles files_;
};

}  // namespace testing
}  // namespace ultradict

#endif  // ULTRADICT_TESTS_GENERATION_TESTUTIL_H_
