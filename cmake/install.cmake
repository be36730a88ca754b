# Installs the CMake package that lets another project do
#
#   find_package(taskpool 0.1 REQUIRED)
#   target_link_libraries(app PRIVATE taskpool::client)   # or client_static
#
# The targets themselves (libraries, headers, binaries) are installed by the
# CMakeLists.txt that defines them; this file adds the export set, the
# package config and its version file. Included last by the top-level
# CMakeLists.txt, after every target exists.
include(CMakePackageConfigHelpers)

set(TASKPOOL_INSTALL_CMAKEDIR ${CMAKE_INSTALL_LIBDIR}/cmake/taskpool
    CACHE STRING "Where the taskpool CMake package files are installed")

# The export set is filled by client/CMakeLists.txt. Without the client
# target there is nothing to export, and install(EXPORT) of an empty or
# unknown set would fail the configure step.
if(TARGET taskpool_client_shared)
  install(EXPORT taskpoolTargets
    NAMESPACE taskpool::
    FILE taskpoolTargets.cmake
    DESTINATION ${TASKPOOL_INSTALL_CMAKEDIR})

  configure_package_config_file(
    ${CMAKE_CURRENT_LIST_DIR}/taskpoolConfig.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/taskpoolConfig.cmake
    INSTALL_DESTINATION ${TASKPOOL_INSTALL_CMAKEDIR})
  # 0.x releases may break the API between minors; SameMajorVersion is what
  # was asked for and is right from 1.0 on.
  write_basic_package_version_file(
    ${CMAKE_CURRENT_BINARY_DIR}/taskpoolConfigVersion.cmake
    VERSION ${PROJECT_VERSION}
    COMPATIBILITY SameMajorVersion)
  install(FILES
    ${CMAKE_CURRENT_BINARY_DIR}/taskpoolConfig.cmake
    ${CMAKE_CURRENT_BINARY_DIR}/taskpoolConfigVersion.cmake
    DESTINATION ${TASKPOOL_INSTALL_CMAKEDIR})
else()
  message(STATUS "taskpool: no client library target yet; "
                 "the CMake package config is not installed")
endif()

# The man pages.
set(TASKPOOL_MAN_PAGES
  ${PROJECT_SOURCE_DIR}/docs/man/taskpool.1
  ${PROJECT_SOURCE_DIR}/docs/man/taskpoold.conf.5
  ${PROJECT_SOURCE_DIR}/docs/man/taskpoold.8)
foreach(page ${TASKPOOL_MAN_PAGES})
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  install(FILES ${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
