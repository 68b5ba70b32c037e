// filename.cc: see filename.h.

#include "db/filename.h"

#include <algorithm>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "port/port.h"
#include "ultradict/options.h"
#include "util/checksum.h"
#include "util/coding.h"
#include "util/strings.h"

namespace ultradict {

namespace {
constexpr std::string_view kPrefix = "ud.";

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// Kinds of generation files, as hashed into their tags (frozen).
enum class Kind : uint8_t {
  kLog = 1,
  kSnapshot = 2,
  kTempSnapshot = 3,
  kTempLog = 4
};

// "ud.N.<gen>.<tag>": SipHash-2-4 under key of fixed64 gen, kind.
std::string GenerationBase(const std::string& dir, std::string_view name,
                           const FileKey& key, uint64_t gen, Kind kind) {
  char message[9];
  EncodeFixed64(message, gen);
  message[8] = static_cast<char>(kind);
  const uint64_t tag = SipHash24(key.k0, key.k1, message, sizeof(message));
  return absl::StrCat(dir, "/", AsAbsl(kPrefix), AsAbsl(name), ".", gen, ".",
                      absl::Hex(tag, absl::kZeroPad16));
}

bool IsTag(std::string_view s) {
  if (s.size() != 16) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
}  // namespace

absl::Status ValidateName(std::string_view name) {
  if (name.empty()) return absl::InvalidArgumentError("empty dictionary name");
  if (name.size() > kMaxNameLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("dictionary name of ", name.size(),
                     " characters; the limit is ", kMaxNameLength));
  }
  for (char c : name) {
    if (!IsNameChar(c)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "dictionary name \"", absl::CEscape(AsAbsl(name)),
          "\" may only hold letters, digits, '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

std::string ControlFileName(const std::string& dir, std::string_view name) {
  return absl::StrCat(dir, "/", AsAbsl(kPrefix), AsAbsl(name));
}

std::string LogFileName(const std::string& dir, std::string_view name,
                        const FileKey& key, uint64_t gen) {
  return GenerationBase(dir, name, key, gen, Kind::kLog) + ".log";
}

std::string SnapshotFileName(const std::string& dir, std::string_view name,
                             const FileKey& key, uint64_t gen) {
  return GenerationBase(dir, name, key, gen, Kind::kSnapshot) + ".snap";
}

std::string TempSnapshotFileName(const std::string& dir, std::string_view name,
                                 const FileKey& key, uint64_t gen) {
  return GenerationBase(dir, name, key, gen, Kind::kTempSnapshot) + ".snap.tmp";
}

std::string TempLogFileName(const std::string& dir, std::string_view name,
                            const FileKey& key, uint64_t gen) {
  return GenerationBase(dir, name, key, gen, Kind::kTempLog) + ".log.tmp";
}

bool IsGenerationFileOf(std::string_view file, std::string_view name,
                        const FileKey& key) {
  std::string file_name, tag;
  FileType type;
  uint64_t gen;
  if (!ParseFileName(file, &file_name, &type, &gen, &tag) || tag.empty() ||
      file_name != name) {
    return false;
  }
  std::string expected;
  switch (type) {
    case FileType::kLog:
      expected = LogFileName("", name, key, gen);
      break;
    case FileType::kSnapshot:
      expected = SnapshotFileName("", name, key, gen);
      break;
    case FileType::kTemp:
      expected = absl::EndsWith(AsAbsl(file), ".snap.tmp")
                     ? TempSnapshotFileName("", name, key, gen)
                     : TempLogFileName("", name, key, gen);
      break;
    case FileType::kControl:
      return false;
  }
  // The names above are "<dir>/<file>" with an empty dir.
  return std::string_view(expected).substr(1) == file;
}

bool ParseFileName(std::string_view file, std::string* name, FileType* type,
                   uint64_t* gen) {
  std::string tag;
  return ParseFileName(file, name, type, gen, &tag);
}

bool ParseFileName(std::string_view file, std::string* name, FileType* type,
                   uint64_t* gen, std::string* tag) {
  if (!absl::StartsWith(AsAbsl(file), AsAbsl(kPrefix))) return false;
  file.remove_prefix(kPrefix.size());
  std::vector<std::string_view> parts;
  for (absl::string_view part : absl::StrSplit(AsAbsl(file), '.')) {
    parts.emplace_back(part.data(), part.size());
  }
  if (ValidateName(parts[0]).ok() == false) return false;
  *name = std::string(parts[0]);
  *gen = 0;
  tag->clear();
  // ud.N.<gen>.<tag>.{log,snap}[.tmp]: take the tag out, and the rest is
  // what tagless names (control format 2 and older) look like.
  if ((parts.size() == 4 || parts.size() == 5) && IsTag(parts[2]) &&
      (parts[3] == "log" || parts[3] == "snap") &&
      (parts.size() == 4 || parts[4] == "tmp")) {
    *tag = std::string(parts[2]);
    parts.erase(parts.begin() + 2);
  }
  if (parts.size() == 1) {
    *type = FileType::kControl;
    return true;
  }
  if (parts.size() == 3 && parts[1] == "tmp") {
    *type = FileType::kTemp;
    return true;
  }
  if (parts.size() == 4 && (parts[2] == "snap" || parts[2] == "log") &&
      parts[3] == "tmp" &&
      absl::SimpleAtoi(AsAbsl(parts[1]), gen)) {
    *type = FileType::kTemp;
    return true;
  }
  if (parts.size() == 3 && absl::SimpleAtoi(AsAbsl(parts[1]), gen)) {
    if (parts[2] == "log") {
      *type = FileType::kLog;
      return true;
    }
    if (parts[2] == "snap") {
      *type = FileType::kSnapshot;
      return true;
    }
  }
  return false;
}

absl::Status ForEachFileOf(const std::string& dir, std::string_view name,
                           absl::FunctionRef<void(const DictionaryFile&)> fn) {
  absl::StatusOr<std::vector<std::string>> files = port::ListDirectory(dir);
  if (!files.ok()) return files.status();
  std::sort(files->begin(), files->end());
  DictionaryFile f;
  std::string file_name;
  for (std::string& file : *files) {
    if (!ParseFileName(file, &file_name, &f.type, &f.gen, &f.tag) ||
        file_name != name) {
      continue;
    }
    f.path = dir + "/" + file;
    f.file = std::move(file);
    fn(f);
  }
  return absl::OkStatus();
}

}  // namespace ultradict
