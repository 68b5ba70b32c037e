// make_corpus.cc: writes the seed corpora of the fuzzers with the real
// writers (log::EncodeHeader/AppendRecord, Generation::IndexRecords,
// RunBuilder, snapshot::Build, WriteBatch):
//
//   bazel run //tests/fuzz:make_corpus -- $PWD/tests/fuzz/corpus
//
// Files are small and deterministic; the output is checked in.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "db/generation.h"
#include "db/log_format.h"
#include "db/log_index.h"
#include "db/log_index_format.h"
#include "db/log_reader.h"
#include "db/log_writer.h"
#include "db/run_builder.h"
#include "db/snapshot_builder.h"
#include "db/write_batch_internal.h"
#include "port/port.h"
#include "ultradict/write_batch.h"
#include "util/checksum.h"

namespace ultradict {
namespace {

bool WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  return static_cast<bool>(out);
}

std::vector<WriteBatch> Batches() {
  std::vector<WriteBatch> batches(6);
  batches[1].Put("key100", "value");
  batches[2].Delete("key100");
  batches[3].Put("a", "1");
  batches[3].Put("b", "");
  batches[3].Delete("a");
  batches[3].Put(std::string("\0\xff", 2), std::string(300, 'z'));
  for (int i = 0; i < 20; i++) {
    batches[4].Put(absl::StrCat("snap", 100 + i), std::string(40 + i, 'v'));
  }
  batches[5].Put("", std::string(1000, 'x'));  // Compresses well.
  return batches;
}

[[noreturn]] void Die(std::string_view what, const absl::Status& s) {
  std::fprintf(stderr, "make_corpus: %.*s: %s\n", static_cast<int>(what.size()),
               what.data(), s.ToString().c_str());
  std::abort();
}

// What a seed log holds.
struct LogSpec {
  std::vector<const WriteBatch*> batches;  // One record each.
  std::vector<bool> compress;  // Of each record (zstd, where smaller).
  uint32_t node_capacity = 64;
  uint32_t max_bits = 10;
  // The last batch's entries are added to the index but not published (a
  // writer that died).
  bool dead = false;
  // After these many records, the background thread's RunBuilder builds
  // and publishes a sorted run of the records so far (each from the last,
  // linked to it).
  std::vector<size_t> runs_after;
};

// Adds the entries of g's record at `at` to its index as a writer does
// (Generation::IndexRecords), without publishing the record.
void IndexUnpublished(Generation* g, uint32_t at) {
  log::Record record;
  std::string scratch, keys_scratch;
  std::string_view batch;
  WriteBatchInternal::Entries entries;
  bool fits = false;
  absl::Status s =
      log::ReadRecord(g->records, g->record_capacity, at, "seed", &record);
  if (s.ok()) s = log::RecordBatch(record, &scratch, &batch);
  if (s.ok()) s = WriteBatchInternal::Decode(batch, &entries);
  if (s.ok()) s = g->MakeIndexRoom(entries.size(), &fits);
  if (s.ok() && !fits) s = absl::ResourceExhaustedError("index full");
  const bool compressed = (record.type & log::kCompressedFlag) != 0;
  const uint32_t end = at + static_cast<uint32_t>(record.size);
  for (uint32_t i = 0; s.ok() && i < entries.size(); i++) {
    const uint32_t location =
        compressed ? at | log::kCompressedLocation
                   : static_cast<uint32_t>(entries[i].start - g->records);
    s = g->index.Add(entries[i].key, Hash64(entries[i].key), location,
                     compressed ? i : LogIndex::EntryCheck(entries[i]), end,
                     &keys_scratch);
  }
  if (!s.ok()) Die("indexing the unpublished record", s);
}

// A log segment (format 6) holding spec's batches as records, its shared
// index filled and published as the writer does, its runs built by the
// background thread's RunBuilder, of spec.node_capacity nodes and tables
// of 2^10..2^max_bits slots (small, so that seeds stay small). Built in a
// scratch segment file, as the engine's own reserve its pages.
std::string LogSegment(const LogSpec& spec) {
  std::vector<std::string> records;
  size_t body = 0;
  for (size_t i = 0; i < spec.batches.size(); i++) {
    records.emplace_back();
    log::AppendRecord(WriteBatchInternal::Contents(*spec.batches[i]),
                      i < spec.compress.size() && spec.compress[i],
                      &records.back());
    body += records.back().size();
  }
  log::Header h;
  h.generation = 3;
  h.base_sequence = 17;
  h.record_capacity =
      log::IndexOffset(log::kHeaderSize, body) - log::kHeaderSize;
  h.node_capacity = spec.node_capacity;
  h.first_slot_bits = log::kMinSlotBits;
  h.max_slot_bits = spec.max_bits;
  const size_t size = log::FileSize(h);
  const std::string path = absl::StrCat(port::SegmentDirectory(""),
                                        "/ud.make_corpus.", getpid(), ".3.log");
  absl::StatusOr<port::Segment> segment =
      port::Segment::Create(path, size, 0600);
  if (!segment.ok()) Die(path, segment.status());
  auto g = std::make_shared<Generation>();
  g->gen = 3;
  g->log_segment = std::move(*segment);
  char* const seg = g->log_segment.data();
  log::EncodeHeader(seg, h);
  LogIndex::Format(seg + log::IndexOffset(log::kHeaderSize, h.record_capacity));
  absl::Status s = log::ParseHeader(seg, size, path, &g->log_header);
  if (s.ok()) s = g->SetUpLog(size);
  if (!s.ok()) Die("setting up the log", s);
  RunBuilder builder(/*min_run_entries=*/1);
  uint32_t at = 0;
  for (size_t r = 0; r < records.size(); r++) {
    std::memcpy(seg + log::kHeaderSize + at, records[r].data(),
                records[r].size());
    if (spec.dead && r + 1 == records.size()) {
      IndexUnpublished(g.get(), at);  // Never published.
      break;
    }
    const uint32_t end = at + static_cast<uint32_t>(records[r].size());
    bool fits = false;
    s = g->IndexRecords(at, end, &fits, [] {});
    if (s.ok() && !fits) s = absl::ResourceExhaustedError("index full");
    if (!s.ok()) Die("indexing", s);
    at = end;
    if (std::find(spec.runs_after.begin(), spec.runs_after.end(), r + 1) ==
        spec.runs_after.end()) {
      continue;
    }
    s = builder.Build(g, at, [] { return true; });
    uint32_t newest = 0, nodes = 0;
    if (s.ok() && (!g->runs.NewestEnd(&newest, &nodes) || newest != at)) {
      s = absl::InternalError(absl::StrCat("no run published at ", at));
    }
    if (!s.ok()) Die("building a run", s);
  }
  std::string bytes(seg, size);
  port::Unlink(path).IgnoreError();
  return bytes;
}

int Main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus <corpus dir>\n");
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;
  // WriteBatch encodings.
  const std::vector<WriteBatch> batches = Batches();
  for (size_t i = 0; i < batches.size(); i++) {
    ok &= WriteFile(absl::StrCat(dir, "/write_batch_fuzzer/batch", i),
                    WriteBatchInternal::Contents(batches[i]));
  }
  // Log segments (with their shared index and run area): empty, one
  // record, all, all compressed, mixed, a writer that died before
  // publishing, an index whose table grew; and sorted runs: two linked
  // (the second built from the first's list and the records after it) with
  // a record after them, and one that lists deletions (and a key whose
  // only entry is a deletion) with records after it.
  std::vector<const WriteBatch*> all;
  for (const WriteBatch& b : batches) all.push_back(&b);
  WriteBatch many;
  for (int i = 0; i < 600; i++) many.Put(absl::StrCat("k", i), "");
  WriteBatch puts, deletes;
  for (int i = 0; i < 40; i++) {
    puts.Put(absl::StrCat("run", 100 + i), absl::StrCat("v", i));
  }
  for (const char* key : {"run105", "run117", "run139", "never-put"}) {
    deletes.Delete(key);
  }
  deletes.Put("run117", "again");
  auto spec = [](std::vector<const WriteBatch*> records) {
    LogSpec s;
    s.batches = std::move(records);
    return s;
  };
  LogSpec compressed = spec(all);
  compressed.compress.assign(all.size(), true);
  LogSpec mixed = spec({&batches[3], &batches[5], &batches[2]});
  mixed.compress = {false, true, false};
  LogSpec dead = spec({&batches[1], &batches[3], &batches[2]});
  dead.dead = true;
  LogSpec grown = spec({&many, &batches[3]});
  grown.node_capacity = 1024;
  grown.max_bits = 11;
  // Runs due at 1 entry, then when the entries past the last run reach a
  // quarter of those below it: 21 entries, then 26.
  LogSpec linked =
      spec({&batches[1], &batches[4], &batches[3], &batches[2], &batches[1]});
  linked.runs_after = {2, 4};
  LogSpec deletions = spec({&puts, &deletes, &batches[3], &batches[2]});
  deletions.runs_after = {2};
  const std::vector<std::pair<std::string, LogSpec>> logs = {
      {"empty", spec({})},
      {"one", spec({&batches[1]})},
      {"all", spec(all)},
      {"compressed", compressed},
      {"mixed", mixed},
      {"dead_writer", dead},
      {"grown", grown},
      {"run_linked", linked},
      {"run_deletions", deletions},
  };
  for (const auto& [name, log_spec] : logs) {
    const std::string bytes = LogSegment(log_spec);
    for (const char* fuzzer :
         {"log_reader_fuzzer", "log_index_fuzzer", "log_run_fuzzer"}) {
      ok &= WriteFile(absl::StrCat(dir, "/", fuzzer, "/", name), bytes);
    }
  }
  // Snapshots, built in a scratch file.
  struct Snap {
    const char* name;
    bool compress;
    std::vector<std::pair<std::string, std::string>> entries;
  };
  std::vector<Snap> snaps = {{"empty", false, {}},
                             {"one", false, {{"key100", "value"}}},
                             {"many", false, {}},
                             {"compressed", true, {}}};
  for (int i = 0; i < 25; i++) {
    snaps[2].entries.emplace_back(absl::StrCat("snap", 100 + i),
                                  std::string(5 + i, 'a' + i % 26));
    snaps[3].entries.emplace_back(absl::StrCat("snap", 100 + i),
                                  std::string(i % 5 == 0 ? 600 : 9, 'c'));
  }
  for (const Snap& s : snaps) {
    std::vector<std::pair<std::string_view, std::string_view>> entries(
        s.entries.begin(), s.entries.end());
    snapshot::BuildOptions options;
    options.generation = 2;
    options.compress = s.compress;
    options.compression_threshold = 256;
    const std::string tmp =
        absl::StrCat(port::SegmentDirectory(""), "/ud.make_corpus.", getpid(),
                     ".2.snap");
    auto segment = snapshot::Build(tmp, options, entries);
    if (!segment.ok()) {
      std::fprintf(stderr, "%s\n", segment.status().ToString().c_str());
      return 1;
    }
    ok &= WriteFile(absl::StrCat(dir, "/snapshot_reader_fuzzer/", s.name),
                    std::string_view(segment->data(), segment->size()));
    port::Unlink(tmp).IgnoreError();
  }
  if (!ok) std::fprintf(stderr, "could not write some files under %s\n", dir.c_str());
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace ultradict

int main(int argc, char** argv) { return ultradict::Main(argc, argv); }
