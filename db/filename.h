// filename.h: names of a dictionary's segment files.
//
// A dictionary N in directory D is made of:
//   D/ud.N            control segment (see control_block.h)
//   D/ud.N.<gen>.log  update log of generation <gen> (see log_format.h)
//   D/ud.N.<gen>.snap snapshot of generation <gen> (see snapshot_format.h)
// and, briefly, D/ud.N.tmp.<random> while a control segment is created and
// D/ud.N.<gen>.snap.tmp and D/ud.N.<gen>.log.tmp while a background
// compaction builds the next generation.

#ifndef ULTRADICT_DB_FILENAME_H_
#define ULTRADICT_DB_FILENAME_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace ultradict {

enum class FileType { kControl, kLog, kSnapshot, kTemp };

// OK for 1..kMaxNameLength characters of [A-Za-z0-9_-]; InvalidArgument
// saying what is wrong otherwise.
absl::Status ValidateName(std::string_view name);

std::string ControlFileName(const std::string& dir, std::string_view name);
std::string LogFileName(const std::string& dir, std::string_view name,
                        uint64_t gen);
std::string SnapshotFileName(const std::string& dir, std::string_view name,
                             uint64_t gen);
std::string TempSnapshotFileName(const std::string& dir, std::string_view name,
                                 uint64_t gen);
std::string TempLogFileName(const std::string& dir, std::string_view name,
                            uint64_t gen);

// Parses a file name (no directory). False when it is not one of ours.
bool ParseFileName(std::string_view file, std::string* name, FileType* type,
                   uint64_t* gen);

}  // namespace ultradict

#endif  // ULTRADICT_DB_FILENAME_H_
