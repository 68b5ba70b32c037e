// iterator.h: an ordered, point-in-time view of a dictionary.
//
//   std::unique_ptr<ultradict::Iterator> it = db->NewIterator();
//   for (it->SeekToFirst(); it->Valid(); it->Next()) {
//     Use(it->key(), it->value());
//   }
//   if (!it->status().ok()) ...
//
// An iterator sees the dictionary as it was when NewIterator() was called,
// whatever any process writes afterwards. Keys come in bytewise order.
// key() and value() stay valid until the next call that moves the iterator.
// An iterator is not thread-safe; it may outlive nothing: destroy it before
// the DB that made it.

#ifndef ULTRADICT_INCLUDE_ITERATOR_H_
#define ULTRADICT_INCLUDE_ITERATOR_H_

#include <string_view>

#include "absl/status/status.h"

namespace ultradict {

class Iterator {
 public:
  Iterator() = default;
  Iterator(const Iterator&) = delete;
  Iterator& operator=(const Iterator&) = delete;
  virtual ~Iterator() = default;

  // True when the iterator is at an entry.
  virtual bool Valid() const = 0;

  // Moves to the first entry (not Valid() when the view is empty).
  virtual void SeekToFirst() = 0;

  // Moves to the first entry whose key is >= target.
  virtual void Seek(std::string_view target) = 0;

  // Moves to the next entry. Requires Valid().
  virtual void Next() = 0;

  // The current entry. Require Valid().
  virtual std::string_view key() const = 0;
  virtual std::string_view value() const = 0;

  // OK unless damage was found while iterating (DataLoss naming the segment
  // and offset); a damaged iterator is not Valid().
  virtual absl::Status status() const = 0;
};

}  // namespace ultradict

#endif  // ULTRADICT_INCLUDE_ITERATOR_H_
