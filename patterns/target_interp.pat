# The INTERP target: runs linear programs with the op table's reference semantics (runtime/interp.cpp), so it lacks
# nothing and renders nothing: its pipeline is the stages every target runs.
target INTERP;
