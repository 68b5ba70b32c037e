// module.cc: the _ultradict extension module (pybind11). The Python layer,
// python/ultradict/__init__.py, is the public API; this module is its
// engine binding: the byte-level DB (handle.h), the exceptions (errors.h)
// and FastBase, the C base class of UltraDict (fast_dict.h).

#include <cstdint>
#include <memory>
#include <string>

#include "pybind11/pybind11.h"
#include "pybind11/stl.h"
#include "python/errors.h"
#include "python/fast_dict.h"
#include "python/handle.h"
#include "ultradict/options.h"

namespace py = pybind11;
using ultradict::python::Handle;

namespace {

// The engine's constants the Python layer needs.
void AddConstants(py::module_& m) {
  m.attr("META_KEY") = py::bytes(std::string(ultradict::python::kMetaKey));
  m.attr("LIFETIME_PERSISTENT") =
      static_cast<int>(ultradict::Lifetime::kPersistent);
  m.attr("LIFETIME_UNTIL_LAST_CLOSE") =
      static_cast<int>(ultradict::Lifetime::kUntilLastClose);
  m.attr("LIFETIME_UNTIL_CREATOR_CLOSES") =
      static_cast<int>(ultradict::Lifetime::kUntilCreatorCloses);
  m.attr("MAX_NAME_LENGTH") = ultradict::kMaxNameLength;
  m.attr("MAX_KEY_SIZE") = ultradict::kMaxKeySize;
  m.attr("MAX_VALUE_SIZE") = ultradict::kMaxValueSize;

  m.attr("COMPRESSION_NONE") =
      static_cast<int>(ultradict::Compression::kNoCompression);
  m.attr("COMPRESSION_ZSTD") =
      static_cast<int>(ultradict::Compression::kZstdCompression);
}

}  // namespace

PYBIND11_MODULE(_ultradict, m) {
  m.doc() =
      "UltraDict engine binding (bytes keys and values); use the "
      "ultradict package instead.";
  if (!ultradict::python::AddErrorClasses(m.ptr())) {
    throw py::error_already_set();
  }
  if (!ultradict::python::AddFastBase(m.ptr())) {
    throw py::error_already_set();
  }
  AddConstants(m);

  const ultradict::Options defaults;
  py::class_<Handle>(m, "DB")
      .def(py::init([](const std::string& name, bool create_if_missing,
                       bool error_if_exists, int lifetime, size_t log_size,
                       const std::string& directory, int compression,
                       size_t compression_threshold, int mode,
                       bool allow_other_owner, int64_t write_lock_timeout_ms,
                       bool background_compaction) {
             return std::make_unique<Handle>(
                 name, ultradict::python::MakeOptions(
                           create_if_missing, error_if_exists, lifetime,
                           log_size, directory, compression,
                           compression_threshold, mode, allow_other_owner,
                           write_lock_timeout_ms, background_compaction));
           }),
           py::arg("name"), py::arg("create_if_missing") = true,
           py::arg("error_if_exists") = false,
           py::arg("lifetime") = static_cast<int>(defaults.lifetime),
           py::arg("log_size") = defaults.log_size, py::arg("directory") = "",
           py::arg("compression") = static_cast<int>(defaults.compression),
           py::arg("compression_threshold") = defaults.compression_threshold,
           py::arg("mode") = static_cast<int>(defaults.mode),
           py::arg("allow_other_owner") = defaults.allow_other_owner,
           py::arg("write_lock_timeout_ms") = defaults.write_lock_timeout_ms,
           py::arg("background_compaction") = defaults.background_compaction)
      .def_property_readonly("name", &Handle::name)
      .def_property_readonly("directory", &Handle::directory)
      .def_property_readonly("closed", &Handle::closed)
      .def("close", &Handle::Close)
      .def("check_closable", &Handle::CheckClosable)
      .def("drain", &Handle::Drain)
      .def_property_readonly("in_flight", &Handle::in_flight)
      .def("get", &Handle::Get, py::arg("key"))
      .def("contains", &Handle::Contains, py::arg("key"))
      .def("put", &Handle::Put, py::arg("key"), py::arg("value"))
      .def("delete", &Handle::Delete, py::arg("key"))
      .def("pop", &Handle::Pop, py::arg("key"))
      .def("setdefault", &Handle::SetDefault, py::arg("key"), py::arg("value"))
      .def("popitem", &Handle::PopItem)
      .def("write_many", &Handle::WriteMany, py::arg("puts"),
           py::arg("deletes"))
      .def("clear", &Handle::Clear, py::arg("ref_prefix") = py::bytes())
      .def("keys", &Handle::Keys)
      .def("items", &Handle::Items)
      .def("size", &Handle::Size)
      .def("lock", &Handle::Lock, py::arg("timeout_ms") = -1)
      .def("unlock", &Handle::Unlock)
      .def("locked_by_me", &Handle::LockedByMe)
      .def("lock_depth", &Handle::LockDepth)
      .def("latest_sequence", &Handle::LatestSequence)
      .def("wait_for_change", &Handle::WaitForChange, py::arg("since"),
           py::arg("timeout_ms") = -1)
      .def("read_changes", &Handle::ReadChanges, py::arg("since"))
      .def("property", &Handle::Property, py::arg("property"))
      .def("compact", &Handle::Compact);

  m.def("destroy", &ultradict::python::Destroy, py::arg("name"),
        py::arg("directory") = "");
  m.def("list_dbs", &ultradict::python::List, py::arg("directory") = "");
}
