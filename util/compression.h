// compression.h: zstd compression of values. Nothing here knows the DB.

#ifndef ULTRADICT_UTIL_COMPRESSION_H_
#define ULTRADICT_UTIL_COMPRESSION_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace ultradict {

// Appends the zstd frame of input to *output.
void ZstdCompress(std::string_view input, std::string* output);

// Replaces *output with the content of the zstd frame `input`, which must
// declare its size and decompress to at most max_size bytes. DataLoss when
// the frame is damaged, too large or of unknown size.
absl::Status ZstdUncompress(std::string_view input, size_t max_size,
                            std::string* output);

}  // namespace ultradict

#endif  // ULTRADICT_UTIL_COMPRESSION_H_
