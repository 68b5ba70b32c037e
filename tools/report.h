// report.h: what the `ultradict` tool prints, as a small ordered tree that
// renders either as text for people or as JSON for scripts.
//
//   Node segment("segment");
//   segment.Str("path", "/dev/shm/ud.x");
//   segment.Num("version", 1);
//   Node& record = segment.Add("records", "record");
//   record.Num("offset", 64);
//   std::string text = segment.Text(0);
//
// Text: the fields of a top-level node one per line ("  key: value"); each
// node of an array on one line ("  label key=value key=value"), its own
// arrays indented below it. A node whose only field is "message" prints as
// "label: message". Strings are printed as given: callers escape binary
// keys first (EscapeBytes).
//
// JSON (nlohmann::ordered_json, fields in order; callers include
// nlohmann/json.hpp to use it): an object per node;
// strings, numbers and booleans as such, a Missing field as null, an array
// as a list of objects whose first key "kind" is the item's label in lower
// case ("DAMAGE" -> "damage"). Keys are the field names given here, so
// they must be snake_case: they are an interface (doc/cli.md).
//
// Not thread-safe.

#ifndef ULTRADICT_TOOLS_REPORT_H_
#define ULTRADICT_TOOLS_REPORT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json_fwd.hpp"

namespace ultradict {
namespace tool {

// Bytes as printable ASCII: C hex escapes (absl::CHexEscape) for control,
// non-ASCII, quote and backslash bytes, and "\x20" for a space, so that a
// key or value is always one whitespace-free word.
std::string EscapeBytes(std::string_view bytes);

// One line of JSON (ending with a newline) that never throws: bytes that
// are not UTF-8 (a path, say) become U+FFFD.
std::string JsonLine(const nlohmann::ordered_json& json);

class Node {
 public:
  explicit Node(std::string label = "") : label_(std::move(label)) {}
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Appends a field (in this order in the output).
  void Str(std::string_view key, std::string value);
  void Num(std::string_view key, uint64_t value);
  void Bool(std::string_view key, bool value);  // Text: yes/no.
  // A field without a value: `text` in the text form, null in JSON.
  void Missing(std::string_view key, std::string text);

  // Appends a node to the array `array` (created on first use) and returns
  // it; the reference stays valid while this node lives.
  Node& Add(std::string_view array, std::string label);

  // The string value of a field ("" when absent; numbers in decimal).
  std::string Get(std::string_view key) const;

  // The nodes of an array (empty when absent).
  std::vector<const Node*> Items(std::string_view array) const;

  const std::string& label() const { return label_; }

  // Text at `indent` spaces: one line per field (top level) or one line
  // for the whole node (`one_line`), arrays below. Ends with a newline.
  // `skip`: a field left out (e.g. one already printed in a heading).
  std::string Text(int indent, bool one_line,
                   std::string_view skip = std::string_view()) const;

  // The node as a JSON object; `with_kind` adds its label (lower case)
  // first as "kind" (done for the nodes of arrays).
  nlohmann::ordered_json Json(bool with_kind = false) const;

 private:
  enum class Kind { kString, kNumber, kBool, kMissing, kArray };
  struct Field {
    std::string key;
    Kind kind;
    std::string value;  // Decimal for numbers, "true"/"false" for bools.
    uint64_t number = 0;                       // kNumber.
    std::vector<std::unique_ptr<Node>> items;  // kArray.
  };

  std::string label_;
  std::vector<Field> fields_;
};

}  // namespace tool
}  // namespace ultradict

#endif  // ULTRADICT_TOOLS_REPORT_H_
