// The RDNA3 emulator against trusted code: a hand-written kernel assembled in-process and kernels LLVM's own gfx1100
// codegen compiled, each checked against the same computation on the host. Then broken kernels, each of which the
// emulator must stop with an error that names the problem: missing waits, a missing guard, a trans hazard, an
// unsupported instruction, a runaway loop, a malformed object and an assembly error.
#include "runtime/rdna3_emulator.h"
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

using namespace patgrad::runtime::rdna3;

namespace {

// c[i] = a[i] + b[i], gpu.md §1.1: kernarg s[0:1], workgroup id x in s15 (user_sgpr_count padded to 15), 64 lanes.
constexpr const char* add_body = R"(
  s_load_b128 s[4:7], s[0:1], 0x0
  s_load_b64  s[8:9], s[0:1], 0x10
  v_lshl_add_u32 v0, s15, 6, v0
  v_lshlrev_b32 v0, 2, v0
  s_waitcnt lgkmcnt(0)
  global_load_b32 v1, v0, s[6:7]
  global_load_b32 v2, v0, s[8:9]
  s_waitcnt vmcnt(0)
  v_add_f32 v1, v1, v2
  global_store_b32 v0, v1, s[4:5]
  s_endpgm
)";

// A gfx1100 kernel `k` around `body`: 24 bytes of kernargs, kernarg pointer and workgroup id x enabled.
std::string kernel_asm(const std::string& body) {
  return R"(.amdgcn_target "amdgcn-amd-amdhsa--gfx1100"
.text
.globl k
.p2align 8
.type k,@function
k:)" + body +
         R"(.Lend:
  .size k, .Lend-k
.rodata
.p2align 6
.amdhsa_kernel k
  .amdhsa_user_sgpr_kernarg_segment_ptr 1
  .amdhsa_user_sgpr_count 15
  .amdhsa_system_sgpr_workgroup_id_x 1
  .amdhsa_wavefront_size32 1
  .amdhsa_kernarg_size 24
  .amdhsa_next_free_vgpr 8
  .amdhsa_next_free_sgpr 16
.end_amdhsa_kernel
)";
}

std::string replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

// The value, or the test fails with the error's text.
template <class T>
T ok(llvm::Expected<T> value) {
  if (!value) FAIL(llvm::toString(value.takeError()));
  return std::move(*value);
}

CodeObject assembled(const std::string& text) { return ok(load(ok(assemble(text)), "k")); }

// Every kernel gets the attributes that keep the kernarg pointer in s[0:1] (gpu.md §1.3).
constexpr const char* ir_attributes = R"(
declare i32 @llvm.amdgcn.workitem.id.x()
declare i32 @llvm.amdgcn.workgroup.id.x()
attributes #0 = { "amdgpu-flat-work-group-size"="64,64" "amdgpu-no-dispatch-ptr" "amdgpu-no-queue-ptr"
  "amdgpu-no-dispatch-id" "amdgpu-no-implicitarg-ptr" "amdgpu-no-workgroup-id-y" "amdgpu-no-workgroup-id-z"
  "amdgpu-no-workitem-id-y" "amdgpu-no-workitem-id-z" "amdgpu-no-hostcall-ptr" "amdgpu-no-heap-ptr"
  "amdgpu-no-multigrid-sync-arg" "amdgpu-no-completion-action" "amdgpu-no-default-queue" "amdgpu-no-lds-kernel-id" }
)";

CodeObject compiled(const std::string& ir, const char* name) {
  return ok(load(ok(compile_ir(ir + ir_attributes)), name));
}

// i = workgroup * 64 + lane, the index every IR kernel starts from
constexpr const char* global_index = R"(
  %lid = call i32 @llvm.amdgcn.workitem.id.x()
  %wg = call i32 @llvm.amdgcn.workgroup.id.x()
  %base = shl i32 %wg, 6
  %i = add i32 %base, %lid
)";

// out[i] = a[i] * b[i] + 1 where i < n
std::string elementwise_ir(bool guarded) {
  return std::string("define amdgpu_kernel void @ew(ptr addrspace(1) %out, ptr addrspace(1) %a, "
                     "ptr addrspace(1) %b, i32 %n) #0 {\nentry:") +
         global_index +
         (guarded ? "  %in = icmp slt i32 %i, %n\n  br i1 %in, label %body, label %done\n" : "  br label %body\n") +
         R"(body:
  %ie = sext i32 %i to i64
  %pa = getelementptr float, ptr addrspace(1) %a, i64 %ie
  %pb = getelementptr float, ptr addrspace(1) %b, i64 %ie
  %x = load float, ptr addrspace(1) %pa
  %y = load float, ptr addrspace(1) %pb
  %m = fmul float %x, %y
  %r = fadd float %m, 1.0
  %po = getelementptr float, ptr addrspace(1) %out, i64 %ie
  store float %r, ptr addrspace(1) %po
  br label %done
done:
  ret void
}
)";
}

std::vector<float> iota_floats(size_t n, float scale, float offset) {
  std::vector<float> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = float(i) * scale + offset;
  return v;
}

template <class T>
Buffer buffer(std::vector<T>& v) {
  return {v.data(), v.size() * sizeof(T)};
}

Launch launch_1d(uint32_t workgroups, const Kernargs& args, llvm::ArrayRef<Buffer> buffers) {
  Launch l;
  l.grid = {workgroups, 1, 1};
  l.block = {64, 1, 1};
  l.kernargs = args.data();
  l.buffers = buffers;
  return l;
}

std::string run_error(const CodeObject& kernel, const Launch& launch) {
  llvm::Expected<Counters> counters = run(kernel, launch);
  if (counters) FAIL("the kernel ran without an error");
  return llvm::toString(counters.takeError());
}

} // namespace

TEST_CASE("the hand-written add kernel assembles in-process and adds on three workgroups", "[rdna3]") {
  CodeObject kernel = assembled(kernel_asm(add_body));
  CHECK(kernel.kernarg_size == 24);
  CHECK(kernel.user_sgpr_count == 15);
  std::vector<float> a = iota_floats(192, 0.5f, 1), b = iota_floats(192, -0.25f, 3), c(192, 0);
  Kernargs args;
  args.add(c.data()).add(a.data()).add(b.data());
  Buffer buffers[] = {buffer(a), buffer(b), buffer(c)};
  Counters counters = ok(run(kernel, launch_1d(3, args, buffers)));
  for (size_t i = 0; i < c.size(); ++i) REQUIRE(c[i] == a[i] + b[i]);
  CHECK(counters.smem == 2 * 6); // 3 workgroups of 2 waves, 2 scalar loads each
  CHECK(counters.vmem == 3 * 6);
  CHECK(counters.valu == 3 * 6);
}

TEST_CASE("an LLVM-compiled guarded elementwise kernel writes only the lanes below n", "[rdna3]") {
  CodeObject kernel = compiled(elementwise_ir(true), "ew");
  int n = 100; // two workgroups of 64: the second wave of the second group is partly, the rest fully, masked
  std::vector<float> a = iota_floats(n, 0.75f, -20), b = iota_floats(n, 0.125f, 2), out(n, 0);
  Kernargs args;
  args.add(out.data()).add(a.data()).add(b.data()).add(n);
  Buffer buffers[] = {buffer(a), buffer(b), buffer(out)};
  ok(run(kernel, launch_1d(2, args, buffers)));
  for (int i = 0; i < n; ++i) {
    float m = a[i] * b[i];
    REQUIRE(out[i] == m + 1.0f);
  }
}

TEST_CASE("an LLVM-compiled row sum loops uniformly over v_exp_f32", "[rdna3]") {
  CodeObject kernel = compiled(R"(
declare float @llvm.exp2.f32(float)
define amdgpu_kernel void @rowsum(ptr addrspace(1) %out, ptr addrspace(1) %a, i32 %n) #0 {
entry:)" + std::string(global_index) +
                                   R"(
  %in = icmp slt i32 %i, %n
  br i1 %in, label %loop, label %done
loop:
  %k = phi i32 [0, %entry], [%k1, %loop]
  %acc = phi float [0.0, %entry], [%acc1, %loop]
  %row = mul i32 %i, 16
  %idx = add i32 %row, %k
  %ie = sext i32 %idx to i64
  %pa = getelementptr float, ptr addrspace(1) %a, i64 %ie
  %x = load float, ptr addrspace(1) %pa
  %e = call float @llvm.exp2.f32(float %x)
  %acc1 = fadd float %acc, %e
  %k1 = add i32 %k, 1
  %c = icmp eq i32 %k1, 16
  br i1 %c, label %store, label %loop
store:
  %io = sext i32 %i to i64
  %po = getelementptr float, ptr addrspace(1) %out, i64 %io
  store float %acc1, ptr addrspace(1) %po
  br label %done
done:
  ret void
}
)",
                               "rowsum");
  int n = 70;
  std::vector<float> a = iota_floats(n * 16, 0.01f, -5), out(n, 0);
  a[3] = -140; // below -126: LLVM's exp2 scales the input, and the emulator must follow its select
  Kernargs args;
  args.add(out.data()).add(a.data()).add(n);
  Buffer buffers[] = {buffer(a), buffer(out)};
  Counters counters = ok(run(kernel, launch_1d(2, args, buffers)));
  for (int r = 0; r < n; ++r) {
    float sum = 0;
    for (int k = 0; k < 16; ++k) sum += std::exp2(a[r * 16 + k]);
    REQUIRE(out[r] == Approx(sum).epsilon(1e-6));
  }
  CHECK(counters.salu > 0);
  CHECK(counters.control > 0);
}

TEST_CASE("an LLVM-compiled max, min and select kernel stores float pairs", "[rdna3]") {
  CodeObject kernel = compiled(R"(
declare float @llvm.maxnum.f32(float, float)
declare float @llvm.minnum.f32(float, float)
define amdgpu_kernel void @minmax(ptr addrspace(1) %out, ptr addrspace(1) %a, ptr addrspace(1) %b) #0 {)" +
                                   std::string(global_index) + R"(
  %ie = zext i32 %i to i64
  %pa = getelementptr float, ptr addrspace(1) %a, i64 %ie
  %pb = getelementptr float, ptr addrspace(1) %b, i64 %ie
  %x = load float, ptr addrspace(1) %pa
  %y = load float, ptr addrspace(1) %pb
  %mx = call float @llvm.maxnum.f32(float %x, float %y)
  %mn = call float @llvm.minnum.f32(float %x, float %y)
  %gt = fcmp ogt float %x, 0.0
  %s = select i1 %gt, float %mx, float %mn
  %d = fsub float %s, %mn
  %po = getelementptr <2 x float>, ptr addrspace(1) %out, i64 %ie
  %v0 = insertelement <2 x float> undef, float %s, i32 0
  %v1 = insertelement <2 x float> %v0, float %d, i32 1
  store <2 x float> %v1, ptr addrspace(1) %po
  ret void
}
)",
                               "minmax");
  std::vector<float> a = iota_floats(128, 0.37f, -23), b = iota_floats(128, -0.21f, 9), out(256, 0);
  Kernargs args;
  args.add(out.data()).add(a.data()).add(b.data());
  Buffer buffers[] = {buffer(a), buffer(b), buffer(out)};
  ok(run(kernel, launch_1d(2, args, buffers)));
  for (int i = 0; i < 128; ++i) {
    float mx = std::fmax(a[i], b[i]), mn = std::fmin(a[i], b[i]), s = a[i] > 0 ? mx : mn;
    REQUIRE(out[2 * i] == s);
    REQUIRE(out[2 * i + 1] == s - mn);
  }
}

TEST_CASE("an LLVM-compiled LDS kernel reverses each workgroup across a barrier", "[rdna3]") {
  CodeObject kernel = compiled(R"(
declare void @llvm.amdgcn.s.barrier()
@lds = internal addrspace(3) global [64 x float] undef, align 4
define amdgpu_kernel void @reverse(ptr addrspace(1) %out, ptr addrspace(1) %a) #0 {)" +
                                   std::string(global_index) + R"(
  %ie = zext i32 %i to i64
  %pa = getelementptr float, ptr addrspace(1) %a, i64 %ie
  %x = load float, ptr addrspace(1) %pa
  %pl = getelementptr [64 x float], ptr addrspace(3) @lds, i32 0, i32 %lid
  store float %x, ptr addrspace(3) %pl
  fence syncscope("workgroup") release
  call void @llvm.amdgcn.s.barrier()
  fence syncscope("workgroup") acquire
  %rl = sub i32 63, %lid
  %pr = getelementptr [64 x float], ptr addrspace(3) @lds, i32 0, i32 %rl
  %y = load float, ptr addrspace(3) %pr
  %po = getelementptr float, ptr addrspace(1) %out, i64 %ie
  store float %y, ptr addrspace(1) %po
  ret void
}
)",
                               "reverse");
  CHECK(kernel.lds_size == 256);
  std::vector<float> a = iota_floats(128, 1, 0), out(128, 0);
  Kernargs args;
  args.add(out.data()).add(a.data());
  Buffer buffers[] = {buffer(a), buffer(out)};
  Counters counters = ok(run(kernel, launch_1d(2, args, buffers)));
  for (int i = 0; i < 128; ++i) REQUIRE(out[i] == a[(i / 64) * 64 + 63 - i % 64]);
  CHECK(counters.lds == 2 * 2 * 2); // a store and a load per wave
}

TEST_CASE("an LLVM-compiled integer kernel matches the host bit for bit", "[rdna3]") {
  CodeObject kernel = compiled(R"(
declare i32 @llvm.smax.i32(i32, i32)
define amdgpu_kernel void @intops(ptr addrspace(1) %out, ptr addrspace(1) %a, i32 %s) #0 {)" +
                                   std::string(global_index) + R"(
  %ie = zext i32 %i to i64
  %pa = getelementptr i32, ptr addrspace(1) %a, i64 %ie
  %x = load i32, ptr addrspace(1) %pa
  %m = mul i32 %x, %s
  %sh = ashr i32 %x, 3
  %l = lshr i32 %x, 7
  %d = udiv i32 %x, 7
  %r = srem i32 %x, 5
  %t1 = add i32 %m, %sh
  %t2 = xor i32 %t1, %l
  %t3 = sub i32 %t2, %d
  %t4 = or i32 %t3, %r
  %mx = call i32 @llvm.smax.i32(i32 %t4, i32 %x)
  %f = sitofp i32 %x to float
  %fh = fmul float %f, 0.5
  %fi = fptosi float %fh to i32
  %t5 = add i32 %mx, %fi
  %po = getelementptr i32, ptr addrspace(1) %out, i64 %ie
  store i32 %t5, ptr addrspace(1) %po
  ret void
}
)",
                               "intops");
  std::vector<int32_t> a(128), out(128, 0);
  for (int i = 0; i < 128; ++i) a[i] = (i * 2654435761u) >> (i % 7); // large, small and negative values
  int32_t s = -12345;
  Kernargs args;
  args.add(out.data()).add(a.data()).add(s);
  Buffer buffers[] = {buffer(a), buffer(out)};
  ok(run(kernel, launch_1d(2, args, buffers)));
  for (int i = 0; i < 128; ++i) {
    int32_t x = a[i];
    uint32_t t1 = uint32_t(x) * uint32_t(s) + uint32_t(x >> 3);
    uint32_t t4 = ((t1 ^ (uint32_t(x) >> 7)) - uint32_t(x) / 7) | uint32_t(x % 5);
    int32_t mx = std::max(int32_t(t4), x);
    REQUIRE(out[i] == int32_t(uint32_t(mx) + uint32_t(int32_t(float(x) * 0.5f))));
  }
}

TEST_CASE("the emulator stops broken kernels with an error that names the problem", "[rdna3]") {
  std::vector<float> a(64, 1), b(64, 2), c(64, 0);
  Kernargs args;
  args.add(c.data()).add(a.data()).add(b.data());
  Buffer buffers[] = {buffer(a), buffer(b), buffer(c)};
  Launch launch = launch_1d(1, args, buffers);
  using Catch::Matchers::Contains;

  SECTION("a vector load used before s_waitcnt vmcnt") {
    CodeObject k = assembled(kernel_asm(replace(add_body, "s_waitcnt vmcnt(0)", "")));
    CHECK_THAT(run_error(k, launch), Contains("v1 read at 0x") && Contains("before s_waitcnt vmcnt"));
  }
  SECTION("a scalar load used before s_waitcnt lgkmcnt") {
    CodeObject k = assembled(kernel_asm(replace(add_body, "s_waitcnt lgkmcnt(0)", "")));
    CHECK_THAT(run_error(k, launch), Contains("s6 read at 0x") && Contains("before s_waitcnt lgkmcnt"));
  }
  SECTION("lgkmcnt(1) does not retire scalar loads, which return out of order") {
    CodeObject k = assembled(kernel_asm(replace(add_body, "s_waitcnt lgkmcnt(0)", "s_waitcnt lgkmcnt(1)")));
    CHECK_THAT(run_error(k, launch), Contains("before s_waitcnt lgkmcnt"));
  }
  SECTION("a transcendental result read too soon") {
    std::string body = replace(add_body, "v_add_f32 v1, v1, v2", "v_exp_f32 v1, v1\n  v_add_f32 v1, v1, v2");
    CHECK_THAT(run_error(assembled(kernel_asm(body)), launch), Contains("VALUTransUseHazard"));
    body = replace(body, "v_add_f32", "s_waitcnt_depctr 0xfff\n  v_add_f32");
    ok(run(assembled(kernel_asm(body)), launch));
    CHECK(c[5] == std::exp2(1.0f) + 2);
  }
  SECTION("an instruction the emulator does not model") {
    CodeObject k = assembled(kernel_asm(replace(add_body, "v_add_f32 v1, v1, v2", "v_mov_b32_dpp v1, v2 row_shr:1")));
    CHECK_THAT(run_error(k, launch),
               Contains("unsupported instruction 'v_mov_b32_dpp v1, v2 row_shr:1") && Contains("at 0x"));
  }
  SECTION("a runaway loop") {
    CodeObject k = assembled(kernel_asm("\n.Lspin:\n  s_branch .Lspin\n  s_endpgm\n"));
    launch.instruction_limit = 1000;
    CHECK_THAT(run_error(k, launch), Contains("ran past 1000 instructions"));
  }
  SECTION("a store without its guard") {
    CodeObject k = compiled(elementwise_ir(false), "ew");
    std::vector<float> small(40); // n = 40: lanes 40 to 63 must not store
    Kernargs ew_args;
    ew_args.add(small.data()).add(a.data()).add(b.data()).add(40);
    Buffer ew_buffers[] = {buffer(a), buffer(b), buffer(small)};
    CHECK_THAT(run_error(k, launch_1d(1, ew_args, ew_buffers)),
               Contains("global_store_b32") && Contains("wave 1, lane 8), outside every registered buffer"));
  }
}

TEST_CASE("bad objects and bad assembly are errors, not crashes", "[rdna3]") {
  using Catch::Matchers::Contains;
  std::vector<char> object = ok(assemble(kernel_asm(add_body)));
  std::vector<char> truncated(object.begin(), object.begin() + 100);
  CHECK_THAT(llvm::toString(load(truncated, "k").takeError()), Contains("not an ELF object"));
  CHECK_THAT(llvm::toString(load(object, "missing").takeError()), Contains("no kernel 'missing'"));
  llvm::Expected<std::vector<char>> bad =
      assemble(kernel_asm(replace(add_body, "v_add_f32 v1, v1, v2", "v_add_f32 v1, v1, q2")));
  REQUIRE(!bool(bad));
  CHECK_THAT(llvm::toString(bad.takeError()), Contains("kernel.s:15:21:") && Contains("error:"));
  llvm::Expected<std::vector<char>> bad_ir = compile_ir("define void @f( {");
  REQUIRE(!bool(bad_ir));
  CHECK_THAT(llvm::toString(bad_ir.takeError()), Contains("kernel.ll:1:"));
}
