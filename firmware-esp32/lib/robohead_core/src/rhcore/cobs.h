// Consistent Overhead Byte Stuffing, the variant of Python's `cobs` package: no trailing code
// byte after a final run of 254 non-zero bytes. The encoded form contains no 0x00, so 0x00
// delimits frames on the wire.
#ifndef RHCORE_COBS_H
#define RHCORE_COBS_H

#include <stddef.h>
#include <stdint.h>

namespace rhcore {

// Worst-case encoded size of n input bytes: one code byte per started run of 254, at least one.
constexpr size_t cobs_max_encoded(size_t n) { return n + n / 254u + 1u; }

// Encodes in[0..n) into out. Returns the encoded length (>= 1), or 0 if out_cap is too small;
// nothing beyond out_cap is written. in and out must not overlap.
size_t cobs_encode(const uint8_t* in, size_t n, uint8_t* out, size_t out_cap);

// Decodes one frame body (without its 0x00 delimiter). Returns false, and leaves *out_len
// unspecified, on a 0x00 inside the body, on a code byte that runs past the end, or if the
// result would exceed out_cap. out may equal in (decoding in place never overtakes the input).
bool cobs_decode(const uint8_t* in, size_t n, uint8_t* out, size_t out_cap, size_t* out_len);

}  // namespace rhcore

#endif  // RHCORE_COBS_H
