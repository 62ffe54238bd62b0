// Compiles the shared precompiled header; intentionally empty.
