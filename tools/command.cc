// command.cc: see command.h.

#include "tools/command.h"

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "port/port.h"
#include "util/strings.h"

namespace ultradict {
namespace tool {

namespace {

const FlagSpec* FindFlag(const Command& command, std::string_view name) {
  for (const FlagSpec& f : command.flags) {
    if (name == f.name) return &f;
  }
  for (const FlagSpec& f : CommonFlags()) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

}  // namespace

absl::Status Args::UintFlag(const std::string& flag, uint64_t* value) const {
  if (!absl::SimpleAtoi(Flag(flag), value) || Flag(flag).empty() ||
      Flag(flag)[0] == '-' || Flag(flag)[0] == '+') {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", flag, " wants a non-negative integer, not \"", Flag(flag), "\""));
  }
  return absl::OkStatus();
}

const std::vector<FlagSpec>& CommonFlags() {
  static const std::vector<FlagSpec> flags = {
      {"dir", true,
       "segment directory (default: $ULTRADICT_DIR, else /dev/shm)"},
      {"help", false, "show this help"},
  };
  return flags;
}

absl::Status ParseArgs(const Command& command, int argc, char** argv,
                       int first, Args* args, bool* help) {
  *help = false;
  args->command = command.name;
  bool flags_done = false;
  for (int i = first; i < argc; i++) {
    const std::string arg = argv[i];
    if (flags_done || arg == "-" || arg.size() < 2 || arg[0] != '-') {
      args->positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg == "-h") {
      *help = true;
      continue;
    }
    if (arg.compare(0, 2, "--") != 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown option ", arg, " (use -- before an argument that starts "
          "with '-')"));
    }
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(2, eq == std::string::npos ? eq : eq - 2);
    const FlagSpec* spec = FindFlag(command, name);
    if (spec == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag --", name, " (see ultradict ",
                       command.name, " --help)"));
    }
    std::string value;
    if (spec->takes_value) {
      if (eq != std::string::npos) {
        value = arg.substr(eq + 1);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("flag --", name, " needs a value"));
      }
    } else if (eq != std::string::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("flag --", name, " takes no value"));
    }
    if (name == "help") *help = true;
    args->flags[name] = value;
  }
  if (args->Has("dir") && args->Flag("dir").empty()) {
    return absl::InvalidArgumentError("--dir needs a directory");
  }
  args->dir = port::SegmentDirectory(args->Flag("dir"));
  if (*help) return absl::OkStatus();
  const int n = static_cast<int>(args->positional.size());
  if (n < command.min_args || n > command.max_args) {
    return absl::InvalidArgumentError(
        absl::StrCat(n < command.min_args ? "missing arguments"
                                          : "too many arguments",
                     "; usage: ultradict ", command.usage));
  }
  return absl::OkStatus();
}

std::string CommandHelp(const Command& command) {
  std::string out = absl::StrCat("Usage: ultradict ", command.usage, "\n\n",
                                 command.summary, ".\n\n", command.help);
  if (!out.empty() && out.back() != '\n') out.push_back('\n');
  out += "\nFlags:\n";
  auto add = [&out](const FlagSpec& f) {
    std::string left = absl::StrCat("  --", f.name, f.takes_value ? " VALUE" : "");
    if (left.size() < 22) left.resize(22, ' ');
    absl::StrAppend(&out, left, " ", f.help, "\n");
  };
  for (const FlagSpec& f : command.flags) add(f);
  for (const FlagSpec& f : CommonFlags()) add(f);
  out +=
      "\nExit codes: 0 ok, 1 not found (key or dictionary), 2 usage error,\n"
      "3 damage found, 4 other error.\n";
  return out;
}

int ExitCodeFor(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  if (absl::IsNotFound(status)) return kExitNotFound;
  if (absl::IsInvalidArgument(status)) return kExitUsage;
  if (absl::IsDataLoss(status)) return kExitDamage;
  return kExitError;
}

int Fail(const Args& args, int code, std::string_view message) {
  std::string line = absl::StrReplaceAll(AsAbsl(message), {{"\n", " "}});
  if (line.empty()) line = "failed";
  std::fflush(stdout);
  std::fprintf(stderr, "ultradict: %s: %s\n", args.command.c_str(),
               line.c_str());
  return code;
}

int Fail(const Args& args, const absl::Status& status) {
  return Fail(args, ExitCodeFor(status),
              std::string_view(status.message().data(), status.message().size()));
}

bool WriteOut(std::string_view bytes) {
  return std::fwrite(bytes.data(), 1, bytes.size(), stdout) == bytes.size();
}

bool FlushOut() { return std::fflush(stdout) == 0 && !std::ferror(stdout); }

}  // namespace tool
}  // namespace ultradict
