// inspect.h: the segment inspector behind `ultradict dump` and `ultradict
// verify`. It reads segment files directly, mapped read-only, and never
// opens the dictionary: no write lock, no member slot, nothing created or
// changed, so it works on a live dictionary, on a wedged one and on copies.
//
//   tool::Inspection result;
//   absl::Status s = tool::InspectDictionary(dir, "sessions", opts, &result);
//   if (!s.ok()) ...                       // Nothing to inspect (missing...).
//   std::cout << result.Text();            // Every field, record and entry.
//   if (result.problems() > 0) ...         // Damage found (named in Text).
//
// Checks: control header (magic, version, size, checksum, values), state,
// head within the log's capacity; log header and every record below the
// head (checksum, bounds, decompression, write batch decoding); snapshot
// header, body checksum, every entry (checksum, bounds, decompression),
// keys strictly increasing, every entry found through the hash index.
// Counters (entries, sequence...) are shown, not checked: without the
// write lock they may move while we read.
//
// Thread-compatible: an Inspection is used by one thread.

#ifndef ULTRADICT_TOOLS_INSPECT_H_
#define ULTRADICT_TOOLS_INSPECT_H_

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "tools/report.h"

namespace ultradict {
namespace tool {

struct InspectOptions {
  // Record every log record and snapshot entry in the report (dump). When
  // false only headers and damage are kept (verify; constant memory per
  // segment).
  bool items = true;
};

// The findings about one or more segments.
class Inspection {
 public:
  // Damage messages found, each naming its segment and offset.
  size_t problems() const { return problems_; }
  const std::vector<std::unique_ptr<Node>>& segments() const {
    return segments_;
  }

  // A new segment section of the report.
  Node& AddSegment(const std::string& path, const std::string& type);
  // Records damage in `segment` (a node made by AddSegment).
  void AddDamage(Node& segment, std::string message);

  // Every segment, field by field, then a summary line.
  std::string Text() const;
  // {"segments": [...], "problems": N, "ok": bool}
  std::string Json() const;
  // One line per segment ("ok PATH" or "DAMAGED PATH") and each damage
  // message below it, then a summary line.
  std::string VerifyText() const;

 private:
  std::vector<std::unique_ptr<Node>> segments_;
  size_t problems_ = 0;
};

// Inspects one segment file of any kind (control, log or snapshot, told
// apart by their magic). A log is read from its first record while records
// parse: without the control segment its head is unknown, so a record that
// does not parse ends it when only zero bytes follow and is damage when
// other bytes follow.
// Errors (nothing added to *result): NotFound (no such file),
// InvalidArgument (not a regular file), DataLoss (empty, or not an
// UltraDict segment: unknown magic), others from the OS.
absl::Status InspectSegmentFile(const std::string& path,
                                const InspectOptions& options,
                                Inspection* result);

// Inspects the dictionary `name` in `dir`: its control segment, then the
// snapshot and the log of the generation its head names (the log up to the
// head offset). Damage is reported in *result.
// Errors (then *result is incomplete and must not be shown):
// InvalidArgument (bad name), NotFound (no control segment), Unavailable
// (compactions kept retiring the generation being opened), others from the
// OS.
absl::Status InspectDictionary(const std::string& dir, const std::string& name,
                               const InspectOptions& options,
                               Inspection* result);

}  // namespace tool
}  // namespace ultradict

#endif  // ULTRADICT_TOOLS_INSPECT_H_
