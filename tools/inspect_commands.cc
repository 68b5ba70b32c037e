// inspect_commands.cc: `dump` and `verify`, which read segment files with
// the inspector (inspect.h) and never open the dictionary (no write lock,
// no member slot): they work on live, wedged and copied segments alike.

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "tools/command.h"
#include "tools/inspect.h"

namespace ultradict {
namespace tool {

namespace {

// Runs the inspection that args ask for: NAME or --segment FILE.
absl::Status Inspect(const Args& args, const InspectOptions& options,
                     Inspection* result) {
  const bool segment = args.Has("segment");
  if (segment == !args.positional.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("give either NAME or --segment FILE; usage: ultradict ",
                     args.command, " NAME | --segment FILE"));
  }
  if (segment) {
    if (args.Flag("segment").empty()) {
      return absl::InvalidArgumentError("--segment needs a file");
    }
    return InspectSegmentFile(args.Flag("segment"), options, result);
  }
  return InspectDictionary(args.dir, args.positional[0], options, result);
}

int Done(const Args& args, const Inspection& result, std::string_view out) {
  if (!WriteOut(out) || !FlushOut()) {
    return Fail(args, kExitError, "error writing to stdout");
  }
  if (result.problems() > 0) {
    return Fail(args, kExitDamage,
                absl::StrCat(result.problems(), " problems found (see above)"));
  }
  return kExitOk;
}

int RunDump(const Args& args) {
  Inspection result;
  absl::Status s = Inspect(args, InspectOptions{/*items=*/true}, &result);
  if (!s.ok()) return Fail(args, s);
  return Done(args, result, args.Has("json") ? result.Json() : result.Text());
}

int RunVerify(const Args& args) {
  Inspection result;
  absl::Status s = Inspect(args, InspectOptions{/*items=*/false}, &result);
  if (!s.ok()) return Fail(args, s);
  return Done(args, result, result.VerifyText());
}

}  // namespace

std::vector<Command> InspectCommands() {
  return {
      {"dump", "Print every field, record and entry of the segments",
       "dump NAME [--json] | dump --segment FILE [--json]",
       "Reads the segment files directly (never opens the dictionary, takes\n"
       "no lock). For NAME: the control segment (header, head, counters,\n"
       "members), then the snapshot and the log of the head's generation,\n"
       "the log up to the head offset. --segment FILE dumps one file of any\n"
       "kind (control, log or snapshot, told by its magic), e.g. a copy.\n"
       "Each log record shows offset, size, type, compressed, checksum and\n"
       "its operations (key, value length); each snapshot entry its key,\n"
       "value length, compressed and checksum. Damage is marked BAD and\n"
       "listed as DAMAGE lines; the last line is a summary. Keys are escaped\n"
       "as in `ls`. Exits 3 when damage was found.\n",
       {{"segment", true, "dump this one segment file instead of NAME"},
        {"json", false, "print one JSON object"}},
       0, 1, RunDump},
      {"verify", "Check every checksum, bound and invariant of the segments",
       "verify NAME | verify --segment FILE",
       "Checks what dump shows without printing it: control header, state,\n"
       "head within the log; log header and every record below the head\n"
       "(checksum, bounds, decompression, write batch); snapshot header,\n"
       "body checksum, every entry (checksum, bounds, decompression), keys\n"
       "strictly increasing, every entry found through the hash index.\n"
       "Prints \"ok PATH\" or \"DAMAGED PATH\" per segment with one DAMAGE line\n"
       "per problem (naming segment and offset), then a summary. Exits 0\n"
       "when clean, 3 when damage was found.\n",
       {{"segment", true, "verify this one segment file instead of NAME"}},
       0, 1, RunVerify},
  };
}

}  // namespace tool
}  // namespace ultradict
