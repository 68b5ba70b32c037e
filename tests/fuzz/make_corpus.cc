// make_corpus.cc: writes the seed corpora of the fuzzers with the real
// writers (log::EncodeHeader/AppendRecord, LogIndex, snapshot::Build,
// WriteBatch):
//
//   bazel run //tests/fuzz:make_corpus -- $PWD/tests/fuzz/corpus
//
// Files are small and deterministic; the output is checked in.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "db/log_format.h"
#include "db/log_index.h"
#include "db/log_index_format.h"
#include "db/log_reader.h"
#include "db/log_writer.h"
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

// A log segment (format 3) holding `batches` as records (compressed where
// compress[i] and smaller), its shared index filled and published as the
// writer does, of `node_capacity` nodes and tables of 2^10..2^max_bits
// slots (small, so that seeds stay small). With `dead`, the last batch's
// entries are added to the index but not published (a writer that died).
std::string LogSegment(const std::vector<const WriteBatch*>& batches,
                       const std::vector<bool>& compress,
                       uint32_t node_capacity = 64, uint32_t max_bits = 10,
                       bool dead = false) {
  std::vector<std::string> records;
  size_t body = 0;
  for (size_t i = 0; i < batches.size(); i++) {
    records.emplace_back();
    log::AppendRecord(WriteBatchInternal::Contents(*batches[i]),
                      i < compress.size() && compress[i], &records.back());
    body += records.back().size();
  }
  log::Header h;
  h.generation = 3;
  h.base_sequence = 17;
  h.record_capacity =
      log::IndexOffset(log::kHeaderSize, body) - log::kHeaderSize;
  h.node_capacity = node_capacity;
  h.first_slot_bits = log::kMinSlotBits;
  h.max_slot_bits = max_bits;
  const size_t size = log::FileSize(h);
  std::vector<uint64_t> words(size / 8 + 1);  // Aligned, as a mapping is.
  char* seg = reinterpret_cast<char*>(words.data());
  log::EncodeHeader(seg, h);
  const size_t index_at = log::IndexOffset(log::kHeaderSize, h.record_capacity);
  char* const area = seg + index_at;
  LogIndex::Format(area);
  LogIndex index;
  const LogIndex::Shape shape{node_capacity, log::kMinSlotBits, max_bits};
  const char* data = seg + log::kHeaderSize;
  if (!index
           .Open(area, size - index_at, data,
                 static_cast<uint32_t>(h.record_capacity), shape, "seed")
           .ok()) {
    std::abort();
  }
  uint32_t at = 0, count = 0;
  for (size_t r = 0; r < records.size(); r++) {
    std::memcpy(seg + log::kHeaderSize + at, records[r].data(),
                records[r].size());
    log::Record record;
    std::string scratch, keys_scratch;
    std::string_view batch;
    if (!log::ReadRecord(data, at + records[r].size(), at, "seed", &record)
             .ok() ||
        !log::RecordBatch(record, &scratch, &batch).ok()) {
      std::abort();
    }
    const bool compressed = (record.type & log::kCompressedFlag) != 0;
    WriteBatchInternal::Entries entries;
    bool fits = false;
    if (!WriteBatchInternal::Decode(batch, &entries).ok() ||
        !index
             .MakeRoom(
                 entries.size(),
                 [](size_t, size_t) { return absl::OkStatus(); }, &fits)
             .ok() ||
        !fits) {
      std::abort();
    }
    const uint32_t end = at + static_cast<uint32_t>(record.size);
    for (uint32_t i = 0; i < entries.size(); i++) {
      const uint32_t location =
          compressed ? at | log::kCompressedLocation
                     : static_cast<uint32_t>(entries[i].start - data);
      absl::Status added =
          index.Add(entries[i].key, Hash64(entries[i].key), location,
                    compressed ? i : LogIndex::EntryCheck(entries[i]), end,
                    &keys_scratch);
      if (!added.ok()) {
        std::fprintf(stderr, "make_corpus: %s\n",
                     std::string(added.message()).c_str());
        std::abort();
      }
    }
    if (dead && r + 1 == records.size()) break;  // Never published.
    at = end;
    index.Publish(at, ++count);
  }
  return std::string(seg, size);
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
  // Log segments (with their shared index): empty, one record, all, all
  // compressed, mixed, a writer that died before publishing, and an index
  // whose table grew.
  std::vector<const WriteBatch*> all;
  for (const WriteBatch& b : batches) all.push_back(&b);
  const std::vector<bool> every(batches.size(), true);
  WriteBatch many;
  for (int i = 0; i < 600; i++) many.Put(absl::StrCat("k", i), "");
  std::vector<std::pair<std::string, std::string>> logs = {
      {"empty", LogSegment({}, {})},
      {"one", LogSegment({&batches[1]}, {})},
      {"all", LogSegment(all, {})},
      {"compressed", LogSegment(all, every)},
      {"mixed", LogSegment({&batches[3], &batches[5], &batches[2]},
                           {false, true, false})},
      {"dead_writer", LogSegment({&batches[1], &batches[3], &batches[2]}, {},
                                 64, 10, /*dead=*/true)},
      {"grown", LogSegment({&many, &batches[3]}, {}, 1024, 11)},
  };
  for (const auto& [name, bytes] : logs) {
    ok &= WriteFile(absl::StrCat(dir, "/log_reader_fuzzer/", name), bytes);
    ok &= WriteFile(absl::StrCat(dir, "/log_index_fuzzer/", name), bytes);
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
