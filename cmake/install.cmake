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

# The man pages, the wire protocol for clients in other languages, the
# README, and a pkg-config file for builds that do not use CMake.
set(TASKPOOL_MAN_PAGES
  ${PROJECT_SOURCE_DIR}/docs/man/taskpool.1
  ${PROJECT_SOURCE_DIR}/docs/man/taskpoold.conf.5
  ${PROJECT_SOURCE_DIR}/docs/man/taskpoold.8)
foreach(page ${TASKPOOL_MAN_PAGES})
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  install(FILES ${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()

# Below <datadir>/taskpool/proto the import paths are the ones the .proto
# files use: protoc -I <datadir>/taskpool/proto taskpool/v1/taskpool.proto
install(FILES
  ${PROJECT_SOURCE_DIR}/proto/taskpool/v1/taskpool.proto
  ${PROJECT_SOURCE_DIR}/proto/taskpool/v1/exec.proto
  DESTINATION ${CMAKE_INSTALL_DATADIR}/taskpool/proto/taskpool/v1)

install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})

# taskpool.pc names absolute directories, so like the systemd unit it is
# written at install time, for the prefix actually used.
if(TARGET taskpool_client_shared)
  set(pc_generated ${CMAKE_CURRENT_BINARY_DIR}/install/taskpool.pc)
  # Relative directories become ${prefix}/DIR in the file.
  foreach(kind LIBDIR INCLUDEDIR)
    if(IS_ABSOLUTE "${CMAKE_INSTALL_${kind}}")
      set(pc_${kind} "${CMAKE_INSTALL_${kind}}")
    else()
      set(pc_${kind} "\\\${prefix}/${CMAKE_INSTALL_${kind}}")
    endif()
  endforeach()
  install(CODE "
    set(TASKPOOL_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
    set(TASKPOOL_PC_LIBDIR \"${pc_LIBDIR}\")
    set(TASKPOOL_PC_INCLUDEDIR \"${pc_INCLUDEDIR}\")
    set(PROJECT_VERSION \"${PROJECT_VERSION}\")
    configure_file(\"${CMAKE_CURRENT_LIST_DIR}/taskpool.pc.in\" \"${pc_generated}\" @ONLY)
  ")
  install(FILES ${pc_generated} DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
endif()

# Shell completions, written at build time by `taskpool completion SHELL`,
# installed where bash-completion, zsh and fish look for packages' own.
# Debian's zsh reads packages' completions from share/zsh/vendor-completions
# (debian/rules says so); share/zsh/site-functions is zsh's default.
set(TASKPOOL_ZSH_COMPLETIONDIR ${CMAKE_INSTALL_DATADIR}/zsh/site-functions
    CACHE STRING "Where the zsh completion of taskpool is installed")
if(TARGET taskpool AND NOT CMAKE_CROSSCOMPILING)
  set(completion_dir ${CMAKE_CURRENT_BINARY_DIR}/completions)
  set(completion_files "")
  foreach(shell_file "bash;taskpool" "zsh;_taskpool" "fish;taskpool.fish")
    list(GET shell_file 0 shell)
    list(GET shell_file 1 file)
    add_custom_command(OUTPUT ${completion_dir}/${shell}/${file}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${completion_dir}/${shell}
      COMMAND ${CMAKE_COMMAND} -DTASKPOOL=$<TARGET_FILE:taskpool> -DSHELL=${shell}
              -DOUT=${completion_dir}/${shell}/${file}
              -P ${CMAKE_CURRENT_LIST_DIR}/write_completion.cmake
      DEPENDS taskpool ${CMAKE_CURRENT_LIST_DIR}/write_completion.cmake
      COMMENT "taskpool completion ${shell}"
      VERBATIM)
    list(APPEND completion_files ${completion_dir}/${shell}/${file})
  endforeach()
  add_custom_target(taskpool_completions ALL DEPENDS ${completion_files})
  install(FILES ${completion_dir}/bash/taskpool
          DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
  install(FILES ${completion_dir}/zsh/_taskpool DESTINATION ${TASKPOOL_ZSH_COMPLETIONDIR})
  install(FILES ${completion_dir}/fish/taskpool.fish
          DESTINATION ${CMAKE_INSTALL_DATADIR}/fish/vendor_completions.d)
endif()
