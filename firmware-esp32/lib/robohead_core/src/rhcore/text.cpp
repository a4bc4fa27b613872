#include "rhcore/text.h"

namespace rhcore {

Text::Text(char* buf, size_t cap) : buf_(buf), cap_(cap), len_(0) {
  if (cap_) buf_[0] = '\0';
}

void Text::put(char c) {
  if (len_ + 1 >= cap_) return;
  buf_[len_++] = c;
  buf_[len_] = '\0';
}

Text& Text::str(const char* s) {
  while (s && *s) put(*s++);
  return *this;
}

Text& Text::u32(uint32_t v) {
  char digits[10];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + v % 10u);
    v /= 10u;
  } while (v);
  while (n) put(digits[--n]);
  return *this;
}

Text& Text::hex32(uint32_t v) {
  static const char kHex[] = "0123456789abcdef";
  put('0');
  put('x');
  for (int shift = 28; shift >= 0; shift -= 4) put(kHex[(v >> shift) & 0xFu]);
  return *this;
}

void copy_string(char* dst, size_t cap, const char* src) {
  Text(dst, cap).str(src);
}

}  // namespace rhcore
