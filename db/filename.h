// filename.h: names of a dictionary's segment files.
//
// A dictionary N in directory D is made of:
//   D/ud.N                  control segment (see control_block.h)
//   D/ud.N.<gen>.<tag>.log  update log of generation <gen> (log_format.h)
//   D/ud.N.<gen>.<tag>.snap snapshot of generation <gen> (snapshot_format.h)
// and, briefly, D/ud.N.tmp.<random> while a control segment is created and
// D/ud.N.<gen>.<tag>.snap.tmp and D/ud.N.<gen>.<tag>.log.tmp while a
// background compaction builds the next generation. <tag> is 16 hex digits
// of SipHash-2-4 under the dictionary's file key (a secret in its 0600
// control segment) of the generation and the kind of file, different for
// each of the four: another user who can list the directory cannot tell
// the name of any file before it exists, so cannot pre-create it (see
// doc/design.md, "Generation file names").

#ifndef ULTRADICT_DB_FILENAME_H_
#define ULTRADICT_DB_FILENAME_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"

namespace ultradict {

enum class FileType { kControl, kLog, kSnapshot, kTemp };

// The secret that names a dictionary's generation files, kept in its
// control segment's header (control::Block::file_key).
struct FileKey {
  uint64_t k0 = 0;
  uint64_t k1 = 0;
};

// OK for 1..kMaxNameLength characters of [A-Za-z0-9_-]; InvalidArgument
// saying what is wrong otherwise.
absl::Status ValidateName(std::string_view name);

std::string ControlFileName(const std::string& dir, std::string_view name);
std::string LogFileName(const std::string& dir, std::string_view name,
                        const FileKey& key, uint64_t gen);
std::string SnapshotFileName(const std::string& dir, std::string_view name,
                             const FileKey& key, uint64_t gen);
std::string TempSnapshotFileName(const std::string& dir, std::string_view name,
                                 const FileKey& key, uint64_t gen);
std::string TempLogFileName(const std::string& dir, std::string_view name,
                            const FileKey& key, uint64_t gen);

// Whether `file` (a name, no directory) is a generation file of dictionary
// `name` (a log, a snapshot or a compaction's temporary one) named with
// `key`: its tag is the one `key` gives its generation and kind. False for
// tagless names (older formats, or planted) and other keys' files.
bool IsGenerationFileOf(std::string_view file, std::string_view name,
                        const FileKey& key);

// Parses a file name (no directory). False when it is not one of ours.
// Names of generation files without a tag (control format 2 and older)
// parse too (their *tag is empty), so that they can be removed.
bool ParseFileName(std::string_view file, std::string* name, FileType* type,
                   uint64_t* gen);
bool ParseFileName(std::string_view file, std::string* name, FileType* type,
                   uint64_t* gen, std::string* tag);

// A file of a dictionary found in its directory (ForEachFileOf).
struct DictionaryFile {
  std::string file;  // The name in the directory.
  std::string path;  // dir + "/" + file.
  FileType type;
  // The generation; 0 for the control segment and an opener's temporary
  // control file (ud.N.tmp.<random>).
  uint64_t gen;
  // 16 hex digits for a generation file of this format; empty for the
  // control segment, its temporary file and tagless (older) names.
  std::string tag;
};

// Calls fn for each file of dictionary `name` in dir (one that
// ParseFileName parses as name's), in name order, and for no other file.
// Returns the error of listing dir (nothing called then), else OK. fn may
// remove the file it is given.
absl::Status ForEachFileOf(const std::string& dir, std::string_view name,
                           absl::FunctionRef<void(const DictionaryFile&)> fn);

}  // namespace ultradict

#endif  // ULTRADICT_DB_FILENAME_H_
