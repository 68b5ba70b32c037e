// regression_main.cc: runs every file of the corpus directories given as
// arguments through LLVMFuzzerTestOneInput, so that the fuzzers' corpora run
// in the normal test suite (and under the sanitizer configs). Fails when no
// input was found.

#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  int inputs = 0;
  for (int i = 1; i < argc; i++) {
    DIR* d = opendir(argv[i]);
    if (d == nullptr) {
      std::fprintf(stderr, "cannot open corpus directory %s\n", argv[i]);
      return 1;
    }
    std::vector<std::string> files;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') files.push_back(std::string(argv[i]) + "/" + e->d_name);
    }
    closedir(d);
    for (const std::string& file : files) {
      std::ifstream in(file, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)), {});
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()),
                             bytes.size());
      inputs++;
    }
  }
  std::printf("ran %d corpus inputs\n", inputs);
  return inputs > 0 ? 0 : 1;
}
