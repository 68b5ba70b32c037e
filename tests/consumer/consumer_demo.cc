// Consumer smoke test: open a fresh DB, put/get one key, destroy it.
// Exits 0 only if the value read back matches the value written.
#include <iostream>
#include <memory>
#include <string>

#include "ultradict/db.h"

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
  db->reset();  // Close before destroying.
  if (absl::Status s = ultradict::DestroyDB(name); !s.ok()) {
    std::cerr << "DestroyDB failed: " << s << "\n";
    rc = 1;
  }
  std::cout << (rc == 0 ? "consumer_demo: OK" : "consumer_demo: FAILED") << "\n";
  return rc;
}
