// redis_client.h: a small synchronous Redis client over hiredis 0.14 for
// the replication component: URL parsing (redis://[user:pass@]host:port[/db]),
// connection with AUTH and SELECT, commands with binary-safe arguments,
// pipelining, and every failure as an absl::Status.
//
//   auto client =
//   RedisClient::Connect(*RedisUrl::Parse("redis://127.0.0.1:6379")); auto
//   reply = (*client)->Command({"XADD", "s", "1-0", "e", bytes});
//
// Errors: Unavailable when Redis cannot be reached or the connection
// broke (retry after reconnecting); InvalidArgument for a malformed URL;
// FailedPrecondition for an error reply (the server refused the command;
// its text is in the message; Unavailable while it loads its data);
// PermissionDenied for a refused AUTH. Thread safety: a RedisClient is used by
// one thread at a time. TLS: hiredis 0.14 (Debian 12) has none; rediss:// URLs
// are refused.

#ifndef ULTRADICT_REPLICATION_REDIS_CLIENT_H_
#define ULTRADICT_REPLICATION_REDIS_CLIENT_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct redisContext;
struct redisReply;

namespace ultradict {
namespace replication {

struct RedisUrl {
  std::string host;
  int port = 6379;
  int db = 0;
  std::string user;      // Empty: AUTH with the password alone (or none).
  std::string password;  // Empty: no AUTH.

  // redis://[[user]:password@]host[:port][/db]; InvalidArgument otherwise.
  static absl::StatusOr<RedisUrl> Parse(std::string_view url);
  // The URL without the password (for messages and logs).
  std::string Display() const;
};

// A reply, owned. Arrays hold their elements.
class Reply {
 public:
  enum Type { kString, kArray, kInteger, kNil, kStatus, kError };
  Type type = kNil;
  std::string str;  // kString, kStatus, kError.
  long long integer = 0;
  std::vector<Reply> elements;

  bool is_nil() const { return type == kNil; }
  // The field `name` of a flat [name, value, ...] array (XINFO, HGETALL);
  // nullptr when absent.
  const Reply* Field(std::string_view name) const;
};

class RedisClient {
 public:
  // Connects (timeout_ms for connecting and for each reply), then AUTH and
  // SELECT as the URL says.
  static absl::StatusOr<std::unique_ptr<RedisClient>> Connect(
      const RedisUrl& url, int timeout_ms = 5000);
  ~RedisClient();
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Sends one command and waits for its reply. An error reply is
  // FailedPrecondition with the server's text.
  absl::StatusOr<Reply> Command(const std::vector<std::string>& argv);
  // Pipelining: queue commands, then read their replies in order. A broken
  // connection is Unavailable; error replies are returned as kError
  // replies, for the caller to judge.
  absl::Status Append(const std::vector<std::string>& argv);
  absl::StatusOr<Reply> GetReply();

  // The timeout of each reply (e.g. above an XREAD's BLOCK time).
  absl::Status SetTimeout(int timeout_ms);
  const RedisUrl& url() const { return url_; }

 private:
  RedisClient(redisContext* context, RedisUrl url);
  absl::Status ContextError(std::string_view what) const;

  redisContext* context_;
  RedisUrl url_;
};

// The status of an error reply to `command`: Unavailable for a server that
// is loading, busy or failing over (LOADING, BUSY, TRYAGAIN, MASTERDOWN,
// CLUSTERDOWN, READONLY), else FailedPrecondition.
absl::Status ErrorReply(std::string_view command, const std::string& text);

// The (ms, seq) pair of a stream entry ID "ms-seq"; false when malformed.
bool ParseStreamId(std::string_view id, uint64_t* ms, uint64_t* seq);

}  // namespace replication
}  // namespace ultradict

#endif  // ULTRADICT_REPLICATION_REDIS_CLIENT_H_
