// redis_client.cc: see redis_client.h.

#include "replication/redis_client.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "util/strings.h"

namespace ultradict {
namespace replication {

namespace {

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::kString;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::kStatus;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::kError;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::kInteger;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::kArray;
      out.elements.reserve(r->elements);
      for (size_t i = 0; i < r->elements; i++) {
        out.elements.push_back(Convert(r->element[i]));
      }
      break;
    default:
      out.type = Reply::kNil;
  }
  return out;
}

struct timeval Millis(int ms) {
  struct timeval tv;
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

}  // namespace

absl::StatusOr<RedisUrl> RedisUrl::Parse(std::string_view url) {
  RedisUrl out;
  const std::string_view scheme = "redis://";
  if (absl::StartsWith(AsAbsl(url), "rediss://")) {
    return absl::InvalidArgumentError(
        "rediss:// (TLS) is not supported: Debian 12's hiredis 0.14 has no "
        "TLS; use a TLS tunnel (stunnel, spiped) to a local port");
  }
  if (!absl::StartsWith(AsAbsl(url), AsAbsl(scheme))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Redis URL \"", AsAbsl(url), "\" must start with redis://"));
  }
  std::string_view rest = url.substr(scheme.size());
  const size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const size_t colon = cred.find(':');
    if (colon == std::string_view::npos) {
      out.password = std::string(cred);
    } else {
      out.user = std::string(cred.substr(0, colon));
      out.password = std::string(cred.substr(colon + 1));
    }
  }
  const size_t slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && (!absl::SimpleAtoi(AsAbsl(db), &out.db) || out.db < 0)) {
      return absl::InvalidArgumentError(
          absl::StrCat("Redis URL \"", AsAbsl(url), "\": database \"",
                       AsAbsl(db), "\" is not a non-negative number"));
    }
  }
  const size_t colon = hostport.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view port = hostport.substr(colon + 1);
    if (!absl::SimpleAtoi(AsAbsl(port), &out.port) || out.port <= 0 ||
        out.port > 65535) {
      return absl::InvalidArgumentError(absl::StrCat(
          "Redis URL \"", AsAbsl(url), "\": bad port \"", AsAbsl(port), "\""));
    }
    hostport = hostport.substr(0, colon);
  }
  if (hostport.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Redis URL \"", AsAbsl(url), "\" has no host"));
  }
  out.host = std::string(hostport);
  return out;
}

std::string RedisUrl::Display() const {
  std::string cred;
  if (!password.empty()) cred = absl::StrCat(user, ":***@");
  return absl::StrCat("redis://", cred, host, ":", port, "/", db);
}

const Reply* Reply::Field(std::string_view name) const {
  if (type != kArray) return nullptr;
  for (size_t i = 0; i + 1 < elements.size(); i += 2) {
    if (elements[i].str == name) return &elements[i + 1];
  }
  return nullptr;
}

RedisClient::RedisClient(redisContext* context, RedisUrl url)
    : context_(context), url_(std::move(url)) {}

RedisClient::~RedisClient() { redisFree(context_); }

absl::StatusOr<std::unique_ptr<RedisClient>> RedisClient::Connect(
    const RedisUrl& url, int timeout_ms) {
  redisContext* c =
      redisConnectWithTimeout(url.host.c_str(), url.port, Millis(timeout_ms));
  if (c == nullptr) {
    return absl::ResourceExhaustedError("hiredis: out of memory");
  }
  if (c->err != 0) {
    std::string msg = absl::StrCat("cannot connect to Redis at ", url.Display(),
                                   ": ", c->errstr);
    redisFree(c);
    return absl::UnavailableError(msg);
  }
  std::unique_ptr<RedisClient> client(new RedisClient(c, url));
  absl::Status s = client->SetTimeout(timeout_ms);
  if (!s.ok()) return s;
  if (!url.password.empty()) {
    std::vector<std::string> auth = {"AUTH"};
    if (!url.user.empty()) auth.push_back(url.user);
    auth.push_back(url.password);
    absl::StatusOr<Reply> r = client->Command(auth);
    if (!r.ok()) {
      if (absl::IsUnavailable(r.status())) return r.status();
      return absl::PermissionDeniedError(absl::StrCat(
          "Redis at ", url.Display(), " refused AUTH: ", r.status().message()));
    }
  }
  if (url.db != 0) {
    absl::StatusOr<Reply> r = client->Command({"SELECT", absl::StrCat(url.db)});
    if (!r.ok()) return r.status();
  }
  return client;
}

absl::Status RedisClient::SetTimeout(int timeout_ms) {
  if (redisSetTimeout(context_, Millis(timeout_ms)) != REDIS_OK) {
    return ContextError("setting the timeout");
  }
  return absl::OkStatus();
}

absl::Status RedisClient::ContextError(std::string_view what) const {
  return absl::UnavailableError(
      absl::StrCat("Redis at ", url_.Display(), ": ", AsAbsl(what), ": ",
                   context_->err != 0 ? context_->errstr : "connection lost"));
}

absl::Status RedisClient::Append(const std::vector<std::string>& argv) {
  if (context_->err != 0) return ContextError("connection broken");
  std::vector<const char*> ptrs;
  std::vector<size_t> lens;
  ptrs.reserve(argv.size());
  lens.reserve(argv.size());
  for (const std::string& a : argv) {
    ptrs.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(context_, static_cast<int>(argv.size()),
                             ptrs.data(), lens.data()) != REDIS_OK) {
    return ContextError("sending a command");
  }
  return absl::OkStatus();
}

absl::StatusOr<Reply> RedisClient::GetReply() {
  void* raw = nullptr;
  if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
    return ContextError("reading a reply");
  }
  redisReply* r = static_cast<redisReply*>(raw);
  Reply out = Convert(r);
  freeReplyObject(r);
  return out;
}

absl::Status ErrorReply(std::string_view command, const std::string& text) {
  const std::string msg = absl::StrCat("Redis ", AsAbsl(command), ": ", text);
  // A server that is starting, busy or failing over: retry later.
  for (const char* transient : {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN",
                                "CLUSTERDOWN", "READONLY"}) {
    if (absl::StartsWith(text, transient)) return absl::UnavailableError(msg);
  }
  return absl::FailedPreconditionError(msg);
}

absl::StatusOr<Reply> RedisClient::Command(
    const std::vector<std::string>& argv) {
  absl::Status s = Append(argv);
  if (!s.ok()) return s;
  absl::StatusOr<Reply> r = GetReply();
  if (r.ok() && r->type == Reply::kError) {
    return ErrorReply(argv.empty() ? "" : argv[0], r->str);
  }
  return r;
}

bool ParseStreamId(std::string_view id, uint64_t* ms, uint64_t* seq) {
  const size_t dash = id.find('-');
  if (dash == std::string_view::npos) return false;
  return absl::SimpleAtoi(AsAbsl(id.substr(0, dash)), ms) &&
         absl::SimpleAtoi(AsAbsl(id.substr(dash + 1)), seq);
}

}  // namespace replication
}  // namespace ultradict
