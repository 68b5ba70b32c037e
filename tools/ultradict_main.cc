// ultradict_main.cc: the `ultradict` command-line tool. Looks up the
// subcommand in the table (command.h) and runs it.
//
//   ultradict put sessions user:42 alice
//   ultradict get sessions user:42
//   ultradict verify sessions
//
// See `ultradict --help` and doc/cli.md.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/command.h"
#include "ultradict/version.h"

namespace ultradict {
namespace tool {
namespace {

std::vector<Command> AllCommands() {
  std::vector<Command> commands = DbCommands();
  for (Command& c : InspectCommands()) commands.push_back(std::move(c));
  for (Command& c : ReplicationCommands()) commands.push_back(std::move(c));
  AddReplicationToStat(&commands);
  return commands;
}

std::string ToolHelp(const std::vector<Command>& commands) {
  std::string out =
      "Usage: ultradict COMMAND [ARGS] [--dir DIR]\n"
      "       ultradict help [COMMAND] | ultradict COMMAND --help\n"
      "       ultradict --version\n\n"
      "Inspect and change UltraDict dictionaries (shared-memory key-value\n"
      "stores) from the shell.\n\nCommands:\n";
  for (const Command& c : commands) {
    std::string name = absl::StrCat("  ", c.name);
    name.resize(12, ' ');
    absl::StrAppend(&out, name, c.summary, "\n");
  }
  absl::StrAppend(
      &out,
      "\nEvery command takes --dir DIR: the segment directory (default:\n"
      "$ULTRADICT_DIR when set, else /dev/shm).\n\n"
      "Exit codes:\n"
      "  0  ok\n"
      "  1  not found (key or dictionary)\n"
      "  2  usage error (unknown command or flag, missing arguments, bad name)\n"
      "  3  damage found (verify, dump, or a damaged segment met by any command)\n"
      "  4  any other error\n");
  return out;
}

int Main(int argc, char** argv) {
  const std::vector<Command> commands = AllCommands();
  auto find = [&commands](const std::string& name) -> const Command* {
    for (const Command& c : commands) {
      if (name == c.name) return &c;
    }
    return nullptr;
  };
  if (argc < 2) {
    std::fputs(ToolHelp(commands).c_str(), stderr);
    return kExitUsage;
  }
  const std::string first = argv[1];
  if (first == "--version") {
    std::printf("ultradict %s\n", ULTRADICT_VERSION_STRING);
    return kExitOk;
  }
  if (first == "--help" || first == "-h" || first == "help") {
    if (first == "help" && argc > 2) {
      const Command* c = find(argv[2]);
      if (c == nullptr) {
        std::fprintf(stderr, "ultradict: unknown command \"%s\" (see ultradict --help)\n",
                     argv[2]);
        return kExitUsage;
      }
      std::fputs(CommandHelp(*c).c_str(), stdout);
      return kExitOk;
    }
    std::fputs(ToolHelp(commands).c_str(), stdout);
    return kExitOk;
  }
  const Command* command = find(first);
  if (command == nullptr) {
    std::fprintf(stderr, "ultradict: unknown command \"%s\" (see ultradict --help)\n",
                 first.c_str());
    return kExitUsage;
  }
  Args args;
  bool help = false;
  absl::Status s = ParseArgs(*command, argc, argv, 2, &args, &help);
  if (help) {
    std::fputs(CommandHelp(*command).c_str(), stdout);
    return kExitOk;
  }
  if (!s.ok()) return Fail(args, s);  // InvalidArgument: exit 2.
  return command->run(args);
}

}  // namespace
}  // namespace tool
}  // namespace ultradict

int main(int argc, char** argv) { return ultradict::tool::Main(argc, argv); }
