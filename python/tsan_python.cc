// tsan_python.cc: Debian's CPython 3.11 (libpython3.11) in an executable
// built with --config=tsan, so that the ThreadSanitizer runtime is linked
// in and initialised first and the extension built under the same config
// can be loaded into it (tools/python_test.sh --tsan). Preloading the
// shared TSan runtime into /usr/bin/python3 instead crashes at start with
// clang-14 (its libstdc++ runs __cxa_atexit before the interceptors exist).
// Only the extension and the engine are instrumented: races inside the
// interpreter are not seen; its locks (the GIL) are, through the pthread
// interceptors.

#include <Python.h>

int main(int argc, char** argv) { return Py_BytesMain(argc, argv); }
