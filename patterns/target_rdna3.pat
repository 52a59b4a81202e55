# The RDNA3 target (AMD gfx1100, wave32): kernels as assembly over virtual registers, which renderers/rdna3.cpp
# allocates, waits for and frames into a code object (its descriptor and metadata); runtime/target_rdna3.cpp assembles
# it with LLVM's MC layer and runs it in the emulator (runtime/rdna3_emulator.h). What is rules: which lane computes
# what (gpu_dims), what the instruction set lacks (the pipeline's lower_rdna3 pass: lower.pat's gated loads and max and min as
# selects), and the instructions of every op (render rdna3).
#
# This first version: each lane computes one trip of the kernel's outermost output loop; the other loops are scalar
# loops that every lane runs alike; a workgroup is one wave of 32 lanes. Values: f32, i32, u32, index (as i32:
# buffers of at most 2^31 elements), bool (0 or 1 in a VGPR), 8- and 16-bit integers (loaded extended to 32 bits;
# loads, stores and conversions), and i64, u64 and f64 in VGPR pairs; integer division by constants of values under
# 2^21. Other dtypes (f16, bf16) and divisions have no rule yet, which the renderer reports, naming the op.
include "prelude.pat";

target RDNA3 (render=rdna3);

group gpu_dims {
  # lane i of the grid computes trip i of the outermost output loop; the SPECIAL masks off the lanes past its end
  [gpu_range] SINK(END(x, r:RANGE(n:CONST))) => SINK(subst(x, r, SPECIAL<index>(n)));
}

dtypes r3_ints = {i32, u32, index};
dtypes r3_unsigned = {u32, bool};
dtypes r3_words = {i32, u32, index, bool};
dtypes r3_signed = {i32, index};
dtypes r3_bits = {f32, i32, u32};
dtypes r3_wide = {i64, u64};
dtypes r3_pairs = {i64, u64, f64};
dtypes r3_small_u = {u8, u16};   # in a VGPR zero-extended, as global_load_u8/u16 leave them
dtypes r3_small_s = {i8, i16};   # sign-extended
dtypes r3_small = {u8, u16, i8, i16};

# RDNA3 has no integer division, nor a conversion from i64 to f32. An index divided by a constant, both under 2^21: the quotient of x + 1/2, which
# is at least 1/(2c) from an integer, through f32, whose two roundings (the sum is exact) move it by under
# (x + 1) * 2^-23 / c: less than that distance. Larger values, or a divisor that is not a constant, have no rule yet.
group divide_rdna3 {
  [r3_cdiv_const] CDIV<index>(x, c:CONST) if x.vmin >= 0 && x.vmax < 2097152 && c.val > 0 && c.val < 2097152
      => CAST<index>(TRUNC((CAST<f32>(x) + 0.5) * (CONST<f32>[1] / CONST<f32>[c.val])));
  [r3_cmod_const] CMOD<index>(x, c:CONST) if x.vmin >= 0 && x.vmax < 2097152 && c.val > 0 && c.val < 2097152
      => x - CDIV(x, c) * c;
  # i64 to f32 through its magnitude as u64 (whose conversion rounds once): the sign does not change the rounding
  [r3_cast_f_sw] CAST<f32>(x<i64>) => WHERE(x < 0, -CAST<f32>(CAST<u64>(CONST<i64>[0] - x)), CAST<f32>(CAST<u64>(x)));
  # 1 / c, correctly rounded, at compile time
  [r3_fold_fdiv] FDIV<f32>(a:CONST, b:CONST) => CONST<f32>[a.val / b.val];
}

# The instructions of each op. {self} and the sources are virtual registers (%vN a VGPR, %sN an SGPR, %SN an aligned
# SGPR pair; a DEFINE_GLOBAL is a pair, a RANGE an SGPR, every other value a VGPR, a constant its literal); a suffix
# makes a temporary of the node whose class is the suffix's first letter ({self}.vo: a VGPR). The kernel argument
# pointer is s[0:1], the workgroup id s15 (the user SGPRs padded to 15: gfx1100's UserSGPRInit16Bug), the lane's id
# v0; the allocator leaves those alone.
render rdna3 extends render_common {
  # kernel arguments: one 64-bit buffer address each
  [r3_global]  DEFINE_GLOBAL           => "s_load_b64 {self}, s[0:1], {arg}*8\n  s_waitcnt lgkmcnt(0)";
  [r3_special] SPECIAL(n)              => "v_lshl_add_u32 {self}, s15, 5, v0\n  v_cmpx_gt_u32 {n}, {self}";

  # loops run at least once (an empty output or reduction never reaches a kernel): the test is at the bottom
  [r3_range]   RANGE(_n)               => "s_mov_b32 {self}, 0\nL{label(self)}:";
  [r3_end]     END(_x, r:RANGE(n))     => "s_add_i32 {r}, {r}, 1\n  s_cmp_lt_i32 {r}, {n}\n  s_cbranch_scc1 L{label(r)}";
  # an accumulator is a VGPR; AFTER reads it (the renderer names it as its accumulator)
  [r3_acc]     DEFINE_ACC              => "";
  [r3_assign_w] ASSIGN(a<r3_pairs>, v, ...) => "v_mov_b32 {a}.lo, {v}.lo\n  v_mov_b32 {a}.hi, {v}.hi";
  [r3_assign]  ASSIGN(a, v, ...)       => "v_mov_b32 {a}, {v}";
  [r3_after]   AFTER(_a, ...)          => "";

  # memory: byte offsets of 32 bits from the buffer's address in an SGPR pair
  [r3_load]    LOAD(g, i)              => "v_lshlrev_b32 {self}.vo, {tm:r3_shift}, {i}\n  global_load_{tm:r3_load} {self}, {self}.vo, {g}";
  [r3_store]   STORE(g, i, v)          => "v_lshlrev_b32 {self}.vo, {tm:r3_shift(v)}, {i}\n  global_store_{tm:r3_store(v)} {self}.vo, {v}, {g}";
  # a gated store runs in the lanes whose gate holds: exec is saved, narrowed and restored
  [r3_store_gated] STORE(g, i, v, c)   => "v_cmp_ne_u32 vcc_lo, 0, {c}\n  s_and_saveexec_b32 {self}.se, vcc_lo\n  v_lshlrev_b32 {self}.vo, {tm:r3_shift(v)}, {i}\n  global_store_{tm:r3_store(v)} {self}.vo, {v}, {g}\n  s_or_b32 exec_lo, exec_lo, {self}.se";

  # 64-bit integers: VGPR pairs (%VN), {x}.lo and {x}.hi their halves (a constant's too)
  [r3_add_w]   ADD<r3_wide>(a, b)      => "v_add_co_u32 {self}.lo, vcc_lo, {a}.lo, {b}.lo\n  v_add_co_ci_u32 {self}.hi, vcc_lo, {a}.hi, {b}.hi, vcc_lo";
  [r3_sub_w]   SUB<r3_wide>(a, b)      => "v_sub_co_u32 {self}.lo, vcc_lo, {a}.lo, {b}.lo\n  v_sub_co_ci_u32 {self}.hi, vcc_lo, {a}.hi, {b}.hi, vcc_lo";
  # the low halves' full product, plus the cross products into the high half
  [r3_mul_w]   MUL<r3_wide>(a, b)      => "v_mad_u64_u32 {self}, null, {a}.lo, {b}.lo, 0\n  v_mul_lo_u32 {self}.vt, {a}.lo, {b}.hi\n  v_mul_lo_u32 {self}.vu, {a}.hi, {b}.lo\n  v_add3_u32 {self}.hi, {self}.hi, {self}.vt, {self}.vu";
  [r3_and_w]   AND<r3_wide>(a, b)      => "v_and_b32 {self}.lo, {a}.lo, {b}.lo\n  v_and_b32 {self}.hi, {a}.hi, {b}.hi";
  [r3_or_w]    OR<r3_wide>(a, b)       => "v_or_b32 {self}.lo, {a}.lo, {b}.lo\n  v_or_b32 {self}.hi, {a}.hi, {b}.hi";
  [r3_xor_w]   XOR<r3_wide>(a, b)      => "v_xor_b32 {self}.lo, {a}.lo, {b}.lo\n  v_xor_b32 {self}.hi, {a}.hi, {b}.hi";
  [r3_shl_w]   SHL<r3_wide>(a, b)      => "v_lshlrev_b64 {self}, {b}.lo, {a}";
  [r3_shr_uw]  SHR<u64>(a, b)          => "v_lshrrev_b64 {self}, {b}.lo, {a}";
  [r3_shr_sw]  SHR<i64>(a, b)          => "v_ashrrev_i64 {self}, {b}.lo, {a}";
  [r3_cast_w_s] CAST<r3_wide>(a<r3_signed>)   => "v_mov_b32 {self}.lo, {a}\n  v_ashrrev_i32 {self}.hi, 31, {self}.lo";
  [r3_cast_w_u] CAST<r3_wide>(a<r3_unsigned>) => "v_mov_b32 {self}.lo, {a}\n  v_mov_b32 {self}.hi, 0";
  [r3_cast_w_su] CAST<r3_wide>(a<r3_small_u>) => "v_mov_b32 {self}.lo, {a}\n  v_mov_b32 {self}.hi, 0";
  [r3_cast_w_ss] CAST<r3_wide>(a<r3_small_s>) => "v_mov_b32 {self}.lo, {a}\n  v_ashrrev_i32 {self}.hi, 31, {self}.lo";
  [r3_cast_w_w] CAST<r3_wide>(a<r3_wide>)     => "v_mov_b32 {self}.lo, {a}.lo\n  v_mov_b32 {self}.hi, {a}.hi";
  [r3_bitcast_w] BITCAST<r3_pairs>(a<r3_pairs>) => "v_mov_b32 {self}.lo, {a}.lo\n  v_mov_b32 {self}.hi, {a}.hi";
  [r3_cast_b_w] CAST<bool>(a<r3_wide>)        => "v_or_b32 {self}.vt, {a}.lo, {a}.hi\n  v_cmp_ne_u32 vcc_lo, 0, {self}.vt\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_cast_n_w] CAST<r3_ints>(a<r3_wide>)     => "v_mov_b32 {self}, {a}.lo";
  # u64 to f32, rounded once: shifted left until its top bit is set, the high half with a sticky bit for anything
  # below it converted, then scaled back
  [r3_cast_f_uw] CAST<f32>(a<u64>)  => "v_clz_i32_u32 {self}.vn, {a}.hi\n  v_min_u32 {self}.vn, 32, {self}.vn\n  v_lshlrev_b64 {self}.Vs, {self}.vn, {a}\n  v_cmp_ne_u32 vcc_lo, 0, {self}.Vs.lo\n  v_cndmask_b32 {self}.vt, 0, 1, vcc_lo\n  v_or_b32 {self}.vt, {self}.Vs.hi, {self}.vt\n  v_cvt_f32_u32 {self}.vf, {self}.vt\n  v_sub_nc_u32 {self}.vn, 32, {self}.vn\n  v_ldexp_f32 {self}, {self}.vf, {self}.vn";
  [r3_lt_w]    CMPLT(a<i64>, b)        => "v_cmp_lt_i64 vcc_lo, {a}, {b}\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_lt_uw]   CMPLT(a<u64>, b)        => "v_cmp_lt_u64 vcc_lo, {a}, {b}\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_eq_w]    CMPEQ(a<r3_wide>, b)    => "v_cmp_eq_u64 vcc_lo, {a}, {b}\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_ne_w]    CMPNE(a<r3_wide>, b)    => "v_cmp_ne_u64 vcc_lo, {a}, {b}\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_where_w] WHERE<r3_pairs>(c, a, b) => "v_cmp_ne_u32 vcc_lo, 0, {c}\n  v_cndmask_b32 {self}.lo, {b}.lo, {a}.lo, vcc_lo\n  v_cndmask_b32 {self}.hi, {b}.hi, {a}.hi, vcc_lo";

  # f64: each operand copied into a pair first (a 64-bit float operand takes no 64-bit literal); no division yet
  [r3_add_d]   ADD<f64>(a, b)          => "v_mov_b32 {self}.Va.lo, {a}.lo\n  v_mov_b32 {self}.Va.hi, {a}.hi\n  v_mov_b32 {self}.Vb.lo, {b}.lo\n  v_mov_b32 {self}.Vb.hi, {b}.hi\n  v_add_f64 {self}, {self}.Va, {self}.Vb";
  [r3_sub_d]   SUB<f64>(a, b)          => "v_mov_b32 {self}.Va.lo, {a}.lo\n  v_mov_b32 {self}.Va.hi, {a}.hi\n  v_mov_b32 {self}.Vb.lo, {b}.lo\n  v_mov_b32 {self}.Vb.hi, {b}.hi\n  v_add_f64 {self}, {self}.Va, -{self}.Vb";
  [r3_mul_d]   MUL<f64>(a, b)          => "v_mov_b32 {self}.Va.lo, {a}.lo\n  v_mov_b32 {self}.Va.hi, {a}.hi\n  v_mov_b32 {self}.Vb.lo, {b}.lo\n  v_mov_b32 {self}.Vb.hi, {b}.hi\n  v_mul_f64 {self}, {self}.Va, {self}.Vb";
  [r3_fma_d]   MULACC<f64>(a, b, c)    => "v_mov_b32 {self}.Va.lo, {a}.lo\n  v_mov_b32 {self}.Va.hi, {a}.hi\n  v_mov_b32 {self}.Vb.lo, {b}.lo\n  v_mov_b32 {self}.Vb.hi, {b}.hi\n  v_mov_b32 {self}.Vc.lo, {c}.lo\n  v_mov_b32 {self}.Vc.hi, {c}.hi\n  v_fma_f64 {self}, {self}.Va, {self}.Vb, {self}.Vc";
  # a / b as for f32: the reciprocal refined by Newton steps (three: 2^-52 from its ~2^-26 start), the quotient's
  # residual, then v_div_fixup_f64 for zeros, infinities and NaN
  [r3_fdiv_d]  FDIV<f64>(a, b)         => "v_mov_b32 {self}.Va.lo, {a}.lo\n  v_mov_b32 {self}.Va.hi, {a}.hi\n  v_mov_b32 {self}.Vb.lo, {b}.lo\n  v_mov_b32 {self}.Vb.hi, {b}.hi\n  v_rcp_f64 {self}.Vr, {self}.Vb\n  v_fma_f64 {self}.Ve, -{self}.Vb, {self}.Vr, 1.0\n  v_fma_f64 {self}.Vr, {self}.Ve, {self}.Vr, {self}.Vr\n  v_fma_f64 {self}.Ve, -{self}.Vb, {self}.Vr, 1.0\n  v_fma_f64 {self}.Vr, {self}.Ve, {self}.Vr, {self}.Vr\n  v_fma_f64 {self}.Ve, -{self}.Vb, {self}.Vr, 1.0\n  v_fma_f64 {self}.Vr, {self}.Ve, {self}.Vr, {self}.Vr\n  v_mul_f64 {self}.Vq, {self}.Va, {self}.Vr\n  v_fma_f64 {self}.Ve, -{self}.Vb, {self}.Vq, {self}.Va\n  v_fma_f64 {self}.Vq, {self}.Ve, {self}.Vr, {self}.Vq\n  v_div_fixup_f64 {self}, {self}.Vq, {self}.Vb, {self}.Va";
  [r3_sqrt_d]  SQRT<f64>(a)            => "v_mov_b32 {self}.Va.lo, {a}.lo\n  v_mov_b32 {self}.Va.hi, {a}.hi\n  v_sqrt_f64 {self}, {self}.Va";
  [r3_neg_d]   NEG<f64>(a)             => "v_mov_b32 {self}.lo, {a}.lo\n  v_xor_b32 {self}.hi, 0x80000000, {a}.hi";
  [r3_lt_d]    CMPLT(a<f64>, b)        => "v_mov_b32 {self}.Va.lo, {a}.lo\n  v_mov_b32 {self}.Va.hi, {a}.hi\n  v_mov_b32 {self}.Vb.lo, {b}.lo\n  v_mov_b32 {self}.Vb.hi, {b}.hi\n  v_cmp_lt_f64 vcc_lo, {self}.Va, {self}.Vb\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_le_d]    CMPLE(a<f64>, b)        => "v_mov_b32 {self}.Va.lo, {a}.lo\n  v_mov_b32 {self}.Va.hi, {a}.hi\n  v_mov_b32 {self}.Vb.lo, {b}.lo\n  v_mov_b32 {self}.Vb.hi, {b}.hi\n  v_cmp_le_f64 vcc_lo, {self}.Va, {self}.Vb\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_eq_d]    CMPEQ(a<f64>, b)        => "v_mov_b32 {self}.Va.lo, {a}.lo\n  v_mov_b32 {self}.Va.hi, {a}.hi\n  v_mov_b32 {self}.Vb.lo, {b}.lo\n  v_mov_b32 {self}.Vb.hi, {b}.hi\n  v_cmp_eq_f64 vcc_lo, {self}.Va, {self}.Vb\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_ne_d]    CMPNE(a<f64>, b)        => "v_mov_b32 {self}.Va.lo, {a}.lo\n  v_mov_b32 {self}.Va.hi, {a}.hi\n  v_mov_b32 {self}.Vb.lo, {b}.lo\n  v_mov_b32 {self}.Vb.hi, {b}.hi\n  v_cmp_neq_f64 vcc_lo, {self}.Va, {self}.Vb\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_cast_f_d]  CAST<f32>(a<f64>)     => "v_mov_b32 {self}.Va.lo, {a}.lo\n  v_mov_b32 {self}.Va.hi, {a}.hi\n  v_cvt_f32_f64 {self}, {self}.Va";
  [r3_cast_s_d]  CAST<r3_signed>(a<f64>) => "v_mov_b32 {self}.Va.lo, {a}.lo\n  v_mov_b32 {self}.Va.hi, {a}.hi\n  v_cvt_i32_f64 {self}, {self}.Va";
  # f64 to a 64-bit integer, for |a| < 2^63: the high half floor(t / 2^32) of t = trunc(a), the low one t minus it
  [r3_cast_w_d]  CAST<r3_wide>(a<f64>) => "v_mov_b32 {self}.Va.lo, {a}.lo\n  v_mov_b32 {self}.Va.hi, {a}.hi\n  v_trunc_f64 {self}.Vt, {self}.Va\n  v_ldexp_f64 {self}.Vh, {self}.Vt, -32\n  v_floor_f64 {self}.Vh, {self}.Vh\n  v_ldexp_f64 {self}.Vl, {self}.Vh, 32\n  v_add_f64 {self}.Vl, {self}.Vt, -{self}.Vl\n  v_cvt_u32_f64 {self}.lo, {self}.Vl\n  v_cvt_i32_f64 {self}.hi, {self}.Vh";
  [r3_cast_d_f]  CAST<f64>(a<f32>)     => "v_cvt_f64_f32 {self}, {a}";
  [r3_cast_d_s]  CAST<f64>(a<r3_signed>) => "v_cvt_f64_i32 {self}, {a}";
  [r3_cast_d_u]  CAST<f64>(a<r3_unsigned>) => "v_cvt_f64_u32 {self}, {a}";

  # f32 arithmetic
  [r3_add_f]   ADD<f32>(a, b)          => "v_add_f32 {self}, {a}, {b}";
  [r3_sub_f]   SUB<f32>(a, b)          => "v_sub_f32 {self}, {a}, {b}";
  [r3_mul_f]   MUL<f32>(a, b)          => "v_mul_f32 {self}, {a}, {b}";
  [r3_fma]     MULACC<f32>(a, b, c)    => "v_fma_f32 {self}, {a}, {b}, {c}";
  [r3_neg_f]   NEG<f32>(a)             => "v_xor_b32 {self}, 0x80000000, {a}";
  # a / b: the reciprocal (1 ulp) refined by two Newton steps on the quotient; v_div_fixup settles zeros, infinities
  # and NaN, which the refinement would turn into NaN
  [r3_fdiv]    FDIV<f32>(a, b)         => "v_rcp_f32 {self}.vr, {b}\n  s_waitcnt_depctr 0xfff\n  v_xor_b32 {self}.vn, 0x80000000, {b}\n  v_fma_f32 {self}.ve, {self}.vn, {self}.vr, 1.0\n  v_fma_f32 {self}.vr, {self}.ve, {self}.vr, {self}.vr\n  v_mul_f32 {self}.vq, {a}, {self}.vr\n  v_fma_f32 {self}.ve, {self}.vn, {self}.vq, {a}\n  v_fma_f32 {self}.vq, {self}.ve, {self}.vr, {self}.vq\n  v_div_fixup_f32 {self}, {self}.vq, {b}, {a}";
  # the transcendental unit: a VALU that reads its result within a few instructions must wait (s_waitcnt_depctr)
  [r3_recip]   RECIP<f32>(a)           => "v_rcp_f32 {self}, {a}\n  s_waitcnt_depctr 0xfff";
  [r3_sqrt]    SQRT<f32>(a)            => "v_sqrt_f32 {self}, {a}\n  s_waitcnt_depctr 0xfff";
  [r3_exp2]    EXP2<f32>(a)            => "v_exp_f32 {self}, {a}\n  s_waitcnt_depctr 0xfff";
  [r3_log2]    LOG2<f32>(a)            => "v_log_f32 {self}, {a}\n  s_waitcnt_depctr 0xfff";
  # v_sin_f32 takes revolutions, x / 2pi rounded to f32: its error grows with x (sin(-5749) was 1% off). So x first
  # loses its whole turns k (Cody-Waite: x - k * 2pi with 2pi as two f32 parts, each step one FMA), then the
  # remainder in [-pi, pi] is scaled
  [r3_sin]     SIN<f32>(a)             => "v_mul_f32 {self}.vk, 0x3e22f983, {a}\n  v_rndne_f32 {self}.vk, {self}.vk\n  v_fma_f32 {self}.vr, -{self}.vk, 0x40c90fdb, {a}\n  v_fma_f32 {self}.vr, -{self}.vk, 0xb43bbd2e, {self}.vr\n  v_mul_f32 {self}.vt, 0x3e22f983, {self}.vr\n  v_sin_f32 {self}, {self}.vt\n  s_waitcnt_depctr 0xfff";
  [r3_trunc]   TRUNC<f32>(a)           => "v_trunc_f32 {self}, {a}";

  # 32-bit integers (index included); bools are 0 or 1, so the bitwise ops serve them too
  [r3_add_i]   ADD<r3_ints>(a, b)      => "v_add_nc_u32 {self}, {a}, {b}";
  [r3_sub_i]   SUB<r3_ints>(a, b)      => "v_sub_nc_u32 {self}, {a}, {b}";
  [r3_mul_i]   MUL<r3_ints>(a, b)      => "v_mul_lo_u32 {self}, {a}, {b}";
  [r3_mulacc_i] MULACC<r3_ints>(a, b, c) => "v_mul_lo_u32 {self}.vm, {a}, {b}\n  v_add_nc_u32 {self}, {self}.vm, {c}";
  [r3_neg_i]   NEG<r3_ints>(a)         => "v_sub_nc_u32 {self}, 0, {a}";
  [r3_and]     AND(a, b)               => "v_and_b32 {self}, {a}, {b}";
  [r3_or]      OR(a, b)                => "v_or_b32 {self}, {a}, {b}";
  [r3_xor]     XOR(a, b)               => "v_xor_b32 {self}, {a}, {b}";
  [r3_shl]     SHL(a, b)               => "v_lshlrev_b32 {self}, {b}, {a}";
  [r3_shr_u]   SHR<u32>(a, b)          => "v_lshrrev_b32 {self}, {b}, {a}";
  [r3_shr_s]   SHR(a, b)               => "v_ashrrev_i32 {self}, {b}, {a}";
  [r3_max_u]   MAX<r3_unsigned>(a, b)  => "v_max_u32 {self}, {a}, {b}";
  [r3_max_s]   MAX<r3_ints>(a, b)      => "v_max_i32 {self}, {a}, {b}";
  [r3_min_u]   MIN<r3_unsigned>(a, b)  => "v_min_u32 {self}, {a}, {b}";
  [r3_min_s]   MIN<r3_ints>(a, b)      => "v_min_i32 {self}, {a}, {b}";

  # comparisons into vcc, then 0 or 1; floats ordered, except != (true on NaN)
  [r3_lt_f]    CMPLT(a<f32>, b)        => "v_cmp_lt_f32 vcc_lo, {a}, {b}\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_le_f]    CMPLE(a<f32>, b)        => "v_cmp_le_f32 vcc_lo, {a}, {b}\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_eq_f]    CMPEQ(a<f32>, b)        => "v_cmp_eq_f32 vcc_lo, {a}, {b}\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_ne_f]    CMPNE(a<f32>, b)        => "v_cmp_neq_f32 vcc_lo, {a}, {b}\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_lt_u]    CMPLT(a<r3_unsigned>, b) => "v_cmp_lt_u32 vcc_lo, {a}, {b}\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_le_u]    CMPLE(a<r3_unsigned>, b) => "v_cmp_le_u32 vcc_lo, {a}, {b}\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_lt_s]    CMPLT(a<r3_ints>, b)    => "v_cmp_lt_i32 vcc_lo, {a}, {b}\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_le_s]    CMPLE(a<r3_ints>, b)    => "v_cmp_le_i32 vcc_lo, {a}, {b}\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_eq_i]    CMPEQ(a<r3_words>, b) => "v_cmp_eq_u32 vcc_lo, {a}, {b}\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_ne_i]    CMPNE(a<r3_words>, b) => "v_cmp_ne_u32 vcc_lo, {a}, {b}\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  # v_cndmask takes its second source where vcc is set
  [r3_where]   WHERE(c, a, b)          => "v_cmp_ne_u32 vcc_lo, 0, {c}\n  v_cndmask_b32 {self}, {b}, {a}, vcc_lo";

  # conversions; float to int truncates and saturates, NaN to 0, as the op table's CAST
  [r3_cast_f_s]  CAST<f32>(a<r3_signed>) => "v_cvt_f32_i32 {self}, {a}";
  [r3_cast_f_su] CAST<f32>(a<r3_small_u>) => "v_cvt_f32_u32 {self}, {a}";
  [r3_cast_f_ss] CAST<f32>(a<r3_small_s>) => "v_cvt_f32_i32 {self}, {a}";
  [r3_cast_i_sm] CAST<r3_ints>(a<r3_small>) => "v_mov_b32 {self}, {a}";
  [r3_cast_f_u]  CAST<f32>(a<r3_unsigned>)  => "v_cvt_f32_u32 {self}, {a}";
  [r3_cast_s_f]  CAST<r3_signed>(a<f32>) => "v_cvt_i32_f32 {self}, {a}";
  [r3_cast_u_f]  CAST<u32>(a<f32>)          => "v_cvt_u32_f32 {self}, {a}";
  [r3_cast_b_f]  CAST<bool>(a<f32>)         => "v_cmp_neq_f32 vcc_lo, 0, {a}\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_cast_b_i]  CAST<bool>(a<r3_ints>)     => "v_cmp_ne_u32 vcc_lo, 0, {a}\n  v_cndmask_b32 {self}, 0, 1, vcc_lo";
  [r3_cast_i_i]  CAST<r3_ints>(a<r3_words>) => "v_mov_b32 {self}, {a}";
  [r3_bitcast]   BITCAST<r3_bits>(a<r3_bits>) => "v_mov_b32 {self}, {a}";
}

typemap r3_shift { bool = "0"; u8 = "0"; i8 = "0"; u16 = "1"; i16 = "1"; i32 = "2"; u32 = "2"; index = "2"; f32 = "2"; i64 = "3"; u64 = "3"; f64 = "3"; }
typemap r3_load { bool = "u8"; u8 = "u8"; i8 = "i8"; u16 = "u16"; i16 = "i16"; i32 = "b32"; u32 = "b32"; index = "b32"; f32 = "b32"; i64 = "b64"; u64 = "b64"; f64 = "b64"; }
typemap r3_store { bool = "b8"; u8 = "b8"; i8 = "b8"; u16 = "b16"; i16 = "b16"; i32 = "b32"; u32 = "b32"; index = "b32"; f32 = "b32"; i64 = "b64"; u64 = "b64"; f64 = "b64"; }
