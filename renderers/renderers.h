// Renderers: a linear program (lowering::linearize) as source text for a device's compiler.
#pragma once
#include "rewriter/rewriter.h"

namespace patgrad::renderers {

// llvm.cpp: `define void @name(ptr %bufs, i64 %start, i64 %end)`: bufs holds the DEFINE_GLOBALs' pointers by
// parameter number; the outermost loop of the program runs over [start, end) (a program without loops ignores
// them). ALU lines come from the library's `render llvm` rules; an op no rule covers is an error naming it.
llvm::Expected<std::string> render_llvm(const std::vector<uops::UOp>& program, const std::string& name,
                                        const rewriter::Library& lib);

} // namespace patgrad::renderers
