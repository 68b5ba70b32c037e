// dict.h: Dict<K, V>, a typed, dict-like facade over a DB, with atomic
// read-modify-write and nested dictionaries.
//
//   auto d = ultradict::Dict<std::string, int64_t>::Open(options, "counters");
//   if (!d.ok()) return d.status();
//   d->Set("a", 1);                // or: (*d)["a"] = 1;
//   (*d)["hits"] += 1;             // atomic across processes
//   int64_t hits = (*d)["hits"];   // 0 when missing
//   for (const auto& [key, value] : d->Items()) ...   // ordered, consistent
//   auto child = d->Nested<std::string, std::string>("users");
//
// Keys and values go through Codec<K> and Codec<V> (codec.h): integer and
// float keys iterate in numeric order, each value carries a 1-byte type tag
// and reading it with another codec gives FailedPrecondition, never a
// misread. The bytes are those of the DB underneath: another process may use
// a Dict of the same types, or the byte-level DB (db()).
//
// Promises (on top of db.h's):
// - Set, erase, Increment, Update, operator[] += / -= / ++ / -- and
//   Transact are atomic across processes: each runs under the dictionary's
//   write lock and commits as one record (concurrent `d[k] += 1` from many
//   processes never loses an increment).
// - Items() is a point-in-time view: later writes of any process do not
//   change what it yields.
//
// Nested dictionaries (the original's recurse=True): Nested<K2, V2>(key)
// opens, or creates, a child dictionary and stores under `key` a reference
// (its own type tag 'N', the child's key and value tags and its name). Every
// process that calls Nested with the same key reaches the same child. The
// child is named after the parent: the parent's name (cut to 51 characters)
// + "-" + 12 hex digits of a hash of the parent's name and the key, so two
// processes racing agree without coordination. The child has the parent's
// options (directory, mode, compression, log size) and is persistent:
// - erase(key), EraseNested(key), Set(key, ...) over the reference, clear()
//   and Transact writes that drop a reference remove the child's segments
//   (recursively);
// - Destroy() removes the dictionary and all its children, recursively.
// A child outlives the last process that closes it: a parent opened with a
// non-persistent Lifetime does not take its children with it; call
// Destroy() (or erase the keys) for that.
// Items() skips references (they are not values of type V); Get on one
// gives FailedPrecondition.
//
// Limits: nesting depth kMaxNestingDepth (8) below the dictionary opened
// with Open (Nested beyond it gives FailedPrecondition); names of at most
// kMaxNameLength (64) characters of [A-Za-z0-9_-]; keys 64 KiB, values
// 256 MiB (db.h).
//
// Errors: methods return absl::Status / StatusOr, never throw. operator[]
// returns a proxy (Dict::Reference) whose status() holds the outcome of the
// last operation through it; use Get/Set to handle errors directly.
//
// Thread safety: like DB, a Dict may be used by many threads at once, except
// for moving, assigning and Destroy(). Reference and ItemsView objects are
// not thread-safe and must not outlive the Dict.

#ifndef ULTRADICT_INCLUDE_DICT_H_
#define ULTRADICT_INCLUDE_DICT_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ultradict/codec.h"
#include "ultradict/db.h"
#include "ultradict/iterator.h"
#include "ultradict/options.h"

namespace ultradict {

// Maximum depth of nested dictionaries below one opened with Dict::Open.
inline constexpr int kMaxNestingDepth = 8;

namespace dict_internal {

// A nested-dictionary reference as stored in the parent (frozen):
//   'N' (kNestedTypeTag), '1' (version), key tag, value tag, child name.
struct NestedRef {
  char key_tag = 0;
  char value_tag = 0;
  std::string name;
};

inline constexpr char kRefVersion = '1';

// The non-template helpers below are compiled once, into //:ultradict
// (db/dict_nested.cc); the templates of this file call them.

// Whether a stored value is a nested-dictionary reference (its first byte
// is kNestedTypeTag; it may still be damaged, see DecodeRef).
bool IsRef(std::string_view stored);

// The stored form of ref (see NestedRef).
std::string EncodeRef(const NestedRef& ref);

// ref from its stored form; DataLoss when shorter than 5 bytes or not a
// version-kRefVersion reference. The name is not checked here: callers
// compare it with ChildName (a forged reference must not be followed).
absl::StatusOr<NestedRef> DecodeRef(std::string_view stored);

// The child's name for (parent, encoded key): see the file comment.
std::string ChildName(std::string_view parent, std::string_view encoded_key);

// OK when stored is a reference to want (same name, key and value tags);
// FailedPrecondition for a plain value or other tags, DataLoss for a
// damaged reference or one naming another child.
absl::Status CheckRef(std::string_view stored, const NestedRef& want);

// FailedPrecondition "key holds a <type>, not a nested dictionary".
absl::Status NotNestedError(std::string_view stored);

// Appends to dropped the child named by the reference stored under
// encoded_key of dictionary `parent`, when stored is a reference naming the
// child ChildName gives (a forged reference can not make us destroy an
// unrelated dictionary).
void CollectRef(std::string_view parent, std::string_view encoded_key,
                std::string_view stored, std::vector<std::string>* dropped);

// A child's options: the parent's, created when missing, persistent.
Options ChildOptions(const Options& parent);

// s with "dictionary \"name\": " before its message (OK stays OK).
absl::Status Annotate(const absl::Status& s, std::string_view name);

// Sets *result to s when *result is OK and s is not.
void KeepFirstError(absl::Status* result, const absl::Status& s);

// Destroys the dictionary `name` (at nesting depth `depth`) and its
// children, recursively; OK when it is missing. FailedPrecondition below
// kMaxNestingDepth.
absl::Status DestroyTree(const Options& options, const std::string& name,
                         int depth);

// Removes the children referenced from db (recursively). Only references
// whose name is the one derived from (db's name, key) are followed.
absl::Status DestroyChildren(DB* db, const Options& options, int depth);

// Destroys the children named (after a write dropped their references).
absl::Status DestroyDropped(const Options& options,
                            const std::vector<std::string>& children,
                            int depth);

// The compression a dictionary really has (its "ultradict.compression"
// property), or fallback when db is null or does not say.
Compression CompressionOf(DB* db, Compression fallback);

template <typename K>
struct KeyTraits {
  using Arg = const K&;
  static std::string Encode(const K& key) { return Codec<K>::Encode(key); }
};
template <>
struct KeyTraits<std::string> {
  using Arg = std::string_view;
  static std::string Encode(std::string_view key) { return std::string(key); }
};

template <typename V>
inline constexpr bool kIsCounter =
    std::is_arithmetic_v<V> && !std::is_same_v<V, bool>;

// cur + delta (or - delta), or OutOfRange on integer overflow.
template <typename V>
absl::StatusOr<V> Add(V cur, V delta, bool subtract) {
  if constexpr (std::is_integral_v<V>) {
    V out;
    const bool overflow = subtract ? __builtin_sub_overflow(cur, delta, &out)
                                   : __builtin_add_overflow(cur, delta, &out);
    if (overflow) {
      return absl::OutOfRangeError(std::string("integer overflow updating a ") +
                                   Codec<V>::kTypeName);
    }
    return out;
  } else {
    return subtract ? cur - delta : cur + delta;
  }
}

}  // namespace dict_internal

template <typename K, typename V>
class Dict {
 public:
  using key_type = K;
  using mapped_type = V;
  using value_type = std::pair<K, V>;
  // How keys are passed: std::string_view for string keys (no copy, string
  // literals work), const K& otherwise.
  using KeyArg = typename dict_internal::KeyTraits<K>::Arg;

  class Reference;
  class ItemsView;
  class Txn;

  // Opens (or, with options.create_if_missing, creates) the dictionary
  // `name`, owning its DB. Errors are DB::Open's.
  static absl::StatusOr<Dict> Open(const Options& options,
                                   std::string_view name) {
    absl::StatusOr<std::unique_ptr<DB>> db = DB::Open(options, name);
    if (!db.ok()) return db.status();
    return Dict(std::move(*db), options, 0);
  }

  // Takes ownership of db. `options` should be those db was opened with
  // (their directory, mode and log size are used for nested dictionaries).
  explicit Dict(std::unique_ptr<DB> db, const Options& options = Options())
      : Dict(std::move(db), options, 0) {}

  // Borrows db, which must outlive the Dict.
  explicit Dict(DB* db, const Options& options = Options())
      : Dict(nullptr, db, options, 0) {}

  Dict(Dict&&) noexcept = default;
  Dict& operator=(Dict&&) noexcept = default;
  Dict(const Dict&) = delete;
  Dict& operator=(const Dict&) = delete;
  ~Dict() = default;

  // The DB underneath (nullptr after Destroy()).
  DB* db() const { return db_; }
  const std::string& name() const { return db_->name(); }
  const Options& options() const { return options_; }
  // 0 for a dictionary opened with Open, parent's + 1 for Nested.
  int depth() const { return depth_; }

  // Stores key -> value. Replacing a nested-dictionary reference removes
  // that child (recursively).
  absl::Status Set(KeyArg key, const V& value) {
    return SetEncoded(EncodeKey(key), value);
  }

  // The value of key. NotFound when absent; FailedPrecondition when the
  // value was written with another codec or is a nested dictionary;
  // DataLoss when damaged.
  absl::StatusOr<V> Get(KeyArg key) const { return GetEncoded(EncodeKey(key)); }

  // The value of key, or std::nullopt when absent or unreadable.
  std::optional<V> Find(KeyArg key) const {
    absl::StatusOr<V> v = Get(key);
    if (!v.ok()) return std::nullopt;
    return std::move(*v);
  }

  // Whether key is present (with any value, including a nested reference).
  // false also on read errors.
  bool contains(KeyArg key) const {
    PinnableValue pinned;
    return db_->GetPinned(EncodeKey(key), &pinned).ok();
  }

  // Removes key; true when it was present. A nested dictionary under key is
  // removed too (recursively).
  absl::StatusOr<bool> erase(KeyArg key) {
    std::vector<std::string> dropped;
    bool existed = false;
    const std::string ekey = EncodeKey(key);
    absl::Status s = db_->Update(
        ekey,
        [&](const std::string_view* current) -> std::optional<std::string> {
          existed = current != nullptr;
          if (existed) CollectRef(ekey, *current, &dropped);
          return std::nullopt;
        });
    if (!s.ok()) return Annotate(s);
    s = dict_internal::DestroyDropped(options_, dropped, depth_);
    if (!s.ok()) return s;
    return existed;
  }

  // Number of entries (nested references included).
  size_t size() const {
    std::string value;
    if (!db_->GetProperty("ultradict.num-entries", &value)) return 0;
    return static_cast<size_t>(std::strtoull(value.c_str(), nullptr, 10));
  }
  bool empty() const { return size() == 0; }

  // Removes every entry in one atomic write, then the nested dictionaries
  // that were referenced.
  absl::Status clear() {
    std::vector<std::string> dropped;
    absl::Status s = db_->Transact([&](Transaction& txn) -> absl::Status {
      // The write lock is held: nobody commits while we read.
      std::unique_ptr<Iterator> it = db_->NewIterator();
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        CollectRef(it->key(), it->value(), &dropped);
        txn.Delete(it->key());
      }
      return it->status();
    });
    if (!s.ok()) return Annotate(s);
    return dict_internal::DestroyDropped(options_, dropped, depth_);
  }

  // Atomically adds delta to the value of key (V{} when absent) and returns
  // the new value. OutOfRange on integer overflow (nothing written);
  // FailedPrecondition when the value has another type.
  template <typename U = V,
            std::enable_if_t<dict_internal::kIsCounter<U>, int> = 0>
  absl::StatusOr<V> Increment(KeyArg key, V delta = V{1}) {
    return AddEncoded(EncodeKey(key), delta, false);
  }
  template <typename U = V,
            std::enable_if_t<dict_internal::kIsCounter<U>, int> = 0>
  absl::StatusOr<V> Decrement(KeyArg key, V delta = V{1}) {
    return AddEncoded(EncodeKey(key), delta, true);
  }

  // Atomic read-modify-write of key: fn gets the current value (nullopt
  // when absent) and returns the new one, or nullopt to remove the key. fn
  // runs under the write lock: keep it short and do not use this dictionary
  // from it. Errors: FailedPrecondition (another type or a nested
  // dictionary under key), DataLoss, and the write's.
  absl::Status Update(
      KeyArg key,
      absl::FunctionRef<std::optional<V>(const std::optional<V>&)> fn) {
    const std::string ekey = EncodeKey(key);
    absl::Status s = db_->Transact([&](Transaction& txn) -> absl::Status {
      std::string stored;
      std::optional<V> current;
      absl::Status gs = txn.Get(ekey, &stored);
      if (gs.ok()) {
        absl::StatusOr<V> v = DecodeValue<V>(stored);
        if (!v.ok()) return v.status();
        current = std::move(*v);
      } else if (!absl::IsNotFound(gs)) {
        return gs;
      }
      std::optional<V> next = fn(current);
      if (next.has_value()) {
        txn.Put(ekey, EncodeValue<V>(*next));
      } else if (current.has_value()) {
        txn.Delete(ekey);
      }
      return absl::OkStatus();
    });
    return Annotate(s);
  }

  // Runs fn with a typed transaction under the write lock; its writes
  // commit as one record when fn returns OK and are dropped otherwise (the
  // error is returned). Nested dictionaries whose references the
  // transaction overwrote or erased are removed after the commit.
  absl::Status Transact(absl::FunctionRef<absl::Status(Txn&)> fn) {
    std::vector<std::string> dropped;
    absl::Status s = db_->Transact([&](Transaction& raw) -> absl::Status {
      Txn txn(this, &raw, &dropped);
      return fn(txn);
    });
    if (!s.ok()) {
      return Annotate(s);
    }
    return dict_internal::DestroyDropped(options_, dropped, depth_);
  }

  // d[key] = v, V v = d[key] (V{} when absent), d[key] += 1 (atomic).
  Reference operator[](KeyArg key) { return Reference(this, EncodeKey(key)); }

  // An ordered, point-in-time view: for (const auto& [k, v] : d.Items()).
  // Nested references are skipped; iteration stops at the first entry that
  // does not decode (see ItemsView::status()).
  ItemsView Items() const { return ItemsView(this, nullptr); }
  // The same, from the first key >= from.
  ItemsView ItemsFrom(KeyArg from) const {
    const std::string ekey = EncodeKey(from);
    return ItemsView(this, &ekey);
  }

  // Whether key holds a nested-dictionary reference.
  bool IsNested(KeyArg key) const {
    PinnableValue pinned;
    return db_->GetPinned(EncodeKey(key), &pinned).ok() &&
           dict_internal::IsRef(pinned.data());
  }

  // Opens, or creates, the child dictionary under key (see the file
  // comment). Errors: FailedPrecondition when key holds a plain value, a
  // child of other key/value types, or the depth limit is reached; DataLoss
  // for a damaged or foreign reference; DB::Open's errors.
  template <typename K2, typename V2>
  absl::StatusOr<Dict<K2, V2>> Nested(KeyArg key) {
    if (depth_ + 1 > kMaxNestingDepth) {
      return Annotate(absl::FailedPreconditionError(
          "nested dictionaries are limited to " +
          std::to_string(kMaxNestingDepth) + " levels"));
    }
    const std::string ekey = EncodeKey(key);
    dict_internal::NestedRef want;
    want.key_tag = Codec<K2>::kTypeTag;
    want.value_tag = Codec<V2>::kTypeTag;
    want.name = dict_internal::ChildName(name(), ekey);
    // Fail fast, before creating anything, when key holds something else.
    {
      PinnableValue pinned;
      absl::Status s = db_->GetPinned(ekey, &pinned);
      if (s.ok()) {
        s = CheckRef(pinned.data(), want);
      }
      if (!s.ok() && !absl::IsNotFound(s)) return Annotate(s);
    }
    // Create the child first, then store the reference: whoever sees the
    // reference finds the child (no erase can lose a child not yet linked).
    const Options child_options = dict_internal::ChildOptions(options_);
    absl::StatusOr<std::unique_ptr<DB>> child =
        DB::Open(child_options, want.name);
    if (!child.ok()) return child.status();
    bool plain_value = false;
    absl::Status s = db_->Transact([&](Transaction& txn) -> absl::Status {
      std::string stored;
      absl::Status gs = txn.Get(ekey, &stored);
      if (absl::IsNotFound(gs)) {
        txn.Put(ekey, dict_internal::EncodeRef(want));
        return absl::OkStatus();
      }
      if (!gs.ok()) return gs;
      plain_value = !dict_internal::IsRef(stored);
      return CheckRef(stored, want);
    });
    if (!s.ok()) {
      if (plain_value) {
        // Someone wrote a plain value meanwhile: the child is unreferenced.
        child->reset();
        DestroyDB(want.name, child_options).IgnoreError();
      }
      return Annotate(s);
    }
    return Dict<K2, V2>(std::move(*child), child_options, depth_ + 1);
  }

  // Removes the nested dictionary under key: the reference and the child's
  // segments (recursively). NotFound when key is absent, FailedPrecondition
  // when it holds a plain value.
  absl::Status EraseNested(KeyArg key) {
    const std::string ekey = EncodeKey(key);
    std::vector<std::string> dropped;
    absl::Status s = db_->Transact([&](Transaction& txn) -> absl::Status {
      std::string stored;
      absl::Status gs = txn.Get(ekey, &stored);
      if (!gs.ok()) return gs;
      if (!dict_internal::IsRef(stored)) {
        return dict_internal::NotNestedError(stored);
      }
      CollectRef(ekey, stored, &dropped);
      txn.Delete(ekey);
      return absl::OkStatus();
    });
    if (!s.ok()) return Annotate(s);
    return dict_internal::DestroyDropped(options_, dropped, depth_);
  }

  // Removes this dictionary's segments and those of all its nested
  // dictionaries, recursively. Afterwards only destruction and assignment
  // are valid. Other processes' handles keep their mappings until closed
  // (their writes fail with FailedPrecondition).
  absl::Status Destroy() {
    if (db_ == nullptr) return absl::FailedPreconditionError("no dictionary");
    absl::Status result = dict_internal::DestroyChildren(db_, options_, depth_);
    const std::string name = db_->name();
    owned_.reset();
    db_ = nullptr;
    absl::Status s = DestroyDB(name, options_);
    if (!absl::IsNotFound(s)) dict_internal::KeepFirstError(&result, s);
    return result;
  }

  // Change notifications (see DB::LatestSequence, DB::WaitForChange).
  uint64_t LatestSequence() const { return db_->LatestSequence(); }
  uint64_t WaitForChange(uint64_t since, int64_t timeout_ms) const {
    return db_->WaitForChange(since, timeout_ms);
  }

  // The proxy operator[] returns. Not thread-safe; must not outlive the
  // Dict. `auto x = d[k]` holds a Reference, not a value: write `V x = d[k]`.
  class Reference {
   public:
    // Stores the value (Dict::Set).
    Reference& operator=(const V& value) {
      status_ = dict_->SetEncoded(key_, value);
      return *this;
    }
    Reference& operator=(const Reference& other) {
      return *this = other.value();
    }
    // The value, V{} when absent or unreadable (see status()).
    V value() const {
      absl::StatusOr<V> v = dict_->GetEncoded(key_);
      if (v.ok()) {
        status_ = absl::OkStatus();
        return std::move(*v);
      }
      status_ = absl::IsNotFound(v.status()) ? absl::OkStatus() : v.status();
      return V{};
    }
    operator V() const { return value(); }  // NOLINT: proxy conversion.

    // Atomic updates (Dict::Increment / Decrement).
    template <typename U = V,
              std::enable_if_t<dict_internal::kIsCounter<U>, int> = 0>
    Reference& operator+=(V delta) {
      status_ = dict_->AddEncoded(key_, delta, false).status();
      return *this;
    }
    template <typename U = V,
              std::enable_if_t<dict_internal::kIsCounter<U>, int> = 0>
    Reference& operator-=(V delta) {
      status_ = dict_->AddEncoded(key_, delta, true).status();
      return *this;
    }
    template <typename U = V,
              std::enable_if_t<dict_internal::kIsCounter<U>, int> = 0>
    Reference& operator++() {
      return *this += V{1};
    }
    template <typename U = V,
              std::enable_if_t<dict_internal::kIsCounter<U>, int> = 0>
    Reference& operator--() {
      return *this -= V{1};
    }

    // The outcome of the last operation through this reference (a missing
    // key read as V{} is OK).
    const absl::Status& status() const { return status_; }

   private:
    friend class Dict;
    Reference(Dict* dict, std::string key)
        : dict_(dict), key_(std::move(key)) {}
    Dict* dict_;
    std::string key_;  // Encoded.
    mutable absl::Status status_;
  };

  // A typed transaction (Dict::Transact). Valid only inside fn.
  class Txn {
   public:
    // The value as of the transaction, including its own writes.
    absl::StatusOr<V> Get(KeyArg key) const {
      std::string stored;
      absl::Status s = raw_->Get(EncodeKey(key), &stored);
      if (!s.ok()) return s;
      return DecodeValue<V>(stored);
    }
    std::optional<V> Find(KeyArg key) const {
      absl::StatusOr<V> v = Get(key);
      if (!v.ok()) return std::nullopt;
      return std::move(*v);
    }
    void Set(KeyArg key, const V& value) {
      const std::string ekey = EncodeKey(key);
      DropRef(ekey);
      raw_->Put(ekey, EncodeValue<V>(value));
    }
    // true when key was present.
    bool Erase(KeyArg key) {
      const std::string ekey = EncodeKey(key);
      const bool existed = DropRef(ekey);
      if (existed) raw_->Delete(ekey);
      return existed;
    }
    // The byte-level transaction (bypasses nested-dictionary bookkeeping).
    Transaction& raw() { return *raw_; }

   private:
    friend class Dict;
    Txn(Dict* dict, Transaction* raw, std::vector<std::string>* dropped)
        : dict_(dict), raw_(raw), dropped_(dropped) {}
    // Notes the child referenced by key, if any; true when key exists.
    bool DropRef(const std::string& ekey) {
      std::string stored;
      if (!raw_->Get(ekey, &stored).ok()) return false;
      dict_->CollectRef(ekey, stored, dropped_);
      return true;
    }
    Dict* dict_;
    Transaction* raw_;
    std::vector<std::string>* dropped_;
  };

  // A point-in-time ordered view (Dict::Items). Not thread-safe; must not
  // outlive the Dict.
  class ItemsView {
   public:
    class iterator {
     public:
      using iterator_category = std::input_iterator_tag;
      using value_type = Dict::value_type;
      using difference_type = std::ptrdiff_t;
      using pointer = const value_type*;
      using reference = const value_type&;

      iterator() = default;
      reference operator*() const { return *view_->current_; }
      pointer operator->() const { return &*view_->current_; }
      iterator& operator++() {
        view_->Advance(true);
        return *this;
      }
      bool operator==(const iterator& other) const {
        return AtEnd() == other.AtEnd();
      }
      bool operator!=(const iterator& other) const { return !(*this == other); }

     private:
      friend class ItemsView;
      explicit iterator(ItemsView* view) : view_(view) {}
      bool AtEnd() const {
        return view_ == nullptr || !view_->current_.has_value();
      }
      ItemsView* view_ = nullptr;
    };

    ItemsView(ItemsView&&) noexcept = default;
    ItemsView& operator=(ItemsView&&) noexcept = default;

    // Starts (over) from the first entry of the view.
    iterator begin() {
      if (from_.has_value()) {
        it_->Seek(*from_);
      } else {
        it_->SeekToFirst();
      }
      status_ = absl::OkStatus();
      Advance(false);
      return iterator(this);
    }
    iterator end() { return iterator(); }

    // OK unless iteration stopped at an entry that did not decode or at
    // damage (DataLoss).
    const absl::Status& status() const { return status_; }

   private:
    friend class Dict;
    ItemsView(const Dict* dict, const std::string* from)
        : it_(dict->db_->NewIterator()) {
      if (from != nullptr) from_ = *from;
    }
    void Advance(bool next) {
      current_.reset();
      if (next && it_->Valid()) it_->Next();
      for (; it_->Valid(); it_->Next()) {
        if (dict_internal::IsRef(it_->value())) continue;
        absl::StatusOr<K> k = Codec<K>::Decode(it_->key());
        if (!k.ok()) {
          status_ = k.status();
          return;
        }
        absl::StatusOr<V> v = DecodeValue<V>(it_->value());
        if (!v.ok()) {
          status_ = v.status();
          return;
        }
        current_.emplace(std::move(*k), std::move(*v));
        return;
      }
      if (!it_->status().ok()) status_ = it_->status();
    }
    std::unique_ptr<Iterator> it_;
    std::optional<std::string> from_;
    std::optional<value_type> current_;
    absl::Status status_;
  };

 private:
  template <typename, typename>
  friend class Dict;

  Dict(std::unique_ptr<DB> db, const Options& options, int depth)
      : Dict(std::move(db), nullptr, options, depth) {}
  Dict(std::unique_ptr<DB> owned, DB* borrowed, const Options& options,
       int depth)
      : owned_(std::move(owned)),
        db_(owned_ != nullptr ? owned_.get() : borrowed),
        options_(options),
        depth_(depth) {
    // Children get the compression the dictionary really has.
    options_.compression =
        dict_internal::CompressionOf(db_, options_.compression);
  }

  static std::string EncodeKey(KeyArg key) {
    return dict_internal::KeyTraits<K>::Encode(key);
  }

  absl::Status Annotate(const absl::Status& s) const {
    return dict_internal::Annotate(s, db_->name());
  }

  // Notes the child referenced under ekey (dict_internal::CollectRef).
  void CollectRef(std::string_view ekey, std::string_view stored,
                  std::vector<std::string>* dropped) const {
    dict_internal::CollectRef(name(), ekey, stored, dropped);
  }

  static absl::Status CheckRef(std::string_view stored,
                               const dict_internal::NestedRef& want) {
    return dict_internal::CheckRef(stored, want);
  }

  absl::Status SetEncoded(const std::string& ekey, const V& value) {
    std::vector<std::string> dropped;
    const std::string stored = EncodeValue<V>(value);
    absl::Status s = db_->Update(
        ekey,
        [&](const std::string_view* current) -> std::optional<std::string> {
          if (current != nullptr) CollectRef(ekey, *current, &dropped);
          return stored;
        });
    if (!s.ok()) return Annotate(s);
    return dict_internal::DestroyDropped(options_, dropped, depth_);
  }

  absl::StatusOr<V> GetEncoded(const std::string& ekey) const {
    PinnableValue pinned;
    absl::Status s = db_->GetPinned(ekey, &pinned);
    if (!s.ok()) return s;
    absl::StatusOr<V> v = DecodeValue<V>(pinned.data());
    if (!v.ok()) return Annotate(v.status());
    return v;
  }

  absl::StatusOr<V> AddEncoded(const std::string& ekey, V delta,
                               bool subtract) {
    V result{};
    absl::Status s = db_->Transact([&](Transaction& txn) -> absl::Status {
      std::string stored;
      V current{};
      absl::Status gs = txn.Get(ekey, &stored);
      if (gs.ok()) {
        absl::StatusOr<V> v = DecodeValue<V>(stored);
        if (!v.ok()) return v.status();
        current = *v;
      } else if (!absl::IsNotFound(gs)) {
        return gs;
      }
      absl::StatusOr<V> next = dict_internal::Add(current, delta, subtract);
      if (!next.ok()) return next.status();
      result = *next;
      txn.Put(ekey, EncodeValue<V>(result));
      return absl::OkStatus();
    });
    if (!s.ok()) return Annotate(s);
    return result;
  }

  std::unique_ptr<DB> owned_;
  DB* db_ = nullptr;
  Options options_;
  int depth_ = 0;
};

}  // namespace ultradict

#endif  // ULTRADICT_INCLUDE_DICT_H_
