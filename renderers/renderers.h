// Renderers: a linear program (lowering::linearize) as source text for a target's compiler. Every node's text comes
// from a rule of the target's render group; the C++ here only names values and writes the function frame.
#pragma once
#include "rewriter/rewriter.h"

namespace patgrad::renderers {

// The program through the render group `group` (its name picks the naming and frame: "llvm" is llvm.cpp's
// `define void @name(ptr noalias %bufs, i64 %start, i64 %end)`, bufs holding the DEFINE_GLOBALs' pointers by
// parameter number, start and end the DEFINE_VARs of a thread loop). A node no rule covers is an error naming it.
llvm::Expected<std::string> render(const std::vector<uops::UOp>& program, const std::string& name,
                                   const rewriter::Library& lib, const rewriter::Group& group);

} // namespace patgrad::renderers
