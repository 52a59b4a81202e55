# The pipeline: every pass, in the order the compiler runs them. Each names its rule groups and how to traverse.

# Index arithmetic to a canonical, simplified form; every later pass leans on it.
pass sym = symbolic (order=post, fixpoint, limit=250000);

# Floor division and modulo become C-style division (CDIV, CMOD) for the targets; after `sym`, whose rules are
# written for floor semantics.
pass lower = lower_divmod, symbolic (order=post, fixpoint);
