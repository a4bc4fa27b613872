#include "rhcore/cobs.h"

namespace rhcore {

size_t cobs_encode(const uint8_t* in, size_t n, uint8_t* out, size_t out_cap) {
  if (out_cap == 0) return 0;
  size_t code_at = 0;  // where the code byte of the current block goes
  size_t o = 1;
  uint8_t code = 1;
  for (size_t i = 0; i < n; ++i) {
    if (in[i] == 0) {
      out[code_at] = code;
      if (o >= out_cap) return 0;
      code_at = o++;
      code = 1;
      continue;
    }
    if (o >= out_cap) return 0;
    out[o++] = in[i];
    ++code;
    if (code == 0xFF) {
      out[code_at] = code;
      code = 1;
      if (i + 1 == n) return o;  // a full block ends the input: no trailing code byte
      if (o >= out_cap) return 0;
      code_at = o++;
    }
  }
  out[code_at] = code;
  return o;
}

bool cobs_decode(const uint8_t* in, size_t n, uint8_t* out, size_t out_cap, size_t* out_len) {
  size_t i = 0;
  size_t o = 0;
  while (i < n) {
    const uint8_t code = in[i++];
    if (code == 0) return false;
    const size_t run = static_cast<size_t>(code) - 1u;
    if (run > n - i) return false;  // the block claims more bytes than the frame holds
    if (run > out_cap - o) return false;
    for (size_t k = 0; k < run; ++k) {
      const uint8_t b = in[i++];
      if (b == 0) return false;
      out[o++] = b;
    }
    if (code != 0xFF && i < n) {
      if (o >= out_cap) return false;
      out[o++] = 0;
    }
  }
  *out_len = o;
  return true;
}

}  // namespace rhcore
