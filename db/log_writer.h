// log_writer.h: encodes log headers and records (format in log_format.h).

#ifndef ULTRADICT_DB_LOG_WRITER_H_
#define ULTRADICT_DB_LOG_WRITER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "db/log_reader.h"

namespace ultradict {
namespace log {

// Writes the 64-byte header at dst, of a file of FileSize(h) bytes
// (h.capacity is ignored).
void EncodeHeader(char* dst, const Header& h);

// Appends one record holding `batch_rep` to *out; zstd-compresses it when
// `compress` and that makes it smaller.
void AppendRecord(std::string_view batch_rep, bool compress, std::string* out);

// Writes one uncompressed record holding `batch_rep` at dst, which has room
// for kRecordHeaderSize + batch_rep.size() bytes: what AppendRecord appends
// without `compress`.
void EncodeRecord(std::string_view batch_rep, char* dst);

}  // namespace log
}  // namespace ultradict

#endif  // ULTRADICT_DB_LOG_WRITER_H_
