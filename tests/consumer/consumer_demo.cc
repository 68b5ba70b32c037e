// Consumer smoke test: open a fresh DB, put/get one key, then a nested Dict
// over it (Dict's non-template code is in the library: this links it from
// outside), destroy it all. Exits 0 only if the values read back match the
// values written.
#include <iostream>
#include <memory>
#include <string>

#include "ultradict/db.h"
#include "ultradict/dict.h"

int main() {
  ultradict::Options options;  // Persistent until DestroyDB.
  absl::StatusOr<std::unique_ptr<ultradict::DB>> db =
      ultradict::DB::Open(options, "");  // Empty name: fresh random name.
  if (!db.ok()) {
    std::cerr << "Open failed: " << db.status() << "\n";
    return 1;
  }
  const std::string name = (*db)->name();
  int rc = 0;
  if (absl::Status s = (*db)->Put("hello", "world"); !s.ok()) {
    std::cerr << "Put failed: " << s << "\n";
    rc = 1;
  }
  std::string value;
  if (absl::Status s = (*db)->Get("hello", &value); !s.ok()) {
    std::cerr << "Get failed: " << s << "\n";
    rc = 1;
  }
  std::cout << "hello -> " << value << "\n";
  if (value != "world") rc = 1;
  {
    ultradict::Dict<std::string, int64_t> dict(db->get(), options);
    std::string child_value;
    {
      absl::StatusOr<ultradict::Dict<std::string, std::string>> child =
          dict.Nested<std::string, std::string>("child");
      absl::Status s = child.status();
      if (s.ok()) s = child->Set("k", "v");
      if (s.ok()) {
        absl::StatusOr<std::string> v = child->Get("k");
        s = v.status();
        if (v.ok()) child_value = *v;
      }
      if (!s.ok()) std::cerr << "nested Dict failed: " << s << "\n";
    }
    std::cout << "child k -> " << child_value << "\n";
    if (child_value != "v") rc = 1;
    if (absl::Status s = dict.EraseNested("child"); !s.ok()) {
      std::cerr << "EraseNested failed: " << s << "\n";
      rc = 1;
    }
  }
  db->reset();  // Close before destroying.
  if (absl::Status s = ultradict::DestroyDB(name); !s.ok()) {
    std::cerr << "DestroyDB failed: " << s << "\n";
    rc = 1;
  }
  std::cout << (rc == 0 ? "consumer_demo: OK" : "consumer_demo: FAILED") << "\n";
  return rc;
}
