// report.cc: see report.h.

#include "tools/report.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "nlohmann/json.hpp"
#include "util/strings.h"

namespace ultradict {
namespace tool {

std::string EscapeBytes(std::string_view bytes) {
  return absl::StrReplaceAll(absl::CHexEscape(AsAbsl(bytes)), {{" ", "\\x20"}});
}

std::string JsonLine(const nlohmann::ordered_json& json) {
  return json.dump(-1, ' ', /*ensure_ascii=*/false,
                   nlohmann::ordered_json::error_handler_t::replace) +
         "\n";
}

void Node::Str(std::string_view key, std::string value) {
  fields_.push_back(
      Field{std::string(key), Kind::kString, std::move(value), 0, {}});
}

void Node::Num(std::string_view key, uint64_t value) {
  fields_.push_back(
      Field{std::string(key), Kind::kNumber, absl::StrCat(value), value, {}});
}

void Node::Bool(std::string_view key, bool value) {
  fields_.push_back(
      Field{std::string(key), Kind::kBool, value ? "true" : "false", 0, {}});
}

void Node::Missing(std::string_view key, std::string text) {
  fields_.push_back(
      Field{std::string(key), Kind::kMissing, std::move(text), 0, {}});
}

Node& Node::Add(std::string_view array, std::string label) {
  Field* field = nullptr;
  for (Field& f : fields_) {
    if (f.kind == Kind::kArray && f.key == array) field = &f;
  }
  if (field == nullptr) {
    fields_.push_back(Field{std::string(array), Kind::kArray, "", 0, {}});
    field = &fields_.back();
  }
  field->items.push_back(std::make_unique<Node>(std::move(label)));
  return *field->items.back();
}

std::string Node::Get(std::string_view key) const {
  for (const Field& f : fields_) {
    if (f.key == key && f.kind != Kind::kArray) return f.value;
  }
  return "";
}

std::vector<const Node*> Node::Items(std::string_view array) const {
  std::vector<const Node*> items;
  for (const Field& f : fields_) {
    if (f.key != array || f.kind != Kind::kArray) continue;
    for (const auto& item : f.items) items.push_back(item.get());
  }
  return items;
}

namespace {
std::string TextValue(const std::string& value, bool is_bool) {
  if (is_bool) return value == "true" ? "yes" : "no";
  return value;
}
}  // namespace

std::string Node::Text(int indent, bool one_line, std::string_view skip) const {
  const std::string pad(indent, ' ');
  std::string out;
  if (one_line) {
    out = pad + label_;
    if (fields_.size() == 1 && fields_[0].key == "message") {
      absl::StrAppend(&out, ": ", fields_[0].value);
    } else {
      for (const Field& f : fields_) {
        if (f.kind == Kind::kArray) continue;
        absl::StrAppend(&out, " ", f.key, "=",
                        TextValue(f.value, f.kind == Kind::kBool));
      }
    }
    out.push_back('\n');
  } else {
    for (const Field& f : fields_) {
      if (f.kind == Kind::kArray || (!skip.empty() && f.key == skip)) continue;
      absl::StrAppend(&out, pad, f.key, ": ",
                      TextValue(f.value, f.kind == Kind::kBool), "\n");
    }
  }
  for (const Field& f : fields_) {
    if (f.kind != Kind::kArray) continue;
    for (const auto& item : f.items) {
      absl::StrAppend(&out, item->Text(one_line ? indent + 2 : indent, true));
    }
  }
  return out;
}

nlohmann::ordered_json Node::Json(bool with_kind) const {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  if (with_kind) out["kind"] = absl::AsciiStrToLower(label_);
  for (const Field& f : fields_) {
    nlohmann::ordered_json& value = out[f.key];
    switch (f.kind) {
      case Kind::kString:
        value = f.value;
        break;
      case Kind::kNumber:
        value = f.number;
        break;
      case Kind::kBool:
        value = f.value == "true";
        break;
      case Kind::kMissing:
        value = nullptr;
        break;
      case Kind::kArray:
        value = nlohmann::ordered_json::array();
        for (const auto& item : f.items) {
          value.push_back(item->Json(/*with_kind=*/true));
        }
        break;
    }
  }
  return out;
}

}  // namespace tool
}  // namespace ultradict
