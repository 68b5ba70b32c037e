// compression.cc: see compression.h.

#include "util/compression.h"

#include <zstd.h>

#include "absl/strings/str_cat.h"

namespace ultradict {

namespace {
constexpr int kCompressionLevel = 1;  // Fast: writes hold the write lock.
}  // namespace

void ZstdCompress(std::string_view input, std::string* output) {
  const size_t old_size = output->size();
  output->resize(old_size + ZSTD_compressBound(input.size()));
  const size_t n = ZSTD_compress(&(*output)[old_size], output->size() - old_size,
                                 input.data(), input.size(), kCompressionLevel);
  // With a bound-sized destination ZSTD_compress cannot fail.
  output->resize(ZSTD_isError(n) ? old_size : old_size + n);
}

absl::Status ZstdUncompress(std::string_view input, size_t max_size,
                            std::string* output) {
  const unsigned long long size =
      ZSTD_getFrameContentSize(input.data(), input.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) {
    return absl::DataLossError("zstd frame: bad header");
  }
  if (size > max_size) {
    return absl::DataLossError(
        absl::StrCat("zstd frame: content size ", size, " over limit ", max_size));
  }
  output->resize(size);
  const size_t n =
      ZSTD_decompress(output->data(), size, input.data(), input.size());
  if (ZSTD_isError(n) || n != size) {
    output->clear();
    return absl::DataLossError(absl::StrCat(
        "zstd frame: ", ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short"));
  }
  return absl::OkStatus();
}

}  // namespace ultradict
