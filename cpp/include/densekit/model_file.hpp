// The public entry point for embedders: loading a saved model in C++, without Python.
//
//   #include <densekit/model_file.hpp>
//   densekit::Model model = densekit::Model::load("model.dk");
//
// Kept at the top of the include tree so programs written against earlier layouts build
// unchanged; the declarations live in io/model_file.hpp.
#pragma once

#include "densekit/io/model_file.hpp"
