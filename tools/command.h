// command.h: the subcommands of the `ultradict` tool (rocksdb ldb style).
//
// Each subcommand is a Command: a name, a one-line summary, a usage line, a
// help text, the flags it takes and a run function. ultradict_main.cc holds
// the table; db_commands.cc (commands that open the dictionary) and
// inspect_commands.cc (dump/verify, which read segments without opening
// it) define them.
//
// Exit codes (frozen: scripts test them; see doc/cli.md):
//   0 ok, 1 not found (key or dictionary), 2 usage error, 3 damage found,
//   4 any other error.
// Errors go to stderr as one line: "ultradict: <command>: <message>".

#ifndef ULTRADICT_TOOLS_COMMAND_H_
#define ULTRADICT_TOOLS_COMMAND_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace ultradict {
namespace tool {

enum ExitCode : int {
  kExitOk = 0,
  kExitNotFound = 1,
  kExitUsage = 2,
  kExitDamage = 3,
  kExitError = 4,
};

struct FlagSpec {
  const char* name;  // Without the leading "--".
  bool takes_value;  // "--name VALUE" / "--name=VALUE"; else a switch.
  const char* help;  // One line, shown in the command's help.
};

// A parsed command line (flags anywhere, "--" ends them).
struct Args {
  std::string command;
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;  // Switches map to "".
  std::string dir;  // The segment directory (--dir, $ULTRADICT_DIR, /dev/shm).

  bool Has(const std::string& flag) const { return flags.count(flag) != 0; }
  std::string Flag(const std::string& flag) const {
    auto it = flags.find(flag);
    return it == flags.end() ? "" : it->second;
  }
  // A non-negative integer flag; InvalidArgument when malformed.
  absl::Status UintFlag(const std::string& flag, uint64_t* value) const;
};

struct Command {
  const char* name;
  const char* summary;  // One line, for `ultradict --help`.
  const char* usage;    // e.g. "put NAME KEY VALUE".
  const char* help;     // Paragraphs after the usage line.
  std::vector<FlagSpec> flags;  // Besides the common --dir and --help.
  int min_args;
  int max_args;
  int (*run)(const Args& args);
};

// Flags every command takes.
const std::vector<FlagSpec>& CommonFlags();

// Parses argv[first..argc) for `command`. InvalidArgument (a usage error)
// on an unknown flag, a missing flag value or a wrong argument count.
// *help is set (and the count not checked) for --help / -h.
absl::Status ParseArgs(const Command& command, int argc, char** argv,
                       int first, Args* args, bool* help);

// The full help of one command (usage, text, flags, exit codes).
std::string CommandHelp(const Command& command);

// The exit code for an error status: NotFound 1, InvalidArgument 2,
// DataLoss 3, else 4.
int ExitCodeFor(const absl::Status& status);

// Prints "ultradict: <command>: <message>" (one line) to stderr and
// returns `code`.
int Fail(const Args& args, int code, std::string_view message);
// Fail with ExitCodeFor(status) and the status message.
int Fail(const Args& args, const absl::Status& status);

// Writes bytes to stdout; false on a write error.
bool WriteOut(std::string_view bytes);
// Flushes stdout; false when anything written failed.
bool FlushOut();

// The commands of each file.
std::vector<Command> DbCommands();
std::vector<Command> InspectCommands();
// publish/follow, and stat's --digest and replication lines
// (replication_commands.cc).
std::vector<Command> ReplicationCommands();
void AddReplicationToStat(std::vector<Command>* commands);

}  // namespace tool
}  // namespace ultradict

#endif  // ULTRADICT_TOOLS_COMMAND_H_
