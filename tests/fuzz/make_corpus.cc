// make_corpus.cc: writes the seed corpora of the fuzzers with the real
// writers (log::EncodeHeader/AppendRecord, snapshot::Build, WriteBatch):
//
//   bazel run //tests/fuzz:make_corpus -- $PWD/tests/fuzz/corpus
//
// Files are small and deterministic; the output is checked in.

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "db/log_format.h"
#include "db/log_writer.h"
#include "db/snapshot_builder.h"
#include "db/write_batch_internal.h"
#include "port/port.h"
#include "ultradict/write_batch.h"

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

std::string LogSegment(const std::vector<std::string>& records) {
  std::string body;
  for (const std::string& r : records) body += r;
  std::string seg(log::kHeaderSize, '\0');
  seg += body;
  log::EncodeHeader(seg.data(), 3, seg.size(), 17);
  return seg;
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
  // Log segments: empty, one record each, all, compressed records.
  std::vector<std::string> plain, compressed;
  for (const WriteBatch& b : batches) {
    std::string r, c;
    log::AppendRecord(WriteBatchInternal::Contents(b), false, &r);
    log::AppendRecord(WriteBatchInternal::Contents(b), true, &c);
    plain.push_back(r);
    compressed.push_back(c);
  }
  ok &= WriteFile(dir + "/log_reader_fuzzer/empty", LogSegment({}));
  ok &= WriteFile(dir + "/log_reader_fuzzer/one", LogSegment({plain[1]}));
  ok &= WriteFile(dir + "/log_reader_fuzzer/all", LogSegment(plain));
  ok &= WriteFile(dir + "/log_reader_fuzzer/compressed", LogSegment(compressed));
  ok &= WriteFile(dir + "/log_reader_fuzzer/mixed",
                  LogSegment({plain[3], compressed[5], plain[2]}));
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
