# Shared by keel's scripts; sourced, not run.

# keel_build <preset>: configures and builds a CMake preset
# (release or asan), with ccache when it is installed. KEEL_JOBS sets the parallelism.
keel_build() {
  local preset="$1"
  local launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  fi
  echo "==> ${preset}: configure and build"
  cmake --preset "$preset" "${launcher[@]}" >/dev/null
  cmake --build --preset "$preset" -j "${KEEL_JOBS:-$(nproc)}"
}
