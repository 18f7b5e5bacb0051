# Fails when an ISA-specific object could lend code to a caller compiled for another ISA.
#
# A weak symbol is an inline function or template instantiation that the linker may take from
# any object defining it; one compiled for AVX-512 and picked for a baseline caller would crash
# an AVX2-only CPU. So:
#  - OBJECTS (the engine's gemm_<isa> objects, ISA raised by target pragmas) define no weak symbol;
#  - ISOLATED (each partially linked element-wise copy) defines exactly one global symbol, its
#    table densekit_elementwise_<path>, and no weak symbol or section group.
# Usage: cmake -DNM=<nm> -DOBJECTS=<obj;...> -DISOLATED=<obj;...> -P check_isa_objects.cmake
if(NOT NM OR NOT OBJECTS)
  message(FATAL_ERROR "NM and OBJECTS must be given")
endif()
set(failed "")
set(checked 0)
function(symbols_of object out)
  execute_process(COMMAND ${NM} ${object} OUTPUT_VARIABLE text RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${NM} failed on ${object}")
  endif()
  string(REPLACE "\n" ";" lines "${text}")
  set(${out} "${lines}" PARENT_SCOPE)
endfunction()
foreach(object IN LISTS OBJECTS ISOLATED)
  symbols_of(${object} lines)
  math(EXPR checked "${checked} + 1")
  foreach(line IN LISTS lines)
    if(line MATCHES "^[0-9a-fA-F ]* [WVu] (.*)$")
      string(APPEND failed "\n  ${object}: weak ${CMAKE_MATCH_1}")
    endif()
  endforeach()
endforeach()
foreach(object IN LISTS ISOLATED)
  get_filename_component(name ${object} NAME_WE)  # elementwise_<path>
  string(REPLACE "elementwise_" "densekit_elementwise_" table ${name})
  symbols_of(${object} lines)
  set(globals "")
  foreach(line IN LISTS lines)
    # Defined global symbols: upper-case types other than U (undefined) and the weak ones above.
    if(line MATCHES "^[0-9a-fA-F]+ [A-TX-Z] (.*)$")
      list(APPEND globals ${CMAKE_MATCH_1})
    endif()
  endforeach()
  if(NOT globals STREQUAL table)
    string(APPEND failed "\n  ${object}: exports [${globals}], expected only ${table}")
  endif()
endforeach()
if(failed)
  message(FATAL_ERROR "ISA objects that could lend code to other callers:${failed}")
endif()
message(STATUS "${checked} ISA objects keep their code to themselves")
