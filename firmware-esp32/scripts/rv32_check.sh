#!/usr/bin/env bash
# Freestanding compile check of the portable core for rv32imc (the ESP32-C3's instruction set):
# picolibc C headers only, -Os, no exceptions, no RTTI, warnings as errors. Also checks that the
# core includes no other system header and that no object references the heap or C++ runtime
# (malloc, operator new/delete, exceptions). Prints the code size.
#   usage: rv32_check.sh OUT_DIR CORE_SRC_DIR NANOPB_GEN_DIR
set -euo pipefail
out=$1 core=$2 gen=$3
CXX=riscv64-unknown-elf-g++
CC=riscv64-unknown-elf-gcc
SIZE=riscv64-unknown-elf-size
NM=riscv64-unknown-elf-nm
FLAGS=(--specs=picolibc.specs -march=rv32imc -mabi=ilp32 -Os -ffreestanding
       -ffunction-sections -fdata-sections -Wall -Wextra -Werror)
rm -rf "$out" && mkdir -p "$out/obj" "$out/include"

# nanopb's runtime headers only (from libnanopb-dev); never the host's /usr/include.
for h in pb.h pb_common.h pb_encode.h pb_decode.h; do cp "/usr/include/$h" "$out/include/"; done

bad=$(grep -ho '#include <[^>]*>' "$core"/rhcore/*.h "$core"/rhcore/*.cpp | sort -u |
      grep -v -e '<stdint.h>' -e '<stddef.h>' -e '<string.h>' || true)
if [ -n "$bad" ]; then
  echo "rv32imc check: the core includes headers beyond stdint.h/stddef.h/string.h: $bad" >&2
  exit 1
fi

objs=()
for src in "$core"/rhcore/*.cpp; do
  obj="$out/obj/$(basename "${src%.cpp}").o"
  "$CXX" "${FLAGS[@]}" -std=c++17 -fno-exceptions -fno-rtti -fno-threadsafe-statics \
    -I"$core" -I"$gen" -I"$out/include" -c "$src" -o "$obj"
  objs+=("$obj")
done
"$CC" "${FLAGS[@]}" -std=c99 -I"$gen" -I"$out/include" \
  -c "$gen/robohead/protocol/v1/device.pb.c" -o "$out/obj/device.pb.o"
objs+=("$out/obj/device.pb.o")

"$NM" --defined-only "${objs[@]}" | awk 'NF == 3 {print $3}' | sort -u > "$out/defined.txt"
"$NM" -u "${objs[@]}" | awk 'NF == 2 {print $2}' | sort -u | comm -23 - "$out/defined.txt" \
  > "$out/external.txt"
forbidden=$(cat "$out/external.txt" |
            grep -E '^(malloc|calloc|realloc|free|_Znw|_Zna|_Zdl|_Zda|__cxa_throw|__cxa_allocate|__cxa_guard|printf|sprintf|snprintf)' || true)
if [ -n "$forbidden" ]; then
  echo "rv32imc check: heap, exception or stdio symbols referenced: $forbidden" >&2
  exit 1
fi

{
  echo "rv32imc freestanding build (riscv64-unknown-elf-gcc $("$CC" -dumpversion), picolibc, -Os):"
  "$SIZE" -t "${objs[@]}" | sed "s|$out/obj/||"
  echo "undefined symbols the firmware image must provide (nanopb runtime, libc, libgcc):"
  tr '\n' ' ' < "$out/external.txt"
  echo
} > "$out/size.txt"
cat "$out/size.txt"
