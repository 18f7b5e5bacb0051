# Fails when an ISA kernel object defines a weak symbol (nm types W, V, u).
#
# A weak symbol is an inline function or template instantiation that the linker may take from
# any object defining it. One compiled inside an AVX-512 target region and picked for a
# baseline caller would crash an AVX2-only CPU, so the ISA kernel files must define none.
# Usage: cmake -DNM=<nm> -DOBJECTS=<obj;obj;...> -P check_no_weak_symbols.cmake
if(NOT NM OR NOT OBJECTS)
  message(FATAL_ERROR "NM and OBJECTS must be given")
endif()
set(failed "")
set(checked 0)
foreach(object IN LISTS OBJECTS)
  execute_process(COMMAND ${NM} -C ${object} OUTPUT_VARIABLE symbols RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${object}")
  endif()
  math(EXPR checked "${checked} + 1")
  string(REPLACE "\n" ";" lines "${symbols}")
  foreach(line IN LISTS lines)
    if(line MATCHES "^[0-9a-fA-F ]* [WVu] (.*)$")
      string(APPEND failed "\n  ${object}: ${CMAKE_MATCH_1}")
    endif()
  endforeach()
endforeach()
if(failed)
  message(FATAL_ERROR "weak symbols in ISA kernel objects:${failed}")
endif()
message(STATUS "${checked} ISA kernel objects define no weak symbols")
