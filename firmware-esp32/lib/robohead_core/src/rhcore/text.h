// A bounded string builder for Error.detail and Hello strings (no printf in the core: it would
// pull a large formatter into the firmware).
#ifndef RHCORE_TEXT_H
#define RHCORE_TEXT_H

#include <stddef.h>
#include <stdint.h>

namespace rhcore {

class Text {
 public:
  // Writes into buf[0..cap) and keeps it NUL-terminated; excess text is cut off.
  Text(char* buf, size_t cap);
  Text& str(const char* s);
  Text& u32(uint32_t v);
  Text& hex32(uint32_t v);  // "0x" + 8 hex digits
  size_t length() const { return len_; }

 private:
  void put(char c);
  char* buf_;
  size_t cap_;
  size_t len_;
};

// Copies src into dst[0..cap) NUL-terminated, truncating.
void copy_string(char* dst, size_t cap, const char* src);

}  // namespace rhcore

#endif  // RHCORE_TEXT_H
