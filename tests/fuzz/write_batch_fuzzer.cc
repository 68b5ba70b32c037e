// write_batch_fuzzer.cc: WriteBatch decoding from untrusted bytes
// (WriteBatchInternal::Count, ::Iterate and ::ForEachEntry). A batch that
// decodes must re-encode (WriteBatch::Put/Delete) to one that decodes to
// the same updates, and each entry must decode again from its start (as
// the log index does).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "db/write_batch_internal.h"
#include "ultradict/write_batch.h"

namespace {

struct Op {
  bool put;
  std::string key, value;
  bool operator==(const Op& o) const {
    return put == o.put && key == o.key && value == o.value;
  }
};

class Collector : public ultradict::WriteBatch::Handler {
 public:
  void Put(std::string_view key, std::string_view value) override {
    ops.push_back(Op{true, std::string(key), std::string(value)});
  }
  void Delete(std::string_view key) override {
    ops.push_back(Op{false, std::string(key), ""});
  }
  std::vector<Op> ops;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ultradict;
  const std::string_view rep(reinterpret_cast<const char*>(data), size);
  WriteBatchInternal::Count(rep);
  Collector decoded;
  if (!WriteBatchInternal::Iterate(rep, &decoded).ok()) return 0;
  size_t n = 0;
  const absl::Status each = WriteBatchInternal::ForEachEntry(
      rep, [&](const WriteBatchInternal::Entry& e) {
        std::string_view rest(e.start, rep.data() + rep.size() - e.start);
        WriteBatchInternal::Entry again;
        if (n >= decoded.ops.size() ||
            !WriteBatchInternal::DecodeEntry(&rest, &again) ||
            again.key != e.key || again.value != e.value ||
            again.deleted != e.deleted || e.deleted == decoded.ops[n].put ||
            e.key != decoded.ops[n].key) {
          std::abort();  // The entry does not decode again from its start.
        }
        n++;
      });
  if (!each.ok() || n != decoded.ops.size()) std::abort();
  WriteBatch again;
  for (const Op& op : decoded.ops) {
    if (op.put) {
      again.Put(op.key, op.value);
    } else {
      again.Delete(op.key);
    }
  }
  Collector redecoded;
  if (!again.Iterate(&redecoded).ok() || !(redecoded.ops == decoded.ops) ||
      again.Count() != decoded.ops.size()) {
    std::abort();  // Encoding and decoding disagree.
  }
  return 0;
}
