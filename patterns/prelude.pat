# The prelude: dtype classes and op sets that every other pattern file uses. Op properties (arity, commutativity,
# typing) live in the op table, uops/ops.def; this file only names groups of them.

dtypes sints   = {i8, i16, i32, i64};
dtypes uints   = {u8, u16, u32, u64};
dtypes fixed   = {sints, uints};          # fixed-width integers: they wrap
dtypes ints    = {fixed, index};          # index is unbounded: rules valid on ints hold both ways
dtypes floats  = {f16, bf16, f32, f64};
dtypes numbers = {ints, floats};
dtypes sidx    = {sints, index};          # signed: C division and arithmetic shifts

opset UNARY  = {NEG, RECIP, SQRT, EXP2, LOG2, SIN, TRUNC};
opset CMP    = {CMPLT, CMPLE, CMPEQ, CMPNE};
opset BINARY = {ADD, SUB, MUL, FDIV, IDIV, MOD, CDIV, CMOD, MAX, MIN, POW, CMP, AND, OR, XOR, SHL, SHR};
opset ALU    = {UNARY, BINARY, WHERE, MULACC};

# What every target's render group renders alike (render GROUP extends render_common): a GROUP only joins effects,
# whose own rules give their text.
render render_common {
  [group_text] GROUP(...) => "";
}
