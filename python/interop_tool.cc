// interop_tool.cc: the C++ side of the Python package's interop test
// (python/tests/test_typed.py): C++ Dict<std::string, V> views of a
// dictionary that Python writes or reads in its typed format
// (typed_codec.h, doc/python.md "Encoding").
//
//   interop_tool write NAME   stores greeting="héllo" (string), answer=-42
//                             (int64), pi=3.25 (double), yes=true (bool)
//   interop_tool read NAME    prints "key=value" for the keys str, int,
//                             float, bool, bytes (values written by
//                             Python), or "key: <error>"
//
// Exit status: 0 on success, 1 on a usage or open error.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "ultradict/db.h"
#include "ultradict/dict.h"
#include "ultradict/options.h"

namespace {

std::string Text(const std::string& v) { return v; }
std::string Text(int64_t v) { return std::to_string(v); }
std::string Text(bool v) { return v ? "true" : "false"; }
std::string Text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", v);
  return buf;
}

// "key=value", or "key: error" when it does not read as a V.
template <typename V>
void Print(ultradict::DB* db, const char* key) {
  ultradict::Dict<std::string, V> view(db);
  absl::StatusOr<V> v = view.Get(key);
  const std::string text =
      v.ok() ? "=" + Text(*v) : ": " + std::string(v.status().message());
  std::printf("%s%s\n", key, text.c_str());
}

int Write(ultradict::DB* db) {
  absl::Status s = ultradict::Dict<std::string, std::string>(db).Set(
      "greeting", "h\xc3\xa9llo");
  if (s.ok()) s = ultradict::Dict<std::string, int64_t>(db).Set("answer", -42);
  if (s.ok()) s = ultradict::Dict<std::string, double>(db).Set("pi", 3.25);
  if (s.ok()) s = ultradict::Dict<std::string, bool>(db).Set("yes", true);
  if (!s.ok()) {
    std::fprintf(stderr, "write: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}

int Read(ultradict::DB* db) {
  Print<std::string>(db, "str");
  Print<int64_t>(db, "int");
  Print<double>(db, "float");
  Print<bool>(db, "bool");
  Print<std::string>(db, "bytes");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: interop_tool write|read NAME\n");
    return 1;
  }
  ultradict::Options options;
  options.create_if_missing = false;
  absl::StatusOr<std::unique_ptr<ultradict::DB>> db =
      ultradict::DB::Open(options, argv[2]);
  if (!db.ok()) {
    std::fprintf(stderr, "open: %s\n",
                 std::string(db.status().message()).c_str());
    return 1;
  }
  const std::string command = argv[1];
  if (command == "write") return Write(db->get());
  if (command == "read") return Read(db->get());
  std::fprintf(stderr, "usage: interop_tool write|read NAME\n");
  return 1;
}
