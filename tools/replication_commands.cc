// replication_commands.cc: `ultradict publish` and `ultradict follow`
// (replication through Redis Streams, doc/replication.md), and the
// replication parts of `ultradict stat` (--digest; position and lag of a
// publisher or follower of the dictionary).

#include <csignal>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "db/filename.h"
#include "replication/digest.h"
#include "replication/follower.h"
#include "replication/publisher.h"
#include "replication/redis_client.h"
#include "replication/state_file.h"
#include "tools/command.h"
#include "ultradict/db.h"

namespace ultradict {
namespace tool {

namespace {

using replication::ReplicaState;

std::atomic<bool> g_stop{false};
extern "C" void OnReplicationStop(int) { g_stop.store(true); }

// The `stat` command as db_commands.cc defines it (wrapped below).
int (*g_plain_stat)(const Args&) = nullptr;

absl::StatusOr<std::unique_ptr<DB>> Open(const Args& args, bool create,
                                         bool observer) {
  const std::string& name = args.positional[0];
  absl::Status s = ValidateName(name);
  if (!s.ok()) return s;
  Options options;
  options.directory = args.dir;
  options.create_if_missing = create;
  options.observer = observer;
  absl::StatusOr<std::unique_ptr<DB>> db = DB::Open(options, name);
  if (absl::IsNotFound(db.status())) {
    return absl::NotFoundError(
        absl::StrCat("dictionary \"", name, "\" does not exist in ", args.dir));
  }
  return db;
}

replication::LogFn Logger(const Args& args) {
  const std::string command = args.command;
  return [command](std::string_view line) {
    std::fprintf(stderr, "ultradict: %s: %.*s\n", command.c_str(),
                 static_cast<int>(line.size()), line.data());
    std::fflush(stderr);
  };
}

void CatchStopSignals() {
  std::signal(SIGINT, OnReplicationStop);
  std::signal(SIGTERM, OnReplicationStop);
  std::signal(SIGPIPE, SIG_IGN);
}

int RunPublish(const Args& args) {
  replication::PublisherOptions options;
  options.redis_url = args.Flag("redis");
  options.stream = args.Flag("stream");
  uint64_t n;
  if (args.Has("checkpoint-every")) {
    absl::Status s = args.UintFlag("checkpoint-every", &n);
    if (!s.ok() || n == 0)
      return Fail(args, kExitUsage,
                  "--checkpoint-every wants a positive integer");
    options.checkpoint_every_records = n;
  }
  if (args.Has("checkpoint-seconds")) {
    absl::Status s = args.UintFlag("checkpoint-seconds", &n);
    if (!s.ok() || n == 0)
      return Fail(args, kExitUsage,
                  "--checkpoint-seconds wants a positive integer");
    options.checkpoint_interval_ms = static_cast<int64_t>(n) * 1000;
  }
  if (args.Has("keep-checkpoints")) {
    absl::Status s = args.UintFlag("keep-checkpoints", &n);
    if (!s.ok() || n == 0 || n > 100)
      return Fail(args, kExitUsage, "--keep-checkpoints wants 1..100");
    options.keep_checkpoints = static_cast<int>(n);
  }
  if (args.Has("entry-records")) {
    absl::Status s = args.UintFlag("entry-records", &n);
    if (!s.ok() || n == 0 || n > 65536)
      return Fail(args, kExitUsage, "--entry-records wants 1..65536");
    options.max_records_per_entry = static_cast<uint32_t>(n);
  }
  absl::StatusOr<replication::RedisUrl> url =
      replication::RedisUrl::Parse(options.redis_url);
  if (!url.ok()) return Fail(args, url.status());
  auto db = Open(args, /*create=*/false, /*observer=*/true);
  if (!db.ok()) return Fail(args, db.status());
  options.state_path = replication::PublishStatePath(args.dir, (*db)->name());
  options.log = Logger(args);
  CatchStopSignals();
  replication::Publisher publisher(db->get(), options);
  absl::Status s = publisher.Run(g_stop);
  if (!s.ok()) return Fail(args, s);
  Logger(args)(absl::StrCat("stopped at sequence ", publisher.position()));
  return kExitOk;
}

int RunFollow(const Args& args) {
  replication::FollowerOptions options;
  options.redis_url = args.Flag("redis");
  options.stream = args.Flag("stream");
  options.id = args.Flag("id");
  absl::StatusOr<replication::RedisUrl> url =
      replication::RedisUrl::Parse(options.redis_url);
  if (!url.ok()) return Fail(args, url.status());
  auto db = Open(args, /*create=*/true, /*observer=*/false);
  if (!db.ok()) return Fail(args, db.status());
  options.directory = args.dir;
  options.state_path = replication::FollowStatePath(args.dir, (*db)->name());
  options.log = Logger(args);
  CatchStopSignals();
  replication::Follower follower(db->get(), options);
  absl::Status s = follower.Run(g_stop);
  if (!s.ok()) return Fail(args, s);
  Logger(args)(absl::StrCat("stopped at sequence ", follower.position()));
  return kExitOk;
}

int RunUnfollow(const Args& args) {
  auto db = Open(args, /*create=*/false, /*observer=*/true);
  if (!db.ok()) return Fail(args, db.status());
  std::string primary;
  (*db)->GetProperty("ultradict.replica-of", &primary);
  absl::Status s = (*db)->SetReplicaOf("");
  if (!s.ok()) return Fail(args, s);
  const std::string out =
      primary.empty() ? absl::StrCat((*db)->name(), " was not a replica\n")
                      : absl::StrCat((*db)->name(), " no longer follows ",
                                     primary, ": writable\n");
  if (!WriteOut(out) || !FlushOut()) {
    return Fail(args, kExitError, "error writing to stdout");
  }
  return kExitOk;
}

// "publisher at N" from KEY:publisher, or why not (Redis is not required).
std::string PublisherPosition(const ReplicaState& st, uint64_t* position) {
  *position = 0;
  // The state file holds the URL without the password: stat reaches only
  // a Redis without AUTH (or says so).
  absl::StatusOr<replication::RedisUrl> url =
      replication::RedisUrl::Parse(st.url);
  if (!url.ok()) return "unknown (no URL)";
  if (!url->password.empty()) return "unknown (Redis needs AUTH)";
  auto redis = replication::RedisClient::Connect(*url, 500);
  if (!redis.ok())
    return absl::StrCat("unknown (", redis.status().message(), ")");
  auto r = (*redis)->Command({"HGET", st.stream + ":publisher", "position"});
  if (!r.ok() || r->type != replication::Reply::kString ||
      !absl::SimpleAtoi(r->str, position)) {
    return "unknown (no publisher has reported)";
  }
  return absl::StrCat(*position);
}

std::string ReplicationLines(const Args& args, DB* db) {
  std::string out;
  const std::string& name = db->name();
  absl::StatusOr<ReplicaState> f =
      replication::ReadState(replication::FollowStatePath(args.dir, name));
  if (f.ok()) {
    uint64_t primary = 0;
    const std::string at = PublisherPosition(*f, &primary);
    absl::StrAppend(&out, "replication: follower of ", f->stream, " at ",
                    f->url, "\n", "replication position: ", f->position, "\n",
                    "replication publisher position: ", at, "\n");
    if (primary != 0) {
      absl::StrAppend(&out, "replication lag: ",
                      primary > f->position ? primary - f->position : 0,
                      " records\n");
    }
  }
  absl::StatusOr<ReplicaState> p =
      replication::ReadState(replication::PublishStatePath(args.dir, name));
  if (p.ok()) {
    const uint64_t latest = db->LatestSequence();
    absl::StrAppend(&out, "replication: publisher to ", p->stream, " at ",
                    p->url, "\n", "replication published: ", p->position, "\n",
                    "replication publish lag: ",
                    latest > p->position ? latest - p->position : 0,
                    " records\n");
  }
  return out;
}

int RunStatWithReplication(const Args& args) {
  if (!args.Has("digest")) {
    const int code = g_plain_stat(args);
    if (code != kExitOk || args.Has("json")) return code;
    auto db = Open(args, /*create=*/false, /*observer=*/true);
    if (!db.ok()) return code;
    if (!WriteOut(ReplicationLines(args, db->get())) || !FlushOut()) {
      return Fail(args, kExitError, "error writing to stdout");
    }
    return kExitOk;
  }
  auto db = Open(args, /*create=*/false, /*observer=*/true);
  if (!db.ok()) return Fail(args, db.status());
  absl::StatusOr<replication::Digest> d = replication::ComputeDigest(db->get());
  if (!d.ok()) return Fail(args, d.status());
  std::string out =
      args.Has("json")
          ? absl::StrCat("{\"digest\":\"", d->Hex(),
                         "\",\"entries\":", d->entries,
                         ",\"sequence\":", d->sequence, "}\n")
          : absl::StrCat("digest: ", d->Hex(), "\nentries: ", d->entries,
                         "\nsequence: ", d->sequence, "\n");
  if (!WriteOut(out) || !FlushOut()) {
    return Fail(args, kExitError, "error writing to stdout");
  }
  return kExitOk;
}

}  // namespace

void AddReplicationToStat(std::vector<Command>* commands) {
  for (Command& c : *commands) {
    if (std::string(c.name) != "stat") continue;
    g_plain_stat = c.run;
    c.run = RunStatWithReplication;
    c.usage = "stat NAME [--json] [--digest]";
    c.flags.push_back(
        {"digest", false,
         "print an order-independent digest of the contents instead"});
  }
}

std::vector<Command> ReplicationCommands() {
  return {
      {"publish",
       "Replicate a dictionary to a Redis stream (runs until SIGTERM)",
       "publish NAME --redis redis://HOST:PORT[/DB] [--stream KEY]",
       "Appends every committed update of NAME to the stream (default\n"
       "ultradict:NAME), a batch as one unit, in commit order, and writes\n"
       "checkpoints (full dumps) to Redis periodically and when a follower\n"
       "asks. Resumes after the stream's top when restarted. Retries with\n"
       "backoff while Redis is unreachable. Exits 0 on SIGTERM/SIGINT, 4\n"
       "when the stream belongs to another dictionary or format. See\n"
       "doc/replication.md.\n",
       {{"redis", true, "redis://[user:pass@]HOST:PORT[/DB] (required)"},
        {"stream", true, "stream key (default ultradict:NAME)"},
        {"checkpoint-every", true, "records between checkpoints (1000000)"},
        {"checkpoint-seconds", true, "seconds between checkpoints (600)"},
        {"keep-checkpoints", true,
         "checkpoints kept; the stream is trimmed "
         "behind the oldest (2)"},
        {"entry-records", true, "most records per stream entry (512)"}},
       1,
       1,
       RunPublish},
      {"follow",
       "Apply a dictionary's Redis stream to a local copy (until SIGTERM)",
       "follow NAME --redis redis://HOST:PORT[/DB] [--stream KEY]",
       "Creates or attaches the local dictionary NAME and applies the\n"
       "stream in order, each entry as one atomic write; bootstraps from the\n"
       "newest checkpoint when new or behind a trimmed stream. Keeps its\n"
       "position in DIR/ud-follow.NAME. Local readers use NAME as usual.\n"
       "Exits 0 on SIGTERM/SIGINT, 4 on a stream of another dictionary, a\n"
       "foreign or incompatible entry, 3 on a damaged one (nothing of it\n"
       "applied).\n",
       {{"redis", true, "redis://[user:pass@]HOST:PORT[/DB] (required)"},
        {"stream", true, "stream key (default ultradict:NAME)"},
        {"id", true, "name in KEY:followers (default HOST:PID)"}},
       1,
       1,
       RunFollow},
      {"unfollow",
       "Make a followed dictionary writable again (clears its replica mark)",
       "unfollow NAME",
       "A follower marks NAME a replica of its stream: other writers get\n"
       "FailedPrecondition (exit 4) naming the primary. The mark stays when\n"
       "the follower stops, so the copy stays read-only; this clears it\n"
       "(DB::SetReplicaOf(\"\")). Stop the follower first: a running one goes\n"
       "on applying the stream, and undoes local writes by loading the\n"
       "newest checkpoint again.\n",
       {},
       1,
       1,
       RunUnfollow},
  };
}

}  // namespace tool
}  // namespace ultradict
