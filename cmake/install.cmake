# install.cmake: `cmake --install` and `cpack -G DEB`.
#
#   include/ultradict/*.h                  the public headers
#   lib/libultradict.a, libultradict.so*   the library (.so with BUILD_SHARED_LIBS)
#   lib/cmake/ultradict/                   find_package(ultradict CONFIG) ->
#                                          ultradict::ultradict (and
#                                          ultradict::ultradict_static)
#   lib/pkgconfig/ultradict.pc             pkg-config ultradict [--static]
#   bin/ultradict, bin/db_bench            the tools
include(CMakePackageConfigHelpers)

set(ULTRADICT_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/ultradict)

install(FILES ${ULTRADICT_PUBLIC_HEADERS}
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/ultradict)

set(_ud_libraries ultradict_static)
if(BUILD_SHARED_LIBS)
  list(APPEND _ud_libraries ultradict_shared)
endif()
install(TARGETS ${_ud_libraries} EXPORT ultradictTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT ultradictTargets NAMESPACE ultradict::
  DESTINATION ${ULTRADICT_CMAKE_DIR})

configure_package_config_file(cmake/ultradictConfig.cmake.in
  ${PROJECT_BINARY_DIR}/ultradictConfig.cmake
  INSTALL_DESTINATION ${ULTRADICT_CMAKE_DIR})
# 0.x: minor versions are not compatible with each other (version.h).
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(_ud_compat SameMinorVersion)
else()
  set(_ud_compat SameMajorVersion)
endif()
write_basic_package_version_file(${PROJECT_BINARY_DIR}/ultradictConfigVersion.cmake
  COMPATIBILITY ${_ud_compat})
install(FILES
  ${PROJECT_BINARY_DIR}/ultradictConfig.cmake
  ${PROJECT_BINARY_DIR}/ultradictConfigVersion.cmake
  cmake/dependencies.cmake
  DESTINATION ${ULTRADICT_CMAKE_DIR})

# pkg-config: Requires lists the Abseil modules the public headers include;
# Requires.private and Libs.private what the static library also needs. The
# prefix is the one installed to (`cmake --install --prefix`, cpack's /usr),
# so it is filled in at install time.
foreach(_ud_dir LIBDIR INCLUDEDIR)
  if(IS_ABSOLUTE "${CMAKE_INSTALL_${_ud_dir}}")
    set(ULTRADICT_PC_${_ud_dir} "${CMAKE_INSTALL_${_ud_dir}}")
  else()
    set(ULTRADICT_PC_${_ud_dir} "\${prefix}/${CMAKE_INSTALL_${_ud_dir}}")
  endif()
endforeach()
set(ULTRADICT_PC_PREFIX "@ULTRADICT_PC_PREFIX@")  # Kept for install time.
configure_file(cmake/ultradict.pc.in ${PROJECT_BINARY_DIR}/ultradict.pc.in @ONLY)
install(CODE "
  set(ULTRADICT_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/ultradict.pc.in\"
                 \"${PROJECT_BINARY_DIR}/install/ultradict.pc\" @ONLY)
  ")
install(FILES ${PROJECT_BINARY_DIR}/install/ultradict.pc
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

foreach(tool ultradict db_bench)
  if(TARGET ${tool})
    install(TARGETS ${tool} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  endif()
endforeach()

# cpack -G DEB: one package with everything above (build it with
# -DCMAKE_INSTALL_PREFIX=/usr). Dependencies are Debian 12's package names.
set(CPACK_PACKAGE_NAME ultradict)
set(CPACK_PACKAGE_VENDOR "UltraDict for C++")
set(CPACK_PACKAGE_CONTACT "UltraDict for C++ maintainers <ultradict@localhost>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_PACKAGE_DEPENDS
  "libabsl-dev (>= 0~20220623), libzstd-dev, libxxhash-dev, pkg-config")
if(ULTRADICT_BUILD_BENCHMARKS)
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", liblmdb0")
endif()
if(TARGET replication)  # The tool's replication (cmake/replication.cmake).
  string(APPEND CPACK_DEBIAN_PACKAGE_DEPENDS ", libhiredis0.14")
endif()
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
  "C++ library (libultradict), headers, CMake and pkg-config files, and the\n\
 `ultradict` tool and db_bench: a key-value dictionary in shared memory,\n\
 read and written by many processes at once.")
set(CPACK_STRIP_FILES ON)  # Executables and the .so only (never a .a).
include(CPack)
