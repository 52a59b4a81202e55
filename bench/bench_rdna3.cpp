// RDNA3 code quality without hardware: the emulator's count of wave-instructions per output, by unit (VALU, SALU,
// scalar and vector memory, LDS, control: branches and waits), for patgrad's gfx1100 code against LLVM's for the
// same computation (LLVM IR written here, one lane per output, compiled by LLVM's AMDGPU backend at O2). Two
// kernels: a matmul with K = 1024 (64 rows of the 1024x1024 product: each output's work is the same in every row)
// and the first kernel of a sum of 16M floats (the partial sums the schedule makes, each a tree of sums of 1024 in
// patgrad's code, one running sum in LLVM's). Fewer is better; the emulator counts what runs, not cycles.
//   build/bench/bench_rdna3
#include "bench/workloads.h"
#include "frontend/tensor.h"
#include "lowering/lowering.h"
#include "runtime/rdna3_emulator.h"
#include "runtime/target.h"
#include <fmt/format.h>

using namespace patgrad;
using bench::random;
namespace rdna3 = patgrad::runtime::rdna3;

namespace {

template <class T>
T check(llvm::Expected<T> v) {
  if (!v) {
    fmt::print(stderr, "bench_rdna3: {}\n", llvm::toString(v.takeError()));
    std::exit(1);
  }
  return std::move(*v);
}

// Runs a code object over host buffers, one lane per output in workgroups of 32.
rdna3::Counters run(const rdna3::CodeObject& code, llvm::ArrayRef<const runtime::Buffer*> buffers, int64_t lanes) {
  rdna3::Kernargs args;
  std::vector<rdna3::Buffer> reachable;
  for (const runtime::Buffer* b : buffers) {
    args.add(b->data);
    reachable.push_back({b->data, size_t(b->size) * size_t(uops::bits(b->dtype) / 8)});
  }
  rdna3::Launch launch;
  launch.grid.x = uint32_t((lanes + 31) / 32);
  launch.block.x = 32;
  launch.kernargs = args.data();
  launch.buffers = reachable;
  launch.instruction_limit = 2'000'000'000;
  return check(rdna3::run(code, launch));
}

// The kernel of t's schedule that does the work (reads the most elements), lowered for RDNA3 and run.
std::pair<rdna3::Counters, std::string> ours(const Tensor& t, int64_t* outputs) {
  lowering::Kernel kernel = bench::main_kernel(t);
  const lowering::Kernel* main = &kernel;
  lowering::Lowered lowered = check(lowering::lower_kernel(*main, "RDNA3", rewriter::builtin_library()));
  rdna3::CodeObject code = check(rdna3::load(check(rdna3::assemble(lowered.source)), main->name));
  int64_t lanes = 1;
  for (const uops::UOp& u : lowered.program)
    if (u->op == uops::Op::SPECIAL) lanes = int64_t(u->src[0]->value().i);
  std::vector<const runtime::Buffer*> bufs;
  for (const uops::UOp& b : main->buffers) bufs.push_back(&runtime::buffer(b));
  *outputs = bufs[0]->size;
  return {run(code, bufs, lanes), lowered.opts};
}

// LLVM IR of a kernel with one lane per output: the lane's index, then body (which stores the output).
std::string llvm_kernel(const std::string& name, const std::string& params, const std::string& body) {
  return fmt::format(R"(
declare i32 @llvm.amdgcn.workitem.id.x()
declare i32 @llvm.amdgcn.workgroup.id.x()
declare float @llvm.fma.f32(float, float, float)
define amdgpu_kernel void @{0}({1}) #0 {{
entry:
  %lid = call i32 @llvm.amdgcn.workitem.id.x()
  %wg = call i32 @llvm.amdgcn.workgroup.id.x()
  %base = shl i32 %wg, 5
  %gid = add i32 %base, %lid
{2}
}}
attributes #0 = {{ "amdgpu-flat-work-group-size"="32,32" "amdgpu-no-dispatch-ptr" "amdgpu-no-queue-ptr"
  "amdgpu-no-dispatch-id" "amdgpu-no-implicitarg-ptr" "amdgpu-no-workgroup-id-y" "amdgpu-no-workgroup-id-z"
  "amdgpu-no-workitem-id-y" "amdgpu-no-workitem-id-z" "amdgpu-no-hostcall-ptr" "amdgpu-no-heap-ptr"
  "amdgpu-no-multigrid-sync-arg" "amdgpu-no-completion-action" "amdgpu-no-default-queue" "amdgpu-no-lds-kernel-id" }}
)",
                     name, params, body);
}

const char* matmul_body = R"(
  %i = lshr i32 %gid, 10
  %j = and i32 %gid, 1023
  %arow = shl i32 %i, 10
  br label %loop
loop:
  %k = phi i32 [0, %entry], [%k1, %loop]
  %acc = phi float [0.0, %entry], [%acc1, %loop]
  %ai = add i32 %arow, %k
  %ai64 = zext i32 %ai to i64
  %pa = getelementptr float, ptr addrspace(1) %a, i64 %ai64
  %va = load float, ptr addrspace(1) %pa
  %bk = shl i32 %k, 10
  %bi = add i32 %bk, %j
  %bi64 = zext i32 %bi to i64
  %pb = getelementptr float, ptr addrspace(1) %b, i64 %bi64
  %vb = load float, ptr addrspace(1) %pb
  %acc1 = call float @llvm.fma.f32(float %va, float %vb, float %acc)
  %k1 = add i32 %k, 1
  %more = icmp ult i32 %k1, 1024
  br i1 %more, label %loop, label %exit
exit:
  %ci = zext i32 %gid to i64
  %pc = getelementptr float, ptr addrspace(1) %c, i64 %ci
  store float %acc1, ptr addrspace(1) %pc
  ret void)";

const char* sum_body = R"(
  %first = mul i32 %gid, CHUNK
  br label %loop
loop:
  %k = phi i32 [0, %entry], [%k1, %loop]
  %acc = phi float [0.0, %entry], [%acc1, %loop]
  %xi = add i32 %first, %k
  %xi64 = zext i32 %xi to i64
  %px = getelementptr float, ptr addrspace(1) %x, i64 %xi64
  %vx = load float, ptr addrspace(1) %px
  %acc1 = fadd float %acc, %vx
  %k1 = add i32 %k, 1
  %more = icmp ult i32 %k1, CHUNK
  br i1 %more, label %loop, label %exit
exit:
  %ci = zext i32 %gid to i64
  %pc = getelementptr float, ptr addrspace(1) %c, i64 %ci
  store float %acc1, ptr addrspace(1) %pc
  ret void)";

void row(const char* who, const rdna3::Counters& c, int64_t outputs, const std::string& note) {
  double n = double(outputs);
  fmt::print("  {:<8} {:>8.1f} {:>8.1f} {:>8.1f} {:>8.2f} {:>8.1f} {:>8.1f} {:>9.1f}  {}\n", who, c.valu / n,
             c.salu / n, c.vmem / n, c.smem / n, c.lds / n, c.control / n, c.total() / n, note);
}

} // namespace

int main() {
  fmt::print("wave-instructions per output (fewer is better):\n  {:<8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8} {:>9}\n", "",
             "VALU", "SALU", "VMEM", "SMEM", "LDS", "control", "total");
  {
    Tensor a = random({64, 1024}), b = random({1024, 1024});
    int64_t outputs = 0;
    auto [mine, opts] = ours(a.matmul(b), &outputs);
    fmt::print("matmul 64x1024 @ 1024x1024 (K = 1024), {} outputs\n", outputs);
    row("patgrad", mine, outputs, opts.empty() ? "" : "opts: " + opts);
    std::vector<float> ha = a.to_vector<float>(), hb = b.to_vector<float>(), hc = std::vector<float>(size_t(outputs));
    std::string ir = llvm_kernel(
        "mm", "ptr addrspace(1) noalias %c, ptr addrspace(1) noalias readonly %a, ptr addrspace(1) noalias readonly %b",
        matmul_body);
    rdna3::CodeObject code = check(rdna3::load(check(rdna3::compile_ir(ir)), "mm"));
    runtime::Buffer bc{DType::f32, outputs, hc.data()}, ba{DType::f32, int64_t(ha.size()), ha.data()},
        bb{DType::f32, int64_t(hb.size()), hb.data()};
    const runtime::Buffer* bufs[] = {&bc, &ba, &bb};
    row("LLVM", run(code, bufs, outputs), outputs, "one output a lane, llc -O2");
  }
  {
    Tensor x = random({int64_t(1) << 24});
    int64_t outputs = 0;
    auto [mine, opts] = ours(x.sum(), &outputs);
    int64_t chunk = (int64_t(1) << 24) / outputs;
    fmt::print("sum of 16M floats, first kernel: {} partial sums of {} each\n", outputs, chunk);
    row("patgrad", mine, outputs, opts.empty() ? "" : "opts: " + opts);
    std::vector<float> hx = x.to_vector<float>(), hc = std::vector<float>(size_t(outputs));
    std::string ir = llvm_kernel("sum", "ptr addrspace(1) noalias %c, ptr addrspace(1) noalias readonly %x",
                                 llvm::StringRef(sum_body).str());
    for (size_t at; (at = ir.find("CHUNK")) != std::string::npos;) ir.replace(at, 5, std::to_string(chunk));
    rdna3::CodeObject code = check(rdna3::load(check(rdna3::compile_ir(ir)), "sum"));
    runtime::Buffer bc{DType::f32, outputs, hc.data()}, bx{DType::f32, int64_t(hx.size()), hx.data()};
    const runtime::Buffer* bufs[] = {&bc, &bx};
    row("LLVM", run(code, bufs, outputs), outputs, "one output a lane, llc -O2");
  }
}
