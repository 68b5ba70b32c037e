// inspect.cc: see inspect.h. All parsing goes through the engine's bounded
// readers (control::Block::Validate, log::ParseHeader/ReadRecord/
// RecordBatch, snapshot::Reader, WriteBatchInternal::Iterate); this file
// only walks them and reports what they say.

#include "tools/inspect.h"

#include <algorithm>
#include <map>
#include <optional>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "db/control_block.h"
#include "db/filename.h"
#include "db/log_format.h"
#include "db/log_index.h"
#include "db/log_reader.h"
#include "db/log_run.h"
#include "db/log_run_format.h"
#include "db/snapshot_format.h"
#include "db/snapshot_reader.h"
#include "db/write_batch_internal.h"
#include "nlohmann/json.hpp"
#include "port/port.h"
#include "util/checksum.h"
#include "util/coding.h"
#include "util/strings.h"

namespace ultradict {
namespace tool {

namespace {

// Bytes of the control segment that hold header fields, the head and the
// counters (up to the waiters word, which ends before the compaction mutex).
constexpr size_t kControlFieldsEnd = control::kCompactionMutexOffset;
// Retries when a compaction retires the generation we are about to read.
constexpr int kHeadRetries = 100;

std::string Hex(uint64_t v) { return absl::StrCat("0x", absl::Hex(v)); }

std::string MagicText(const char* data) {
  return EscapeBytes(std::string_view(data, 8));
}

// Opens a segment file read-only through the port's checked open: no
// symbolic link is followed, a FIFO does not block, and what is not a
// regular file is refused (InvalidArgument) before a byte is read.
absl::Status OpenSegment(const std::string& path, port::Segment* segment) {
  absl::StatusOr<port::Segment> opened =
      port::Segment::Open(path, /*allow_other_owner=*/true, /*writable=*/false);
  if (absl::IsNotFound(opened.status())) {
    return absl::NotFoundError(absl::StrCat(path, ": no such file"));
  }
  if (!opened.ok()) return opened.status();
  *segment = std::move(*opened);
  return absl::OkStatus();
}

// Collects the operations of a write batch for the report.
class OpLister : public WriteBatch::Handler {
 public:
  explicit OpLister(Node* record) : record_(record) {}
  void Put(std::string_view key, std::string_view value) override {
    count_++;
    if (record_ == nullptr) return;
    Node& op = record_->Add("operations", "put");
    op.Str("key", EscapeBytes(key));
    op.Num("value_length", value.size());
  }
  void Delete(std::string_view key) override {
    count_++;
    if (record_ == nullptr) return;
    Node& op = record_->Add("operations", "del");
    op.Str("key", EscapeBytes(key));
  }
  uint64_t count() const { return count_; }

 private:
  Node* record_;
  uint64_t count_ = 0;
};

// The control segment. Returns true when its header is valid (so its head
// can be followed).
// `dictionary`: the name it was found by ("" for a file given alone).
bool InspectControl(const port::Segment& seg, Inspection* result, Node& node,
                    std::string_view dictionary) {
  const char* base = seg.data();
  node.Num("size", seg.size());
  absl::Status valid =
      control::Block::Validate(base, seg.size(), seg.path(), dictionary);
  if (seg.size() >= kControlFieldsEnd) {
    control::Block block(seg.data());
    node.Str("magic", MagicText(base));
    node.Num("version", DecodeFixed32(base + 8));
    node.Num("segment_size", DecodeFixed32(base + 12));
    node.Str("compression", static_cast<uint8_t>(base[16]) == 0   ? "none"
                            : static_cast<uint8_t>(base[16]) == 1 ? "zstd"
                                                                  : "unknown");
    node.Str("lifetime", control::LifetimeName(block.lifetime()));
    node.Num("compression_threshold", block.compression_threshold());
    node.Num("initial_log_size", block.initial_log_size());
    node.Str("creator_token", Hex(block.creator_token()));
    if (DecodeFixed32(base + 8) == control::kVersion &&
        seg.size() >= control::kIdentityEnd) {
      // The file key is a secret (it names the generation files): not shown.
      node.Str("name", EscapeBytes(block.name()));
    }
    node.Str("header", valid.ok() ? "ok" : "BAD");
    if (DecodeFixed32(base + 8) != control::kVersion) {
      // Another version's live fields lie elsewhere: not shown.
      result->AddDamage(node, std::string(valid.message()));
      return false;
    }
    const uint32_t state = block.state().load(std::memory_order_acquire);
    node.Str("state", state == control::kStateReady       ? "ready"
                      : state == control::kStateDestroyed ? "destroyed"
                                                          : absl::StrCat(state));
    const uint64_t head = block.head().load(std::memory_order_acquire);
    node.Str("head", Hex(head));
    node.Num("head_generation", control::HeadGeneration(head));
    node.Num("head_offset", control::HeadOffset(head));
    node.Num("change", block.change().load(std::memory_order_relaxed));
    node.Num("sequence", block.sequence().load(std::memory_order_relaxed));
    node.Num("entries", block.entries().load(std::memory_order_relaxed));
    node.Num("compactions", block.compactions().load(std::memory_order_relaxed));
    node.Num("puts", block.puts().load(std::memory_order_relaxed));
    node.Num("deletes", block.deletes().load(std::memory_order_relaxed));
    node.Num("recoveries", block.recoveries().load(std::memory_order_relaxed));
    if (valid.ok()) {
      if (state != control::kStateReady) {
        result->AddDamage(
            node, absl::StrCat(seg.path(), ": state ", state, " at offset ",
                               control::kStateOffset, " (not ready)"));
      }
      uint64_t members = 0;
      for (uint32_t i = 0; i < control::kMaxMembers; i++) {
        const uint32_t token = block.member_token(i).load(std::memory_order_acquire);
        if (token == 0) continue;
        members++;
        Node& m = node.Add("members", "member");
        m.Num("slot", i);
        m.Num("pid", block.member_pid(i).load(std::memory_order_relaxed));
        m.Str("token", Hex(token));
        // Liveness locks belong to the original file: a copy has none.
        m.Bool("live", port::IsByteLockedByOther(
                           seg.fd(), control::kMemberLockBase + i));
      }
      node.Num("member_slots_used", members);
    }
  }
  if (!valid.ok()) result->AddDamage(node, std::string(valid.message()));
  return valid.ok();
}

// The newest entry of each key among the records [0, end) of a log, as
// far as they parse (damage is reported with the records).
std::map<std::string, std::optional<std::string>> NewestEntries(
    const port::Segment& seg, uint32_t end) {
  std::map<std::string, std::optional<std::string>> newest;
  const char* records = seg.data() + log::kHeaderSize;
  for (size_t offset = 0; offset < end;) {
    log::Record record;
    std::string scratch;
    std::string_view batch;
    if (!log::ReadRecord(records, end, offset, seg.path(), &record).ok() ||
        !log::RecordBatch(record, &scratch, &batch).ok()) {
      break;
    }
    WriteBatchInternal::ForEachEntry(batch, [&](const auto& e) {
      newest[std::string(e.key)] =
          e.deleted ? std::nullopt
                    : std::optional<std::string>(std::string(e.value));
    }).IgnoreError();
    offset += record.size;
  }
  return newest;
}

// The sorted runs of a log segment (db/log_run_format.h): the newest one
// usable at head offset `end` is checked whole (header, checksum) and
// against the records: exactly the newest entry of each key below its
// end, in key order.
void InspectLogRuns(const port::Segment& seg, const log::Header& header,
                    const LogIndex& index, size_t runs_at, uint32_t end,
                    Inspection* result, Node& node) {
  LogRuns runs;
  char* base = const_cast<char*>(seg.data());
  absl::Status s = runs.Open(base + runs_at, seg.size() - runs_at, runs_at,
                             header.node_capacity, seg.path());
  LogRuns::Run run;
  bool found = false;
  if (s.ok()) s = runs.Newest(end, &run, &found);
  if (!s.ok()) {
    node.Str("run", "BAD");
    result->AddDamage(node, std::string(s.message()));
    return;
  }
  if (!found) {
    node.Str("run", "none");
    return;
  }
  node.Num("run_end", run.end);
  node.Num("run_keys", run.count);
  const auto newest = NewestEntries(seg, run.end);
  auto expected = newest.begin();
  std::string previous;
  std::string problem;
  for (uint32_t i = 0; i < run.count && problem.empty(); i++, ++expected) {
    LogIndex::Entry e;
    if (!index.EntryAt(run.location(i), run.check(i), run.end, &e)) {
      problem = absl::StrCat("entry ", i, " does not decode");
    } else if (i > 0 && std::string_view(previous) >= e.key) {
      problem = absl::StrCat("entry ", i, " is out of order");
    } else if (expected == newest.end() || expected->first != e.key ||
               expected->second.has_value() == e.deleted ||
               (!e.deleted && *expected->second != e.value)) {
      problem =
          absl::StrCat("entry ", i, " is not the newest entry of the next key");
    }
    if (problem.empty()) previous = std::string(e.key);
  }
  if (problem.empty() && expected != newest.end()) {
    problem = absl::StrCat("it lists ", run.count, " keys of ", newest.size());
  }
  if (!problem.empty()) {
    result->AddDamage(node,
                      absl::StrCat(seg.path(), ": the sorted run at offset ",
                                   run.file_offset, ": ", problem));
  }
  node.Str("run", problem.empty() ? "ok" : "BAD");
}

// The shared index of a log segment (db/log_index_format.h): its shape,
// and that it finds, for every key, the newest entry of the records below
// the head (or below the index's own progress when the head is unknown).
void InspectLogIndex(const port::Segment& seg, const log::Header& header,
                     std::optional<uint32_t> head, Inspection* result,
                     Node& node) {
  const size_t index_at =
      log::IndexOffset(log::kHeaderSize, header.record_capacity);
  LogIndex index;
  LogIndex::Shape shape;
  shape.node_capacity = header.node_capacity;
  shape.first_bits = header.first_slot_bits;
  shape.max_bits = header.max_slot_bits;
  char* base = const_cast<char*>(seg.data());
  const size_t index_size =
      log::IndexSize(shape.node_capacity, shape.first_bits, shape.max_bits);
  absl::Status s = index.Open(
      base + index_at, index_size, base + log::kHeaderSize,
      static_cast<uint32_t>(header.record_capacity), shape, seg.path());
  if (!s.ok()) {
    node.Str("index", "BAD");
    result->AddDamage(node, std::string(s.message()));
    return;
  }
  uint32_t progress, progress_records;
  index.Progress(&progress, &progress_records);
  node.Num("index_keys", index.keys());
  node.Num("index_nodes", index.nodes_used());
  node.Num("index_node_capacity", index.node_capacity());
  node.Num("index_table_slots", uint64_t{1} << index.table_bits());
  node.Num("index_progress", progress);
  const uint32_t end = head.has_value() ? *head : progress;
  if (end > header.record_capacity) return;  // Reported with the records.
  // The newest value of each key, from the records themselves.
  const auto newest = NewestEntries(seg, end);
  uint64_t wrong = 0;
  for (const auto& [key, value] : newest) {
    std::string scratch;
    LogIndex::Entry entry;
    uint32_t damaged_at = 0;
    const LogIndex::Found found = index.Find(key, Hash64(key), end, &scratch,
                                             &entry, &damaged_at);
    const bool right =
        found == LogIndex::Found::kYes && entry.deleted == !value.has_value() &&
        (!value.has_value() || entry.value == *value);
    if (right) continue;
    if (wrong++ == 0) {
      result->AddDamage(
          node, absl::StrCat(seg.path(), ": the index does not find the newest "
                                         "entry of a key written in the log",
                             found == LogIndex::Found::kDamaged
                                 ? absl::StrCat(" (damage at offset ",
                                                damaged_at, ")")
                                 : std::string()));
    }
  }
  node.Num("index_keys_checked", newest.size());
  node.Str("index", wrong == 0 ? "ok" : "BAD");
  InspectLogRuns(seg, header, index, log::RunAreaOffset(index_at, index_size),
                 end, result, node);
}

// Records of a log segment. `head`: committed record bytes when known
// (from the control segment); without it records are read while they parse.
void InspectLog(const port::Segment& seg, std::optional<uint32_t> head,
                const InspectOptions& options, Inspection* result, Node& node) {
  node.Num("size", seg.size());
  log::Header header;
  absl::Status s = log::ParseHeader(seg.data(), seg.size(), seg.path(), &header);
  if (!s.ok()) {
    if (seg.size() >= log::kHeaderSize) node.Str("magic", MagicText(seg.data()));
    node.Str("header", "BAD");
    result->AddDamage(node, std::string(s.message()));
    return;
  }
  node.Str("magic", MagicText(seg.data()));
  node.Num("version", DecodeFixed32(seg.data() + 8));
  node.Str("header", "ok");
  node.Num("generation", header.generation);
  node.Num("capacity", header.capacity);
  node.Num("base_sequence", header.base_sequence);
  const char* records = seg.data() + log::kHeaderSize;
  const size_t capacity = header.record_capacity;
  size_t limit = capacity;
  if (head.has_value()) {
    node.Num("head_offset", *head);
    if (*head > capacity) {
      result->AddDamage(node, absl::StrCat(seg.path(), ": head offset ", *head,
                                           " past the log's capacity ",
                                           capacity));
    } else {
      limit = *head;
    }
  } else {
    node.Missing("head_offset", "unknown (single segment)");
  }
  uint64_t count = 0, ops = 0;
  size_t offset = 0;
  bool previous_bad = false;
  while (offset < limit) {
    const size_t file_offset = log::kHeaderSize + offset;
    log::Record record;
    s = log::ReadRecord(records, limit, offset, seg.path(), &record);
    if (!s.ok() && !head.has_value()) {
      // The end of the records, or damage? Only zeros follow a clean end.
      bool zeros = true;
      for (size_t i = offset; i < limit && zeros; i++) zeros = records[i] == 0;
      if (!zeros) {
        result->AddDamage(
            node, absl::StrCat(s.message(),
                               "; non-zero bytes follow: damage, or an "
                               "unfinished write past the head (verify the "
                               "dictionary by name to tell)"));
      }
      break;
    }
    Node* item = options.items ? &node.Add("records", "record") : nullptr;
    if (item != nullptr) item->Num("offset", file_offset);
    if (!s.ok()) {
      result->AddDamage(node, std::string(s.message()));
      if (item != nullptr) item->Str("checksum", "BAD");
      // Skip it by its length field when that stays in bounds, to check
      // the records after it; give up after two bad records in a row.
      if (previous_bad || limit - offset < log::kRecordHeaderSize) break;
      const uint64_t length = DecodeFixed32(records + offset + 4);
      if (length > limit - offset - log::kRecordHeaderSize) break;
      offset += log::kRecordHeaderSize + length;
      previous_bad = true;
      count++;
      continue;
    }
    previous_bad = false;
    count++;
    const bool compressed = (record.type & log::kCompressedFlag) != 0;
    if (item != nullptr) {
      item->Num("size", record.size);
      item->Str("type", "batch");
      item->Bool("compressed", compressed);
      item->Str("checksum", "ok");
    }
    std::string scratch;
    std::string_view batch;
    s = log::RecordBatch(record, &scratch, &batch);
    OpLister lister(item);
    if (s.ok()) s = WriteBatchInternal::Iterate(batch, &lister);
    ops += lister.count();
    if (item != nullptr) item->Num("ops", lister.count());
    if (!s.ok()) {
      if (item != nullptr) item->Str("batch", "BAD");
      result->AddDamage(node, absl::StrCat(seg.path(), ": ", s.message(),
                                           " at offset ", file_offset));
    }
    offset += record.size;
  }
  node.Num("records_checked", count);
  node.Num("ops", ops);
  InspectLogIndex(seg, header, head, result, node);
}

void InspectSnapshot(const port::Segment& seg, const InspectOptions& options,
                     Inspection* result, Node& node) {
  node.Num("size", seg.size());
  snapshot::Reader reader;
  absl::Status s = reader.Open(seg.data(), seg.size(), seg.path());
  if (!s.ok()) {
    if (seg.size() >= snapshot::kHeaderSize) {
      node.Str("magic", MagicText(seg.data()));
    }
    node.Str("header", "BAD");
    result->AddDamage(node, std::string(s.message()));
    return;
  }
  node.Str("magic", MagicText(seg.data()));
  node.Num("version", DecodeFixed32(seg.data() + 8));
  node.Str("header", "ok");
  node.Num("generation", reader.generation());
  node.Num("entry_count", reader.count());
  node.Num("data_size", reader.data_size());
  node.Num("index_slots", DecodeFixed64(seg.data() + 64));
  s = reader.VerifyBody();
  node.Str("body_checksum", s.ok() ? "ok" : "BAD");
  if (!s.ok()) result->AddDamage(node, std::string(s.message()));

  std::string previous;
  bool have_previous = false;
  for (uint64_t i = 0; i < reader.count(); i++) {
    Node* item = options.items ? &node.Add("entries", "entry") : nullptr;
    if (item != nullptr) item->Num("index", i);
    snapshot::Entry entry;
    s = reader.EntryAt(i, &entry);
    if (!s.ok()) {
      if (item != nullptr) item->Str("checksum", "BAD");
      result->AddDamage(node, absl::StrCat(s.message(), " (entry ", i, ")"));
      have_previous = false;
      continue;
    }
    if (item != nullptr) {
      item->Str("key", EscapeBytes(entry.key));
      item->Num("value_length", entry.value.size());
      item->Bool("compressed", entry.compressed);
      item->Str("checksum", "ok");
    }
    if (entry.compressed) {
      std::string scratch;
      std::string_view value;
      s = snapshot::EntryValue(entry, &scratch, &value);
      if (!s.ok()) {
        result->AddDamage(node, absl::StrCat(seg.path(), ": entry ", i, ": ",
                                             s.message()));
      } else if (item != nullptr) {
        item->Num("plain_length", value.size());
      }
    }
    if (have_previous && !(previous < entry.key)) {
      result->AddDamage(node, absl::StrCat(seg.path(), ": entry ", i, " (key ",
                                           EscapeBytes(entry.key),
                                           ") is not after the entry before it"));
    }
    snapshot::Entry found;
    s = reader.Find(entry.key, &found);
    if (!s.ok() || found.key.data() != entry.key.data()) {
      result->AddDamage(
          node, absl::StrCat(seg.path(), ": entry ", i, " (key ",
                             EscapeBytes(entry.key),
                             ") is not found through the hash index",
                             s.ok() || absl::IsNotFound(s)
                                 ? std::string()
                                 : absl::StrCat(": ", s.message())));
    }
    previous.assign(entry.key.data(), entry.key.size());
    have_previous = true;
  }
}

enum class Kind { kControl, kLog, kSnapshot };

absl::Status DetectKind(const port::Segment& seg, Kind* kind) {
  if (seg.size() < 8) {
    return absl::DataLossError(absl::StrCat(
        seg.path(), ": not an UltraDict segment (", seg.size(), " bytes)"));
  }
  const uint64_t magic = DecodeFixed64(seg.data());
  if (magic == control::kControlMagic) {
    *kind = Kind::kControl;
  } else if (magic == log::kLogMagic) {
    *kind = Kind::kLog;
  } else if (magic == snapshot::kSnapshotMagic) {
    *kind = Kind::kSnapshot;
  } else {
    return absl::DataLossError(
        absl::StrCat(seg.path(), ": not an UltraDict segment (unknown magic ",
                     MagicText(seg.data()), ")"));
  }
  return absl::OkStatus();
}

void InspectOpened(const port::Segment& seg, Kind kind,
                   std::optional<uint32_t> head, const InspectOptions& options,
                   Inspection* result) {
  switch (kind) {
    case Kind::kControl:
      InspectControl(seg, result, result->AddSegment(seg.path(), "control"),
                     /*dictionary=*/"");
      break;
    case Kind::kLog:
      InspectLog(seg, head, options, result, result->AddSegment(seg.path(), "log"));
      break;
    case Kind::kSnapshot:
      InspectSnapshot(seg, options, result,
                      result->AddSegment(seg.path(), "snapshot"));
      break;
  }
}

}  // namespace

Node& Inspection::AddSegment(const std::string& path, const std::string& type) {
  segments_.push_back(std::make_unique<Node>("segment"));
  Node& node = *segments_.back();
  node.Str("path", path);
  node.Str("type", type);
  return node;
}

void Inspection::AddDamage(Node& segment, std::string message) {
  problems_++;
  segment.Add("damage", "DAMAGE").Str("message", std::move(message));
}

std::string Inspection::Text() const {
  std::string out;
  for (const auto& segment : segments_) {
    absl::StrAppend(&out, "segment ", segment->Get("path"), "\n",
                    segment->Text(2, false, "path"));
  }
  absl::StrAppend(&out, "summary: ", segments_.size(), " segments, ", problems_,
                  problems_ == 0 ? " problems: ok\n" : " problems: DAMAGED\n");
  return out;
}

std::string Inspection::Json() const {
  nlohmann::ordered_json out;
  nlohmann::ordered_json& segments = out["segments"];
  segments = nlohmann::ordered_json::array();
  for (const auto& segment : segments_) segments.push_back(segment->Json());
  out["problems"] = problems_;
  out["ok"] = problems_ == 0;
  return JsonLine(out);
}

std::string Inspection::VerifyText() const {
  std::string out;
  for (const auto& segment : segments_) {
    const std::vector<const Node*> damage = segment->Items("damage");
    absl::StrAppend(&out, damage.empty() ? "ok " : "DAMAGED ",
                    segment->Get("path"), " (", segment->Get("type"), ")\n");
    for (const Node* d : damage) {
      absl::StrAppend(&out, "  DAMAGE: ", d->Get("message"), "\n");
    }
  }
  absl::StrAppend(&out, "summary: ", segments_.size(), " segments checked, ",
                  problems_, problems_ == 0 ? " problems: ok\n"
                                            : " problems: DAMAGED\n");
  return out;
}

absl::Status InspectSegmentFile(const std::string& path,
                                const InspectOptions& options,
                                Inspection* result) {
  port::Segment seg;
  absl::Status s = OpenSegment(path, &seg);
  if (!s.ok()) return s;
  Kind kind;
  s = DetectKind(seg, &kind);
  if (!s.ok()) return s;
  InspectOpened(seg, kind, std::nullopt, options, result);
  return absl::OkStatus();
}

absl::Status InspectDictionary(const std::string& dir, const std::string& name,
                               const InspectOptions& options,
                               Inspection* result) {
  absl::Status s = ValidateName(name);
  if (!s.ok()) return s;
  port::Segment control_seg;
  s = OpenSegment(ControlFileName(dir, name), &control_seg);
  if (absl::IsNotFound(s)) {
    return absl::NotFoundError(
        absl::StrCat("dictionary \"", name, "\" does not exist in ", dir));
  }
  if (!s.ok()) return s;
  Node& control_node = result->AddSegment(control_seg.path(), "control");
  const bool valid = InspectControl(control_seg, result, control_node, name);

  std::optional<uint32_t> gen;
  std::string snap_path, log_path;  // Of the head's generation.
  if (valid) {
    // Open the head's generation; a compaction may retire it meanwhile.
    control::Block block(control_seg.data());
    bool done = false;
    for (int attempt = 0; attempt < kHeadRetries && !done; attempt++) {
      const uint64_t head = block.head().load(std::memory_order_acquire);
      gen = control::HeadGeneration(head);
      done = true;
      if (*gen == 0) {
        control_node.Str("note", "generation 0: nothing written yet");
        break;
      }
      port::Segment snap_seg, log_seg;
      snap_path = SnapshotFileName(dir, name, block.file_key(), *gen);
      log_path = LogFileName(dir, name, block.file_key(), *gen);
      s = OpenSegment(snap_path, &snap_seg);
      if (s.ok()) s = OpenSegment(log_path, &log_seg);
      if (absl::IsNotFound(s) &&
          block.head().load(std::memory_order_acquire) != head) {
        done = false;
        continue;  // Retired by a compaction: follow the new head.
      }
      if (!s.ok()) {
        result->AddDamage(control_node,
                          absl::StrCat("generation ", *gen,
                                       " is current but its segment cannot be "
                                       "read: ",
                                       s.message()));
        break;
      }
      Node& snap_node = result->AddSegment(snap_path, "snapshot");
      InspectSnapshot(snap_seg, options, result, snap_node);
      if (snap_node.Get("header") == "ok" &&
          snap_node.Get("generation") != absl::StrCat(*gen)) {
        result->AddDamage(snap_node,
                          absl::StrCat(snap_path, ": generation ",
                                       snap_node.Get("generation"),
                                       " at offset 16, expected ", *gen));
      }
      Node& log_node = result->AddSegment(log_path, "log");
      InspectLog(log_seg, control::HeadOffset(head), options, result, log_node);
      if (log_node.Get("header") == "ok" &&
          log_node.Get("generation") != absl::StrCat(*gen)) {
        result->AddDamage(log_node,
                          absl::StrCat(log_path, ": generation ",
                                       log_node.Get("generation"),
                                       " at offset 16, expected ", *gen));
      }
      break;
    }
    if (!done) {
      return absl::UnavailableError(absl::StrCat(
          "dictionary \"", name, "\": the head moved ", kHeadRetries,
          " times while its segments were opened (compacting); try again"));
    }
  }

  // Other files of this dictionary: left by a crashed compaction (removed
  // by the next writer), or all there is when the control segment is bad.
  // A listing error leaves the report as it is.
  ForEachFileOf(dir, name, [&](const DictionaryFile& f) {
    if (f.type == FileType::kControl || f.path == snap_path ||
        f.path == log_path) {
      return;
    }
    if (valid) {
      control_node.Add("other_files", "other_file").Str("path", f.path);
      return;
    }
    port::Segment seg;
    Kind kind;
    absl::Status s = OpenSegment(f.path, &seg);
    if (s.ok()) s = DetectKind(seg, &kind);
    if (!s.ok()) {
      result->AddDamage(result->AddSegment(f.path, "unknown"),
                        std::string(s.message()));
      return;
    }
    InspectOpened(seg, kind, std::nullopt, options, result);
  }).IgnoreError();
  return absl::OkStatus();
}

}  // namespace tool
}  // namespace ultradict
