// report.cc: see report.h.

#include "tools/report.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "util/strings.h"

namespace ultradict {
namespace tool {

std::string EscapeBytes(std::string_view bytes) {
  return absl::StrReplaceAll(absl::CHexEscape(AsAbsl(bytes)), {{" ", "\\x20"}});
}

std::string JsonQuote(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20 || u == 0x7f) {
      absl::StrAppend(&out, "\\u00", absl::Hex(u, absl::kZeroPad2));
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

void Node::Str(std::string_view key, std::string value) {
  fields_.push_back(Field{std::string(key), Kind::kString, std::move(value), {}});
}

void Node::Num(std::string_view key, uint64_t value) {
  fields_.push_back(Field{std::string(key), Kind::kNumber, absl::StrCat(value), {}});
}

void Node::Bool(std::string_view key, bool value) {
  fields_.push_back(
      Field{std::string(key), Kind::kBool, value ? "true" : "false", {}});
}

Node& Node::Add(std::string_view array, std::string label) {
  Field* field = nullptr;
  for (Field& f : fields_) {
    if (f.kind == Kind::kArray && f.key == array) field = &f;
  }
  if (field == nullptr) {
    fields_.push_back(Field{std::string(array), Kind::kArray, "", {}});
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

std::string Node::Json(bool with_kind) const {
  std::string out = "{";
  bool first = true;
  if (with_kind) {
    absl::StrAppend(&out, "\"kind\":", JsonQuote(label_));
    first = false;
  }
  for (const Field& f : fields_) {
    if (!first) out.push_back(',');
    first = false;
    absl::StrAppend(&out, JsonQuote(f.key), ":");
    switch (f.kind) {
      case Kind::kString:
        absl::StrAppend(&out, JsonQuote(f.value));
        break;
      case Kind::kNumber:
      case Kind::kBool:
        absl::StrAppend(&out, f.value);
        break;
      case Kind::kArray: {
        out.push_back('[');
        for (size_t i = 0; i < f.items.size(); i++) {
          if (i > 0) out.push_back(',');
          absl::StrAppend(&out, f.items[i]->Json(/*with_kind=*/true));
        }
        out.push_back(']');
        break;
      }
    }
  }
  out.push_back('}');
  return out;
}

}  // namespace tool
}  // namespace ultradict
