# cmake -DTASKPOOL=BIN -DSHELL=bash|zsh|fish -DOUT=FILE -P write_completion.cmake
# Writes `taskpool completion SHELL` to FILE (a build step: the scripts are
# generated from the CLI's own option tables, so they are never stale).
execute_process(COMMAND "${TASKPOOL}" completion "${SHELL}"
  OUTPUT_FILE "${OUT}.tmp" RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  file(REMOVE "${OUT}.tmp")
  message(FATAL_ERROR "${TASKPOOL} completion ${SHELL} failed: ${status}")
endif()
file(RENAME "${OUT}.tmp" "${OUT}")
