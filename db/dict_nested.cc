// dict_nested.cc: the non-template code of Dict (include/ultradict/dict.h):
// the nested-reference codec, child naming, and the recursive destroy of
// nested dictionaries. Uses only the public DB API.

#include "db/dict_nested.h"

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ultradict/codec.h"
#include "ultradict/db.h"
#include "ultradict/iterator.h"
#include "ultradict/options.h"

namespace ultradict {
namespace dict_internal {

// A reference is 'N', the version, two tags, then a name of >= 1 byte.
constexpr size_t kMinRefSize = 5;

bool IsRef(std::string_view stored) {
  return !stored.empty() && stored[0] == kNestedTypeTag;
}

std::string EncodeRef(const NestedRef& ref) {
  std::string out{kNestedTypeTag, kRefVersion, ref.key_tag, ref.value_tag};
  out += ref.name;
  return out;
}

absl::StatusOr<NestedRef> DecodeRef(std::string_view stored) {
  if (stored.size() < kMinRefSize || stored[0] != kNestedTypeTag ||
      stored[1] != kRefVersion) {
    return absl::DataLossError("damaged nested-dictionary reference");
  }
  NestedRef ref;
  ref.key_tag = stored[2];
  ref.value_tag = stored[3];
  ref.name = std::string(stored.substr(4));
  return ref;
}

uint64_t Fnv1a64(std::string_view a, std::string_view b) {
  uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](unsigned char c) {
    h ^= c;
    h *= 0x100000001b3ULL;
  };
  for (char c : a) mix(static_cast<unsigned char>(c));
  mix(0);
  for (char c : b) mix(static_cast<unsigned char>(c));
  return h;
}

std::string ChildName(std::string_view parent, std::string_view encoded_key) {
  constexpr size_t kHexDigits = 12;
  static constexpr char kHex[] = "0123456789abcdef";
  const uint64_t h = Fnv1a64(parent, encoded_key);
  std::string name(parent.substr(0, kMaxNameLength - 1 - kHexDigits));
  name += '-';
  for (size_t i = 0; i < kHexDigits; i++) {
    name += kHex[(h >> (4 * (kHexDigits - 1 - i))) & 15];
  }
  return name;
}

absl::Status NotNestedError(std::string_view stored) {
  return absl::FailedPreconditionError(
      "key holds a " + TypeTagName(stored.empty() ? 0 : stored[0]) +
      ", not a nested dictionary");
}

absl::Status CheckRef(std::string_view stored, const NestedRef& want) {
  if (!IsRef(stored)) return NotNestedError(stored);
  absl::StatusOr<NestedRef> ref = DecodeRef(stored);
  if (!ref.ok()) return ref.status();
  if (ref->name != want.name) {
    return absl::DataLossError("nested reference names \"" + ref->name +
                               "\", expected \"" + want.name + "\"");
  }
  if (ref->key_tag != want.key_tag || ref->value_tag != want.value_tag) {
    return absl::FailedPreconditionError(
        "nested dictionary of " + TypeTagName(ref->key_tag) + " -> " +
        TypeTagName(ref->value_tag) + " opened as " +
        TypeTagName(want.key_tag) + " -> " + TypeTagName(want.value_tag));
  }
  return absl::OkStatus();
}

void CollectRef(std::string_view parent, std::string_view encoded_key,
                std::string_view stored, std::vector<std::string>* dropped) {
  if (!IsRef(stored)) return;
  absl::StatusOr<NestedRef> ref = DecodeRef(stored);
  if (ref.ok() && ref->name == ChildName(parent, encoded_key)) {
    dropped->push_back(ref->name);
  }
}

Options ChildOptions(const Options& parent) {
  Options options = parent;
  options.create_if_missing = true;
  options.error_if_exists = false;
  options.lifetime = Lifetime::kPersistent;
  return options;
}

absl::Status Annotate(const absl::Status& s, std::string_view name) {
  if (s.ok()) return s;
  return absl::Status(s.code(), "dictionary \"" + std::string(name) +
                                    "\": " + std::string(s.message()));
}

void KeepFirstError(absl::Status* result, const absl::Status& s) {
  if (result->ok() && !s.ok()) *result = s;
}

absl::Status DestroyChildren(DB* db, const Options& options, int depth) {
  std::vector<std::string> children;
  {
    std::unique_ptr<Iterator> it = db->NewIterator();
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      CollectRef(db->name(), it->key(), it->value(), &children);
    }
    if (!it->status().ok()) return it->status();
  }
  return DestroyDropped(options, children, depth);
}

absl::Status DestroyTree(const Options& options, const std::string& name,
                         int depth) {
  if (depth > kMaxNestingDepth) {
    return absl::FailedPreconditionError(
        "dictionary \"" + name + "\" is nested deeper than " +
        std::to_string(kMaxNestingDepth) + " levels; not destroyed");
  }
  absl::Status result;
  {
    Options open_options = options;
    open_options.create_if_missing = false;
    open_options.error_if_exists = false;
    absl::StatusOr<std::unique_ptr<DB>> db = DB::Open(open_options, name);
    if (absl::IsNotFound(db.status())) return absl::OkStatus();
    if (db.ok()) {
      KeepFirstError(&result, DestroyChildren(db->get(), options, depth));
    } else {
      KeepFirstError(&result, db.status());
    }
  }
  absl::Status s = DestroyDB(name, options);
  if (!absl::IsNotFound(s)) KeepFirstError(&result, s);
  return result;
}

absl::Status DestroyDropped(const Options& options,
                            const std::vector<std::string>& children,
                            int depth) {
  absl::Status result;
  for (const std::string& child : children) {
    KeepFirstError(&result,
                   DestroyTree(ChildOptions(options), child, depth + 1));
  }
  return result;
}

Compression CompressionOf(DB* db, Compression fallback) {
  std::string compression;
  if (db == nullptr ||
      !db->GetProperty("ultradict.compression", &compression)) {
    return fallback;
  }
  return compression == "zstd" ? Compression::kZstdCompression
                               : Compression::kNoCompression;
}

}  // namespace dict_internal
}  // namespace ultradict
