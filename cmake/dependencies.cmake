# Header-only dependencies: Eigen 3.4, nlohmann/json 3, pybind11 (the Python module only).
# Included from the root CMakeLists.txt; defines the targets Eigen3::Eigen and pybind11::* and the
# variable DENSEKIT_JSON_INCLUDE_DIR.
#
# For `pip install .` they come from wheels (build requirements), and pip's build isolation puts
# those in a new temporary directory for every build. Compiling against that directory would
# change every object's command line, so the persistent build directory (pyproject.toml) would
# recompile everything each time. Headers found inside a Python environment are therefore mirrored
# into the build tree (build/deps/), each file rewritten only when its content changed, and
# compiled from there: a second `pip install .` reconfigures and relinks nothing it need not.

# Asks the build's Python where a wheel's files are; empty when it cannot say.
function(densekit_python_path out code)
  set(${out} "" PARENT_SCOPE)
  if(Python_Interpreter_FOUND)
    execute_process(COMMAND "${Python_EXECUTABLE}" -c "${code}" OUTPUT_VARIABLE path
                    OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET RESULT_VARIABLE status)
    if(status EQUAL 0 AND path)
      set(${out} "${path}" PARENT_SCOPE)
    endif()
  endif()
endfunction()

# Copies src/<sub> for each sub to dst/<sub>, rewriting a file only when its content differs
# (so its timestamp, and every object that includes it, stays put).
function(densekit_mirror_headers src dst)
  foreach(sub IN LISTS ARGN)
    if(IS_DIRECTORY "${src}/${sub}")
      file(GLOB_RECURSE files LIST_DIRECTORIES false RELATIVE "${src}" "${src}/${sub}/*")
    else()
      set(files "${sub}")
    endif()
    foreach(f IN LISTS files)
      get_filename_component(dir "${dst}/${f}" DIRECTORY)
      file(MAKE_DIRECTORY "${dir}")
      file(COPY_FILE "${src}/${f}" "${dst}/${f}" ONLY_IF_DIFFERENT)
    endforeach()
  endforeach()
endfunction()

# Whether `path` lies inside a Python environment (a wheel's files), as opposed to the system.
function(densekit_in_python_env out path)
  set(${out} FALSE PARENT_SCOPE)
  if(path MATCHES "/(site|dist)-packages/|/pip-build-env-|/cmeel\\.prefix/")
    set(${out} TRUE PARENT_SCOPE)
  endif()
endfunction()

set(DENSEKIT_DEPS_DIR "${CMAKE_BINARY_DIR}/deps")

# --- Eigen, from the cmeel-eigen wheel (cmeel knows its prefix) or a system CMake package ---
set(cmeel_prefix "")
if(Python_Interpreter_FOUND)
  execute_process(COMMAND "${Python_EXECUTABLE}" -m cmeel cmake OUTPUT_VARIABLE cmeel_prefix
                  OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
if(cmeel_prefix)
  list(APPEND CMAKE_PREFIX_PATH "${cmeel_prefix}")
endif()
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
# kernels and layers reach into nothing version-specific, but the build is tested on 3.4 only.
if(NOT Eigen3_VERSION VERSION_LESS 3.5)
  message(FATAL_ERROR "densekit needs Eigen 3.4.x (found ${Eigen3_VERSION}): "
                      "pip install 'cmeel-eigen>=3.4,<3.5'")
endif()
get_target_property(eigen_include Eigen3::Eigen INTERFACE_INCLUDE_DIRECTORIES)
densekit_in_python_env(eigen_from_wheel "${eigen_include}")
if(eigen_from_wheel AND DENSEKIT_PYTHON)
  densekit_mirror_headers("${eigen_include}" "${DENSEKIT_DEPS_DIR}/eigen3" Eigen
                          signature_of_eigen3_matrix_library)
  set_target_properties(Eigen3::Eigen PROPERTIES
                        INTERFACE_INCLUDE_DIRECTORIES "${DENSEKIT_DEPS_DIR}/eigen3")
endif()

# --- nlohmann/json: parses model-file headers, in cpp/src/io only (private to the core, so
# neither the kernels, the bindings nor embedders compile it). From the nlohmann-json wheel or,
# for C++-only builds, a CMake package such as Debian's nlohmann-json3-dev. ---
set(DENSEKIT_JSON_INCLUDE_DIR "")
densekit_python_path(json_wheel_include "import importlib.util, os; \
s = importlib.util.find_spec('nlohmann_json'); print(os.path.join(s.submodule_search_locations[0], 'include'))")
if(json_wheel_include AND EXISTS "${json_wheel_include}/nlohmann/json.hpp")
  if(DENSEKIT_PYTHON)
    densekit_mirror_headers("${json_wheel_include}" "${DENSEKIT_DEPS_DIR}/json" nlohmann)
    set(DENSEKIT_JSON_INCLUDE_DIR "${DENSEKIT_DEPS_DIR}/json")
  else()
    set(DENSEKIT_JSON_INCLUDE_DIR "${json_wheel_include}")
  endif()
else()
  find_package(nlohmann_json 3.10 CONFIG QUIET)
  if(nlohmann_json_FOUND)
    get_target_property(DENSEKIT_JSON_INCLUDE_DIR nlohmann_json::nlohmann_json INTERFACE_INCLUDE_DIRECTORIES)
  endif()
endif()
if(NOT DENSEKIT_JSON_INCLUDE_DIR)
  message(FATAL_ERROR "densekit needs nlohmann/json 3 to read model files, and found neither "
                      "the Python wheel nor a CMake package. Install one: "
                      "'pip install nlohmann-json' (the wheel), or "
                      "'apt-get install nlohmann-json3-dev' (Debian/Ubuntu).")
endif()
message(STATUS "densekit: nlohmann/json from ${DENSEKIT_JSON_INCLUDE_DIR}")

# --- pybind11, for the extension module only ---
if(DENSEKIT_PYTHON)
  find_package(pybind11 CONFIG REQUIRED)
  densekit_in_python_env(pybind11_from_wheel "${pybind11_INCLUDE_DIR}")
  if(pybind11_from_wheel AND TARGET pybind11::pybind11_headers
     AND EXISTS "${pybind11_INCLUDE_DIR}/pybind11/pybind11.h")
    densekit_mirror_headers("${pybind11_INCLUDE_DIR}" "${DENSEKIT_DEPS_DIR}/pybind11" pybind11)
    set_target_properties(pybind11::pybind11_headers PROPERTIES
                          INTERFACE_INCLUDE_DIRECTORIES "${DENSEKIT_DEPS_DIR}/pybind11")
  endif()
endif()
