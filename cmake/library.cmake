# library.cmake: libultradict (static, and shared with BUILD_SHARED_LIBS) and
# the private engine libraries that tools, benchmarks and tests link.
#
#   ultradict_static       libultradict.a (exported as ultradict::ultradict,
#                          or ultradict::ultradict_static beside the shared one)
#   ultradict_shared       libultradict.so.<soversion>: exports the public API
#                          only (cmake/libultradict.map); BUILD_SHARED_LIBS
#   ultradict::ultradict   whichever of the two is installed as the library
#   ultradict_internal     libultradict.a plus the repository root on the
#                          include path (db/, util/, port/ headers): tools,
#                          benchmarks and tests (Bazel's //db, //util, //port)
#   ultradict_fault_points the same with the engine compiled with
#                          ULTRADICT_FAULT_POINTS (the crash test only)

# Usage requirements of every engine object: the public API's Abseil
# targets (public headers include them) and the private libraries.
set(ULTRADICT_PUBLIC_DEPS absl::status absl::statusor absl::function_ref)
set(ULTRADICT_PRIVATE_DEPS
  absl::strings absl::flat_hash_map absl::flat_hash_set absl::inlined_vector
  absl::core_headers zstd::libzstd_shared ultradict::xxhash Threads::Threads)

function(ultradict_objects name)
  add_library(${name} OBJECT ${ARGN})
  set_target_properties(${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_compile_options(${name} PRIVATE ${ULTRADICT_DEFAULT_COPTS})
  target_include_directories(${name} PRIVATE
    ${PROJECT_SOURCE_DIR} ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(${name} PRIVATE
    ${ULTRADICT_PUBLIC_DEPS} ${ULTRADICT_PRIVATE_DEPS})
endfunction()

ultradict_objects(ultradict_base_objects
  ${ULTRADICT_PUBLIC_HEADERS} ${ULTRADICT_UTIL_SOURCES}
  ${ULTRADICT_PORT_SOURCES} ${ULTRADICT_FORMAT_SOURCES} ${ULTRADICT_CORE_SOURCES})
ultradict_objects(ultradict_engine_objects ${ULTRADICT_ENGINE_SOURCES})

# A library made of object libraries, with the usage requirements of the
# public one.
function(ultradict_library name kind)
  add_library(${name} ${kind})
  foreach(objects IN LISTS ARGN)
    target_sources(${name} PRIVATE $<TARGET_OBJECTS:${objects}>)
  endforeach()
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(${name}
    PUBLIC ${ULTRADICT_PUBLIC_DEPS} PRIVATE ${ULTRADICT_PRIVATE_DEPS})
  target_compile_features(${name} PUBLIC cxx_std_17)
  set_target_properties(${name} PROPERTIES OUTPUT_NAME ultradict)
endfunction()

ultradict_library(ultradict_static STATIC
  ultradict_base_objects ultradict_engine_objects)

if(BUILD_SHARED_LIBS)
  ultradict_library(ultradict_shared SHARED
    ultradict_base_objects ultradict_engine_objects)
  # 0.x: the ABI may change with each minor version (version.h).
  if(PROJECT_VERSION_MAJOR EQUAL 0)
    set(ULTRADICT_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  else()
    set(ULTRADICT_SOVERSION ${PROJECT_VERSION_MAJOR})
  endif()
  set(_ud_map ${PROJECT_SOURCE_DIR}/cmake/libultradict.map)
  set_target_properties(ultradict_shared PROPERTIES
    VERSION ${PROJECT_VERSION}
    SOVERSION ${ULTRADICT_SOVERSION}
    EXPORT_NAME ultradict
    LINK_DEPENDS ${_ud_map})
  target_link_options(ultradict_shared PRIVATE
    "LINKER:--version-script=${_ud_map}" "LINKER:--no-undefined")
  set_target_properties(ultradict_static PROPERTIES EXPORT_NAME ultradict_static)
  add_library(ultradict::ultradict ALIAS ultradict_shared)
else()
  set_target_properties(ultradict_static PROPERTIES EXPORT_NAME ultradict)
  add_library(ultradict::ultradict ALIAS ultradict_static)
endif()
add_library(ultradict::ultradict_static ALIAS ultradict_static)

# Private: the engine's internal headers (include "db/...", "util/...").
add_library(ultradict_internal INTERFACE)
target_include_directories(ultradict_internal INTERFACE ${PROJECT_SOURCE_DIR})
target_link_libraries(ultradict_internal INTERFACE
  ultradict_static ${ULTRADICT_PRIVATE_DEPS})

if(ULTRADICT_BUILD_TESTS)
  ultradict_objects(ultradict_engine_fp_objects ${ULTRADICT_ENGINE_SOURCES})
  target_compile_definitions(ultradict_engine_fp_objects PRIVATE ULTRADICT_FAULT_POINTS)
  ultradict_library(ultradict_fault_points STATIC
    ultradict_base_objects ultradict_engine_fp_objects)
  set_target_properties(ultradict_fault_points PROPERTIES
    OUTPUT_NAME ultradict_fault_points)
  target_include_directories(ultradict_fault_points PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(ultradict_fault_points PUBLIC ${ULTRADICT_PRIVATE_DEPS})
endif()
