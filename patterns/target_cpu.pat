# The CPU target: kernels as LLVM IR, compiled by LLVM's JIT for this machine (runtime/target_cpu.cpp). This file
# is everything about the target that is rules: what it lacks (lower_llvm, run by the pipeline's `lower_cpu` pass) and
# the text of every op of a linear program (render llvm). renderers/llvm.cpp only names values (%v0, %v1, ...;
# constants as literals) and writes the function around the lines. In a template {self} is the node's SSA name, {a}
# a source's, {label(a)} a name without its %, to define a block label derived from it, {arg} the node's integer
# arg, {ty} the LLVM type, {tm:llvm_sfx} an intrinsic suffix.
include "prelude.pat";

# Threads: each call of a kernel runs a share [start, end) of its outermost output loop (runtime/target_cpu.cpp splits
# it across the cores). The range keeps its bound and number, so index arithmetic simplified against [0, n) stays
# valid; it gets two more sources, so the rule fires once.
group thread_loop {
  [thread_range] SINK(END(x, r:RANGE(n:CONST), ...rs))
      => SINK(END(subst(x, r, t), t, ...rs)) where t = RANGE<index>[r.arg](n, var("start", 0, n.val), var("end", 0, n.val));
}

# What LLVM IR does not say directly, in its terms.
dtypes halves = {f16, bf16};
group lower_llvm {
  # a bool is i1 in registers and one byte in memory
  [ll_load_bool]  LOAD<bool>(g, i)      => CAST<bool>(LOAD<u8>(g, i));
  [ll_store_bool] STORE(g, i, v<bool>)  => STORE(g, i, CAST<u8>(v));
  [ll_store_bool_gated] STORE(g, i, v<bool>, c) => STORE(g, i, CAST<u8>(v), c);
  # bf16 arithmetic in f32, rounded back by ll_cast_bf16_f32's integer ops: LLVM would round with a call to
  # compiler-rt's __truncsfbf2, which the JIT does not link, on CPUs without AVX512-BF16 (Zen 3: "Symbols not found").
  # f32 has more than twice bf16's precision, so rounding twice rounds once (+, -, *, /, sqrt); negation is exact.
  # (ll_mulacc_narrow's conversion to bf16 from f64 is lower.pat's lower_bf16, which lower_cpu runs again.)
  [ll_bf16_unary]  op:{NEG, RECIP, SQRT, EXP2, LOG2, SIN, TRUNC}(a<bf16>) => CAST<bf16>(op<f32>(CAST<f32>(a)));
  [ll_bf16_binary] op:{ADD, SUB, MUL, FDIV, MAX, MIN, POW}(a<bf16>, b) => CAST<bf16>(op<f32>(CAST<f32>(a), CAST<f32>(b)));
  # MULACC rounds once. LLVM's fma of f16 or bf16 is an f32 fma rounded again: twice (84.5 * -3 + 2^-112 in bf16 is
  # -253, not the tie -254). Here the product is exact in f64 (at most 22 bits), the sum is rounded to odd (TwoSum's
  # error says which way it rounded; where inexact and even, one step back toward the exact sum), and f64 keeps more
  # than two bits beyond f32, so the conversion's rounding to nearest is the one rounding.
  [ll_mulacc_narrow] MULACC<t:halves>(a, b, c)
      => CAST<t>(WHERE(odd, BITCAST<f64>(WHERE(away, BITCAST<u64>(s) + 1, BITCAST<u64>(s) - 1)), s))
      where p = CAST<f64>(a) * CAST<f64>(b), q = CAST<f64>(c), s = p + q, v = s - p, e = (p - (s - v)) + (q - v),
            odd = (e != 0.0) & ((BITCAST<u64>(s) & 1) == 0) & (s - s == 0.0), away = (e > 0.0) == (s > 0.0);
}


render llvm extends render_common {
  # structure. A loop is a preheader (so the index's phi knows where it came from), a head that tests the index, the
  # body, and a latch that steps it; a thread loop runs over the share [start, end) its call was given. Accumulators
  # are allocas, which linearize puts in the entry block and mem2reg turns into registers.
  [ll_global]    DEFINE_GLOBAL           => "{self}.p = getelementptr ptr, ptr %bufs, i64 {arg}\n  {self} = load ptr, ptr {self}.p";
  [ll_range]     RANGE(n)                => "br label {self}.pre\n{label(self)}.pre:\n  br label {self}.head\n{label(self)}.head:\n  {self} = phi i64 [0, {self}.pre], [{self}.next, {self}.latch]\n  {self}.c = icmp slt i64 {self}, {n}\n  br i1 {self}.c, label {self}.body, label {self}.exit\n{label(self)}.body:";
  [ll_range_thread] RANGE(_n, lo, hi)    => "br label {self}.pre\n{label(self)}.pre:\n  br label {self}.head\n{label(self)}.head:\n  {self} = phi i64 [{lo}, {self}.pre], [{self}.next, {self}.latch]\n  {self}.c = icmp slt i64 {self}, {hi}\n  br i1 {self}.c, label {self}.body, label {self}.exit\n{label(self)}.body:";
  [ll_end]       END(_x, r)              => "br label {r}.latch\n{label(r)}.latch:\n  {r}.next = add i64 {r}, 1\n  br label {r}.head\n{label(r)}.exit:";
  [ll_acc]       DEFINE_ACC              => "{self} = alloca {ty}";
  [ll_assign]    ASSIGN(a, v, ...)       => "store {ty(v)} {v}, ptr {a}";
  [ll_after]     AFTER(a, ...)           => "{self} = load {ty}, ptr {a}";
  [ll_load]      LOAD(g, i)              => "{self}.p = getelementptr {ty}, ptr {g}, i64 {i}\n  {self} = load {ty}, ptr {self}.p";
  [ll_store]     STORE(g, i, v)          => "{self}.p = getelementptr {ty(v)}, ptr {g}, i64 {i}\n  store {ty(v)} {v}, ptr {self}.p";
  # a gated store (a padded range's extra trips) is skipped where its gate is false
  [ll_store_gated] STORE(g, i, v, c)     => "br i1 {c}, label {self}.do, label {self}.done\n{label(self)}.do:\n  {self}.p = getelementptr {ty(v)}, ptr {g}, i64 {i}\n  store {ty(v)} {v}, ptr {self}.p\n  br label {self}.done\n{label(self)}.done:";

  # arithmetic
  [ll_add_f]     ADD<floats>(a, b)       => "{self} = fadd {ty} {a}, {b}";
  [ll_add]       ADD(a, b)               => "{self} = add {ty} {a}, {b}";
  [ll_sub_f]     SUB<floats>(a, b)       => "{self} = fsub {ty} {a}, {b}";
  [ll_sub]       SUB(a, b)               => "{self} = sub {ty} {a}, {b}";
  [ll_mul_f]     MUL<floats>(a, b)       => "{self} = fmul {ty} {a}, {b}";
  [ll_mul]       MUL(a, b)               => "{self} = mul {ty} {a}, {b}";
  [ll_fdiv]      FDIV(a, b)              => "{self} = fdiv {ty} {a}, {b}";
  [ll_cdiv_s]    CDIV<sidx>(a, b)        => "{self} = sdiv {ty} {a}, {b}";
  [ll_cdiv_u]    CDIV(a, b)              => "{self} = udiv {ty} {a}, {b}";
  [ll_cmod_s]    CMOD<sidx>(a, b)        => "{self} = srem {ty} {a}, {b}";
  [ll_cmod_u]    CMOD(a, b)              => "{self} = urem {ty} {a}, {b}";
  [ll_neg_f]     NEG<floats>(a)          => "{self} = fneg {ty} {a}";
  [ll_neg]       NEG(a)                  => "{self} = sub {ty} 0, {a}";
  [ll_and]       AND(a, b)               => "{self} = and {ty} {a}, {b}";
  [ll_or]        OR(a, b)                => "{self} = or {ty} {a}, {b}";
  [ll_xor]       XOR(a, b)               => "{self} = xor {ty} {a}, {b}";
  [ll_shl]       SHL(a, b)               => "{self} = shl {ty} {a}, {b}";
  [ll_shr_s]     SHR<sidx>(a, b)         => "{self} = ashr {ty} {a}, {b}";
  [ll_shr_u]     SHR(a, b)               => "{self} = lshr {ty} {a}, {b}";
  [ll_recip]     RECIP(a)                => "{self} = fdiv {ty} 1.0, {a}";

  # max and min (of f16; lower.pat's min_max_selects writes f32's and f64's as selects): llvm.maximum/minimum propagate NaN and order -0
  # below +0, as the op table says
  [ll_max_f]     MAX<floats>(a, b)       => "{self} = call {ty} @llvm.maximum.{tm:llvm_sfx}({ty} {a}, {ty} {b})";
  [ll_max_s]     MAX<sidx>(a, b)         => "{self} = call {ty} @llvm.smax.{ty}({ty} {a}, {ty} {b})";
  [ll_max_b]     MAX<bool>(a, b)         => "{self} = or i1 {a}, {b}";
  [ll_max_u]     MAX(a, b)               => "{self} = call {ty} @llvm.umax.{ty}({ty} {a}, {ty} {b})";
  [ll_min_f]     MIN<floats>(a, b)       => "{self} = call {ty} @llvm.minimum.{tm:llvm_sfx}({ty} {a}, {ty} {b})";
  [ll_min_s]     MIN<sidx>(a, b)         => "{self} = call {ty} @llvm.smin.{ty}({ty} {a}, {ty} {b})";
  [ll_min_b]     MIN<bool>(a, b)         => "{self} = and i1 {a}, {b}";
  [ll_min_u]     MIN(a, b)               => "{self} = call {ty} @llvm.umin.{ty}({ty} {a}, {ty} {b})";

  # the rest of the float math through intrinsics
  [ll_sqrt]      SQRT(a)                 => "{self} = call {ty} @llvm.sqrt.{tm:llvm_sfx}({ty} {a})";
  [ll_exp2]      EXP2(a)                 => "{self} = call {ty} @llvm.exp2.{tm:llvm_sfx}({ty} {a})";
  [ll_log2]      LOG2(a)                 => "{self} = call {ty} @llvm.log2.{tm:llvm_sfx}({ty} {a})";
  [ll_sin]       SIN(a)                  => "{self} = call {ty} @llvm.sin.{tm:llvm_sfx}({ty} {a})";
  [ll_trunc]     TRUNC(a)                => "{self} = call {ty} @llvm.trunc.{tm:llvm_sfx}({ty} {a})";
  [ll_pow]       POW(a, b)               => "{self} = call {ty} @llvm.pow.{tm:llvm_sfx}({ty} {a}, {ty} {b})";
  [ll_fma]       MULACC<floats>(a, b, c) => "{self} = call {ty} @llvm.fma.{tm:llvm_sfx}({ty} {a}, {ty} {b}, {ty} {c})";
  [ll_mulacc]    MULACC(a, b, c)         => "{self}.m = mul {ty} {a}, {b}\n  {self} = add {ty} {self}.m, {c}";

  # comparisons: ordered for floats, except != (true on NaN)
  [ll_lt_f]      CMPLT(a<floats>, b)     => "{self} = fcmp olt {ty(a)} {a}, {b}";
  [ll_lt_s]      CMPLT(a<sidx>, b)       => "{self} = icmp slt {ty(a)} {a}, {b}";
  [ll_lt_u]      CMPLT(a, b)             => "{self} = icmp ult {ty(a)} {a}, {b}";
  [ll_le_f]      CMPLE(a<floats>, b)     => "{self} = fcmp ole {ty(a)} {a}, {b}";
  [ll_le_s]      CMPLE(a<sidx>, b)       => "{self} = icmp sle {ty(a)} {a}, {b}";
  [ll_le_u]      CMPLE(a, b)             => "{self} = icmp ule {ty(a)} {a}, {b}";
  [ll_eq_f]      CMPEQ(a<floats>, b)     => "{self} = fcmp oeq {ty(a)} {a}, {b}";
  [ll_eq]        CMPEQ(a, b)             => "{self} = icmp eq {ty(a)} {a}, {b}";
  [ll_ne_f]      CMPNE(a<floats>, b)     => "{self} = fcmp une {ty(a)} {a}, {b}";
  [ll_ne]        CMPNE(a, b)             => "{self} = icmp ne {ty(a)} {a}, {b}";
  [ll_where]     WHERE(c, a, b)          => "{self} = select i1 {c}, {ty} {a}, {ty} {b}";

  # conversions, by the kinds and widths of the two dtypes
  [ll_cast_bool_f] CAST<bool>(a<floats>)         => "{self} = fcmp une {ty(a)} {a}, 0.0";
  [ll_cast_bool]   CAST<bool>(a)                 => "{self} = icmp ne {ty(a)} {a}, 0";
  [ll_cast_f_f]    r:CAST<floats>(a<floats>) if bits(r) > bits(a) => "{self} = fpext {ty(a)} {a} to {ty}";
  [ll_cast_f_f16]  r:CAST<floats>(a<floats>) if bits(r) == bits(a) => "{self}.w = fpext {ty(a)} {a} to float\n  {self} = fptrunc float {self}.w to {ty}";
  # f32 to bf16 with integer ops, rounding to nearest even: LLVM would use the CPU's conversion instruction, which
  # flushes subnormals to zero. lower.pat brings the other conversions to bf16 to this one.
  [ll_cast_bf16_f32] CAST<bf16>(a<f32>)         => "{self}.i = bitcast float {a} to i32\n  {self}.l = lshr i32 {self}.i, 16\n  {self}.b = and i32 {self}.l, 1\n  {self}.r = add i32 {self}.i, 32767\n  {self}.s = add i32 {self}.r, {self}.b\n  {self}.h = lshr i32 {self}.s, 16\n  {self}.q = or i32 {self}.l, 64\n  {self}.u = fcmp uno float {a}, {a}\n  {self}.v = select i1 {self}.u, i32 {self}.q, i32 {self}.h\n  {self}.t = trunc i32 {self}.v to i16\n  {self} = bitcast i16 {self}.t to bfloat";
  [ll_cast_f_fn]   CAST<floats>(a<floats>)       => "{self} = fptrunc {ty(a)} {a} to {ty}";
  [ll_cast_f_s]    CAST<floats>(a<sidx>)         => "{self} = sitofp {ty(a)} {a} to {ty}";
  [ll_cast_f_u]    CAST<floats>(a)               => "{self} = uitofp {ty(a)} {a} to {ty}";
  # float to int saturates, NaN to 0 (the op table's CAST)
  [ll_cast_s_f]    CAST<sidx>(a<floats>)         => "{self} = call {ty} @llvm.fptosi.sat.{ty}.{tm:llvm_sfx(a)}({ty(a)} {a})";
  [ll_cast_u_f]    CAST(a<floats>)               => "{self} = call {ty} @llvm.fptoui.sat.{ty}.{tm:llvm_sfx(a)}({ty(a)} {a})";
  [ll_cast_trunc]  r:CAST(a) if bits(r) < bits(a) => "{self} = trunc {ty(a)} {a} to {ty}";
  [ll_cast_same]   r:CAST(a) if bits(r) == bits(a) => "{self} = add {ty} {a}, 0";
  [ll_cast_sext]   CAST(a<sidx>)                 => "{self} = sext {ty(a)} {a} to {ty}";
  [ll_cast_zext]   CAST(a)                       => "{self} = zext {ty(a)} {a} to {ty}";
  [ll_bitcast]     BITCAST(a)                    => "{self} = bitcast {ty(a)} {a} to {ty}";
}

typemap llvm {
  bool = "i1"; i8 = "i8"; i16 = "i16"; i32 = "i32"; i64 = "i64"; u8 = "i8"; u16 = "i16"; u32 = "i32"; u64 = "i64";
  index = "i64"; f16 = "half"; bf16 = "bfloat"; f32 = "float"; f64 = "double";
}
typemap llvm_sfx { f16 = "f16"; bf16 = "bf16"; f32 = "f32"; f64 = "f64"; }

target CPU (render=llvm);
