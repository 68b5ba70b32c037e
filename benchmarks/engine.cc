// engine.cc: see engine.h.

#include "benchmarks/engine.h"

#include <dirent.h>
#include <lmdb.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <shared_mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "port/port.h"
#include "ultradict/db.h"
#include "ultradict/options.h"
#include "ultradict/write_batch.h"
#include "util/strings.h"

namespace ultradict {
namespace bench {

namespace {

// ---- Cleanup registry (read by the signal handler) ----------------------

constexpr int kMaxResources = 16;
constexpr int kMaxChildren = 64;
constexpr size_t kPathMax = 512;

struct Resource {
  volatile sig_atomic_t kind;  // 0 free, 1 UltraDict, 2 LMDB directory.
  char dir[kPathMax];          // Segment directory or LMDB directory.
  char name[kPathMax];         // "ud.<name>" (UltraDict only).
};

Resource g_resources[kMaxResources];
volatile pid_t g_children[kMaxChildren];
std::mutex g_registry_mu;

int RegisterResource(int kind, const std::string& dir,
                     const std::string& name) {
  std::lock_guard<std::mutex> lock(g_registry_mu);
  for (int i = 0; i < kMaxResources; ++i) {
    if (g_resources[i].kind != 0) continue;
    snprintf(g_resources[i].dir, kPathMax, "%s", dir.c_str());
    snprintf(g_resources[i].name, kPathMax, "%s", name.c_str());
    g_resources[i].kind = kind;
    return i;
  }
  return -1;
}

void UnregisterResource(int slot) {
  if (slot < 0) return;
  std::lock_guard<std::mutex> lock(g_registry_mu);
  g_resources[slot].kind = 0;
}

void RemoveLmdbDir(const char* dir) {
  char path[kPathMax + 16];
  snprintf(path, sizeof(path), "%s/data.mdb", dir);
  unlink(path);
  snprintf(path, sizeof(path), "%s/lock.mdb", dir);
  unlink(path);
  rmdir(dir);
}

// Removes dir/<prefix> and dir/<prefix>.* (the segments of one dictionary).
void RemoveSegments(const char* dir, const char* prefix) {
  DIR* d = opendir(dir);
  if (d == nullptr) return;
  size_t n = strlen(prefix);
  char path[2 * kPathMax + 2];
  while (struct dirent* e = readdir(d)) {
    if (strncmp(e->d_name, prefix, n) != 0) continue;
    if (e->d_name[n] != '\0' && e->d_name[n] != '.') continue;
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    unlink(path);
  }
  closedir(d);
}

void OnSignal(int sig) {
  for (int i = 0; i < kMaxChildren; ++i) {
    if (g_children[i] > 0) kill(g_children[i], SIGKILL);
  }
  for (int i = 0; i < kMaxResources; ++i) {
    if (g_resources[i].kind == 1) {
      RemoveSegments(g_resources[i].dir, g_resources[i].name);
    } else if (g_resources[i].kind == 2) {
      RemoveLmdbDir(g_resources[i].dir);
    }
  }
  _exit(128 + sig);
}

std::string SegmentDir() {
  const char* env = getenv("ULTRADICT_DIR");
  return env != nullptr && *env != '\0' ? env : "/dev/shm";
}

// ---- UltraDict ----------------------------------------------------------

class UltraDictEngine : public Engine {
 public:
  UltraDictEngine(std::unique_ptr<DB> db, Options options, bool owned,
                  int slot)
      : db_(std::move(db)),
        options_(std::move(options)),
        owned_(owned),
        slot_(slot) {}

  ~UltraDictEngine() override {
    std::string name = db_->name();
    db_.reset();
    if (owned_) {
      absl::Status s = DestroyDB(name, options_);
      if (!s.ok()) {
        fprintf(stderr, "db_bench: DestroyDB(%s): %s\n", name.c_str(),
                s.ToString().c_str());
      }
      UnregisterResource(slot_);
    }
  }

  EngineKind kind() const override { return EngineKind::kUltraDict; }
  std::string location() const override { return db_->name(); }
  std::string Describe() const override {
    return absl::StrCat(
        "ultradict (log_size ", options_.log_size, " B, compression ",
        options_.compression == Compression::kZstdCompression ? "zstd" : "none",
        ", dir ", options_.directory, ", ",
        port::DescribePages(options_.directory), ")");
  }

  std::string MemoryNote() override {
    std::string bytes;
    if (!db_->GetProperty("ultradict.index-memory-usage", &bytes)) return "";
    const double n = std::stod(bytes);
    return absl::StrCat("(log index in this process: ",
                        n < 1e6 ? absl::StrFormat("%.0f KB", n / 1e3)
                                : absl::StrFormat("%.1f MB", n / 1e6),
                        ")");
  }

  std::string ScanNote() override {
    std::string run, index;
    if (!db_->GetProperty("ultradict.log-run", &run) ||
        !db_->GetProperty("ultradict.log-index", &index)) {
      return "";
    }
    return absl::StrCat("(log: ", index, "; sorted run: ", run, ")");
  }

  absl::Status Put(std::string_view key, std::string_view value) override {
    return db_->Put(key, value);
  }
  absl::Status Delete(std::string_view key) override {
    return db_->Delete(key);
  }
  absl::Status PutBatch(
      const std::vector<std::pair<std::string, std::string>>& batch) override {
    batch_.Clear();
    for (const auto& [k, v] : batch) batch_.Put(k, v);
    return db_->Write(batch_);
  }

  class UdReader : public Reader {
   public:
    explicit UdReader(DB* db) : db_(db) {}
    absl::Status Get(std::string_view key, std::string* value) override {
      return db_->Get(key, value);
    }

   private:
    DB* db_;
  };
  std::unique_ptr<Reader> NewReader() override {
    return std::make_unique<UdReader>(db_.get());
  }

  absl::Status Scan(uint64_t* entries, uint64_t* bytes) override {
    std::unique_ptr<Iterator> it = db_->NewIterator();
    uint64_t n = 0, b = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      ++n;
      b += it->key().size() + it->value().size();
    }
    *entries = n;
    *bytes = b;
    return it->status();
  }

  absl::Status Compact() override { return db_->CompactLog(); }

 private:
  std::unique_ptr<DB> db_;
  const Options options_;
  const bool owned_;
  const int slot_;
  WriteBatch batch_;
};

Options UdOptions(const EngineConfig& config) {
  Options options;
  options.directory = SegmentDir();
  if (config.log_size != 0) options.log_size = config.log_size;
  options.compression = config.compression ? Compression::kZstdCompression
                                           : Compression::kNoCompression;
  return options;
}

absl::StatusOr<std::unique_ptr<Engine>> CreateUltraDict(
    const EngineConfig& config, int instance) {
  Options options = UdOptions(config);
  options.create_if_missing = true;
  options.error_if_exists = true;
  std::string name = absl::StrCat(config.prefix, "-ud", instance);
  int slot = RegisterResource(1, options.directory, "ud." + name);
  auto db = DB::Open(options, name);
  if (!db.ok()) {
    UnregisterResource(slot);
    return db.status();
  }
  return std::unique_ptr<Engine>(
      new UltraDictEngine(std::move(*db), options, /*owned=*/true, slot));
}

// ---- flat_hash_map ------------------------------------------------------

class HashMapEngine : public Engine {
 public:
  EngineKind kind() const override { return EngineKind::kHashMap; }
  std::string location() const override { return ""; }
  std::string Describe() const override {
    return "hashmap (absl::flat_hash_map<std::string, std::string>, "
           "in-process)";
  }

  absl::Status Put(std::string_view key, std::string_view value) override {
    if (concurrent_) {
      std::unique_lock<std::shared_mutex> lock(mu_);
      map_[key] = value;
    } else {
      map_[key] = value;
    }
    return absl::OkStatus();
  }
  absl::Status Delete(std::string_view key) override {
    if (concurrent_) {
      std::unique_lock<std::shared_mutex> lock(mu_);
      map_.erase(key);
    } else {
      map_.erase(key);
    }
    return absl::OkStatus();
  }
  absl::Status PutBatch(
      const std::vector<std::pair<std::string, std::string>>& batch) override {
    std::unique_lock<std::shared_mutex> lock(mu_, std::defer_lock);
    if (concurrent_) lock.lock();
    for (const auto& [k, v] : batch) map_[k] = v;
    return absl::OkStatus();
  }

  class MapReader : public Reader {
   public:
    explicit MapReader(HashMapEngine* e) : e_(e) {}
    absl::Status Get(std::string_view key, std::string* value) override {
      std::shared_lock<std::shared_mutex> lock(e_->mu_, std::defer_lock);
      if (e_->concurrent_) lock.lock();
      auto it = e_->map_.find(key);
      if (it == e_->map_.end()) return absl::NotFoundError("");
      value->assign(it->second);
      return absl::OkStatus();
    }

   private:
    HashMapEngine* e_;
  };
  std::unique_ptr<Reader> NewReader() override {
    return std::make_unique<MapReader>(this);
  }

  absl::Status Scan(uint64_t* entries, uint64_t* bytes) override {
    uint64_t n = 0, b = 0;
    for (const auto& [k, v] : map_) {
      ++n;
      b += k.size() + v.size();
    }
    *entries = n;
    *bytes = b;
    return absl::OkStatus();
  }

  void SetConcurrent(bool on) override { concurrent_ = on; }

 private:
  // Transparent lookup by std::string_view.
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const {
      return absl::Hash<absl::string_view>()(AsAbsl(s));
    }
  };
  struct Eq {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const {
      return a == b;
    }
  };
  absl::flat_hash_map<std::string, std::string, Hash, Eq> map_;
  std::shared_mutex mu_;
  bool concurrent_ = false;
};

// ---- LMDB ---------------------------------------------------------------

absl::Status LmdbError(const char* what, int rc) {
  std::string msg = absl::StrCat("lmdb ", what, ": ", mdb_strerror(rc));
  if (rc == MDB_NOTFOUND) return absl::NotFoundError(msg);
  if (rc == MDB_MAP_FULL) return absl::ResourceExhaustedError(msg);
  return absl::InternalError(msg);
}

MDB_val Val(std::string_view s) {
  MDB_val v;
  v.mv_size = s.size();
  v.mv_data = const_cast<char*>(s.data());
  return v;
}

class LmdbEngine : public Engine {
 public:
  LmdbEngine(std::string dir, size_t map_size, bool owned, int slot)
      : dir_(std::move(dir)), map_size_(map_size), owned_(owned),
        slot_(slot) {}

  ~LmdbEngine() override {
    if (env_ != nullptr) mdb_env_close(env_);
    if (owned_) {
      RemoveLmdbDir(dir_.c_str());
      UnregisterResource(slot_);
    }
  }

  absl::Status Open() {
    int rc = mdb_env_create(&env_);
    if (rc != 0) return LmdbError("mdb_env_create", rc);
    rc = mdb_env_set_mapsize(env_, map_size_);
    if (rc != 0) return LmdbError("mdb_env_set_mapsize", rc);
    rc = mdb_env_set_maxreaders(env_, 256);
    if (rc != 0) return LmdbError("mdb_env_set_maxreaders", rc);
    rc = mdb_env_open(env_, dir_.c_str(),
                      MDB_NOSYNC | MDB_WRITEMAP | MDB_NOMETASYNC | MDB_NOTLS,
                      0600);
    if (rc != 0) return LmdbError("mdb_env_open", rc);
    MDB_txn* txn;
    rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc != 0) return LmdbError("mdb_txn_begin", rc);
    rc = mdb_dbi_open(txn, nullptr, 0, &dbi_);
    if (rc != 0) {
      mdb_txn_abort(txn);
      return LmdbError("mdb_dbi_open", rc);
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0) return LmdbError("mdb_txn_commit", rc);
    return absl::OkStatus();
  }

  EngineKind kind() const override { return EngineKind::kLmdb; }
  std::string location() const override { return dir_; }
  std::string Describe() const override {
    return absl::StrCat("lmdb (", dir_,
                        ", MDB_NOSYNC|MDB_WRITEMAP|MDB_NOMETASYNC, mapsize ",
                        map_size_ >> 20, " MiB, one write txn per put, ",
                        port::DescribePages(dir_), ")");
  }

  absl::Status Put(std::string_view key, std::string_view value) override {
    return InWriteTxn([&](MDB_txn* txn) {
      MDB_val k = Val(key), v = Val(value);
      return mdb_put(txn, dbi_, &k, &v, 0);
    });
  }
  absl::Status Delete(std::string_view key) override {
    return InWriteTxn([&](MDB_txn* txn) {
      MDB_val k = Val(key);
      int rc = mdb_del(txn, dbi_, &k, nullptr);
      return rc == MDB_NOTFOUND ? 0 : rc;
    });
  }
  absl::Status PutBatch(
      const std::vector<std::pair<std::string, std::string>>& batch) override {
    return InWriteTxn([&](MDB_txn* txn) {
      for (const auto& [key, value] : batch) {
        MDB_val k = Val(key), v = Val(value);
        int rc = mdb_put(txn, dbi_, &k, &v, 0);
        if (rc != 0) return rc;
      }
      return 0;
    });
  }

  class LmdbReader : public Reader {
   public:
    LmdbReader(MDB_env* env, MDB_dbi dbi) : dbi_(dbi) {
      begin_rc_ = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn_);
      if (begin_rc_ == 0) mdb_txn_reset(txn_);
    }
    ~LmdbReader() override {
      if (begin_rc_ == 0) mdb_txn_abort(txn_);
    }
    absl::Status Get(std::string_view key, std::string* value) override {
      if (begin_rc_ != 0) return LmdbError("mdb_txn_begin", begin_rc_);
      int rc = mdb_txn_renew(txn_);
      if (rc != 0) return LmdbError("mdb_txn_renew", rc);
      MDB_val k = Val(key), v;
      rc = mdb_get(txn_, dbi_, &k, &v);
      if (rc == 0) value->assign(static_cast<const char*>(v.mv_data), v.mv_size);
      mdb_txn_reset(txn_);
      if (rc == MDB_NOTFOUND) return absl::NotFoundError("");
      if (rc != 0) return LmdbError("mdb_get", rc);
      return absl::OkStatus();
    }

   private:
    MDB_dbi dbi_;
    MDB_txn* txn_ = nullptr;
    int begin_rc_;
  };
  std::unique_ptr<Reader> NewReader() override {
    return std::make_unique<LmdbReader>(env_, dbi_);
  }

  absl::Status Scan(uint64_t* entries, uint64_t* bytes) override {
    MDB_txn* txn;
    int rc = mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn);
    if (rc != 0) return LmdbError("mdb_txn_begin", rc);
    MDB_cursor* cursor;
    rc = mdb_cursor_open(txn, dbi_, &cursor);
    if (rc != 0) {
      mdb_txn_abort(txn);
      return LmdbError("mdb_cursor_open", rc);
    }
    uint64_t n = 0, b = 0;
    MDB_val k, v;
    while ((rc = mdb_cursor_get(cursor, &k, &v, MDB_NEXT)) == 0) {
      ++n;
      b += k.mv_size + v.mv_size;
    }
    mdb_cursor_close(cursor);
    mdb_txn_abort(txn);
    if (rc != MDB_NOTFOUND) return LmdbError("mdb_cursor_get", rc);
    *entries = n;
    *bytes = b;
    return absl::OkStatus();
  }

 private:
  template <typename Fn>
  absl::Status InWriteTxn(Fn&& fn) {
    MDB_txn* txn;
    int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc != 0) return LmdbError("mdb_txn_begin", rc);
    rc = fn(txn);
    if (rc != 0) {
      mdb_txn_abort(txn);
      return LmdbError("mdb_put/mdb_del", rc);
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0) return LmdbError("mdb_txn_commit", rc);
    return absl::OkStatus();
  }

  const std::string dir_;
  const size_t map_size_;
  const bool owned_;
  const int slot_;
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
};

absl::StatusOr<std::unique_ptr<Engine>> CreateLmdb(const EngineConfig& config,
                                                   int instance) {
  std::string dir =
      absl::StrCat(SegmentDir(), "/", config.prefix, "-lmdb", instance);
  if (mkdir(dir.c_str(), 0700) != 0) {
    return absl::InternalError(
        absl::StrCat("mkdir ", dir, ": ", strerror(errno)));
  }
  int slot = RegisterResource(2, dir, "");
  auto engine = std::make_unique<LmdbEngine>(dir, config.lmdb_map_size,
                                             /*owned=*/true, slot);
  absl::Status s = engine->Open();
  if (!s.ok()) return s;  // ~LmdbEngine removes the directory.
  return std::unique_ptr<Engine>(std::move(engine));
}

}  // namespace

std::string EngineName(EngineKind kind) {
  switch (kind) {
    case EngineKind::kUltraDict:
      return "ultradict";
    case EngineKind::kHashMap:
      return "hashmap";
    case EngineKind::kLmdb:
      return "lmdb";
  }
  return "?";
}

bool ParseEngineKind(std::string_view text, EngineKind* kind) {
  for (EngineKind k :
       {EngineKind::kUltraDict, EngineKind::kHashMap, EngineKind::kLmdb}) {
    if (text == EngineName(k)) {
      *kind = k;
      return true;
    }
  }
  return false;
}

absl::StatusOr<std::unique_ptr<Engine>> CreateEngine(
    EngineKind kind, const EngineConfig& config, int instance) {
  switch (kind) {
    case EngineKind::kUltraDict:
      return CreateUltraDict(config, instance);
    case EngineKind::kHashMap:
      return std::unique_ptr<Engine>(new HashMapEngine());
    case EngineKind::kLmdb:
      return CreateLmdb(config, instance);
  }
  return absl::InvalidArgumentError("unknown engine");
}

absl::StatusOr<std::unique_ptr<Engine>> AttachEngine(
    EngineKind kind, const EngineConfig& config, const std::string& location) {
  switch (kind) {
    case EngineKind::kUltraDict: {
      Options options = UdOptions(config);
      options.create_if_missing = false;
      auto db = DB::Open(options, location);
      if (!db.ok()) return db.status();
      return std::unique_ptr<Engine>(new UltraDictEngine(
          std::move(*db), options, /*owned=*/false, /*slot=*/-1));
    }
    case EngineKind::kLmdb: {
      auto engine = std::make_unique<LmdbEngine>(
          location, config.lmdb_map_size, /*owned=*/false, /*slot=*/-1);
      absl::Status s = engine->Open();
      if (!s.ok()) return s;
      return std::unique_ptr<Engine>(std::move(engine));
    }
    case EngineKind::kHashMap:
      break;
  }
  return absl::InvalidArgumentError(
      absl::StrCat(EngineName(kind), " cannot be shared between processes"));
}

void InstallCleanupHandlers() {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
}

void RegisterChild(pid_t pid) {
  std::lock_guard<std::mutex> lock(g_registry_mu);
  for (int i = 0; i < kMaxChildren; ++i) {
    if (g_children[i] == 0) {
      g_children[i] = pid;
      return;
    }
  }
}

void UnregisterChild(pid_t pid) {
  std::lock_guard<std::mutex> lock(g_registry_mu);
  for (int i = 0; i < kMaxChildren; ++i) {
    if (g_children[i] == pid) g_children[i] = 0;
  }
}

}  // namespace bench
}  // namespace ultradict
