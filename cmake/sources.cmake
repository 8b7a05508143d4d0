# Every target lists its sources by name. da_check_listed() makes a file
# nobody listed an error at configure time instead of a silently missing
# source or test: it compares the names given with what PATTERN finds in DIR.
#
#   da_check_listed(DIR dir PATTERN glob FILES name...)   names relative to dir
function(da_check_listed)
  cmake_parse_arguments(L "" "DIR;PATTERN" "FILES" ${ARGN})
  file(GLOB present CONFIGURE_DEPENDS RELATIVE ${L_DIR} ${L_DIR}/${L_PATTERN})
  foreach(f ${present})
    list(FIND L_FILES ${f} at)
    if(at EQUAL -1)
      file(RELATIVE_PATH where ${PROJECT_SOURCE_DIR} ${L_DIR}/${f})
      message(FATAL_ERROR "${where} is not listed in ${CMAKE_CURRENT_LIST_FILE}: add it to the list there")
    endif()
  endforeach()
  foreach(f ${L_FILES})
    if(NOT EXISTS ${L_DIR}/${f})
      message(FATAL_ERROR "${CMAKE_CURRENT_LIST_FILE} lists ${f}, which is not in ${L_DIR}")
    endif()
  endforeach()
endfunction()
