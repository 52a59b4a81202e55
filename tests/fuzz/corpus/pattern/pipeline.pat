# The pipeline: every pass, in the order the compiler runs them. Each names its rule groups and how to traverse.

# Index arithmetic to a canonical, simplified form; every later pass leans on it.
pass sym = symbolic (order=post, fixpoint, limit=250000);

# What targets lack: floor division and modulo become C-style division (CDIV, CMOD), conversions to bf16 go through
# f32; after `sym`, whose rules are written for floor semantics.
pass lower = lower_divmod, lower_bf16, symbolic (order=post, fixpoint);
