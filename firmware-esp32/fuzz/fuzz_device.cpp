// libFuzzer harness: the whole firmware core loop (rhcore::Device) driven by a hostile host.
//
// The input is a script of operations on a scripted platform (test/fake_hal.h):
//   op 0: raw serial bytes (garbage, partial frames, delimiters)
//   op 1: a correctly framed payload (valid COBS and CRC), so the fuzzer reaches the protobuf
//         decoder and the MotorCommand / Ping / SetConfig handlers instead of dying at the CRC
//   op 2: time passes (1..256 ms, polled every ms)
//   op 3: ADC readings arrive (sampler, framer, EmgFrame transmission)
//   op 4: the link slows down or recovers (serial_write budget)
// Properties checked after every poll (a failed check aborts = a crash for libFuzzer):
//   - no memory error or undefined behaviour (ASan + UBSan);
//   - every servo pulse lies within its configured [min_us, max_us] and moves at most
//     max_step_us per tick, whatever the host sent (NaN, inf, huge, negative targets...);
//   - everything the device writes is a valid frame carrying a valid DeviceMessage;
//   - the fail-safe: once the host goes silent for longer than any allowed timeout, every servo
//     reaches its neutral pulse.
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <vector>

#include "fake_hal.h"
#include "pb_decode.h"
#include "rhcore/config.h"
#include "rhcore/device.h"
#include "rhcore/frame.h"
#include "robohead/protocol/v1/device.pb.h"

namespace {

#define CHECK(cond)          \
  do {                       \
    if (!(cond)) {           \
      __builtin_trap();      \
    }                        \
  } while (0)

struct Reader {
  const uint8_t* p;
  size_t n;
  bool empty() const { return n == 0; }
  uint8_t u8() {
    if (!n) return 0;
    --n;
    return *p++;
  }
  size_t take(size_t want, const uint8_t** out) {
    const size_t k = want < n ? want : n;
    *out = p;
    p += k;
    n -= k;
    return k;
  }
};

class Harness {
 public:
  Harness() : cfg_(rhcore::default_config()), dev_(hal_, cfg_) {}

  void begin() {
    dev_.begin();
    check();
  }

  void poll() {
    dev_.poll();
    check();
  }

  void advance_ms(uint32_t ms) {
    for (uint32_t i = 0; i < ms; ++i) {
      hal_.now += 1000;
      poll();
    }
  }

  void push_adc(uint32_t scans, uint16_t base) {
    const uint8_t ch = hal_.board.adc_channels;
    for (uint32_t s = 0; s < scans; ++s)
      for (uint8_t c = 0; c < ch; ++c)
        hal_.adc.push_back({static_cast<uint16_t>((base + 97u * s + 13u * c) & 0x0FFFu), c});
    hal_.adc_t_last_us = hal_.now;
  }

  // The host goes quiet: the fail-safe must bring every servo to neutral.
  void silence_then_check_neutral() {
    hal_.tx_budget = SIZE_MAX;
    const uint64_t limit_us = (rhcore::kMaxCommandTimeoutMs + 2000u) * 1000ull;
    const uint64_t start = hal_.now;
    while (hal_.now - start < limit_us) {
      hal_.now += rhcore::kServoTickUs;  // one servo tick per poll
      poll();
    }
    CHECK(dev_.failsafe_state() != rhcore::kFailsafeActive);
    for (size_t i = 0; i < rhcore::kMotorCount; ++i)
      CHECK(dev_.servo(i).output_us() == dev_.servo(i).limits().neutral_us);
  }

  rhtest::FakeHal hal_;

 private:
  void check() {
    for (const rhcore::ServoFrame& f : hal_.ticks) {
      for (size_t i = 0; i < rhcore::kMotorCount; ++i) {
        const rhcore::ServoLimits& l = dev_.servo(i).limits();
        CHECK(f.pulse_us[i] >= l.min_us && f.pulse_us[i] <= l.max_us);
        if (have_last_) {
          const uint32_t a = last_[i], b = f.pulse_us[i];
          CHECK((a > b ? a - b : b - a) <= l.max_step_us);
        }
        last_[i] = f.pulse_us[i];
      }
      have_last_ = true;
    }
    hal_.ticks.clear();
    // Everything written so far is whole, valid frames of DeviceMessages.
    size_t pos = 0;
    while (pos < hal_.tx.size()) {
      const uint8_t* payload = nullptr;
      size_t len = 0;
      pos += tx_dec_.feed(hal_.tx.data() + pos, hal_.tx.size() - pos, &payload, &len);
      if (!payload) break;
      robohead_v1_DeviceMessage m = robohead_v1_DeviceMessage_init_zero;
      pb_istream_t s = pb_istream_from_buffer(payload, len);
      CHECK(pb_decode(&s, robohead_v1_DeviceMessage_fields, &m));
    }
    hal_.tx.clear();
    const rhcore::FrameCounters& c = tx_dec_.counters();
    CHECK(c.cobs_errors == 0 && c.crc_errors == 0 && c.length_errors == 0);
    CHECK(dev_.tx_pending() <= rhcore::Device::kTxRingBytes);
  }

  rhcore::DeviceConfig cfg_;
  rhcore::Device dev_;
  rhcore::FrameDecoder tx_dec_;
  uint32_t last_[rhcore::kMotorCount] = {0, 0, 0};
  bool have_last_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Harness h;
  h.hal_.now = 1000;
  h.begin();
  Reader in{data, size};
  int ops = 0;
  while (!in.empty() && ops++ < 256) {
    const uint8_t op = in.u8() % 5;
    switch (op) {
      case 0: {  // raw bytes
        const uint8_t* p = nullptr;
        const size_t k = in.take(static_cast<size_t>(in.u8()) + 1u, &p);
        h.hal_.rx.insert(h.hal_.rx.end(), p, p + k);
        h.poll();
        break;
      }
      case 1: {  // a well-framed payload
        const size_t want = (static_cast<size_t>(in.u8()) << 8 | in.u8()) % (rhcore::kMaxPayload + 1);
        const uint8_t* p = nullptr;
        const size_t k = in.take(want, &p);
        std::vector<uint8_t> scratch(k + rhcore::kCrcLen);
        std::vector<uint8_t> wire(rhcore::frame_max_wire(k));
        const size_t w = rhcore::frame_encode(p, k, scratch.data(), scratch.size(), wire.data(),
                                              wire.size());
        CHECK(w > 0);
        h.hal_.rx.insert(h.hal_.rx.end(), wire.begin(), wire.begin() + static_cast<long>(w));
        h.poll();
        break;
      }
      case 2:  // time passes
        h.advance_ms(static_cast<uint32_t>(in.u8()) + 1u);
        break;
      case 3: {  // ADC readings
        const uint32_t scans = static_cast<uint32_t>(in.u8()) * 4u;
        h.push_adc(scans, static_cast<uint16_t>(in.u8() << 4));
        h.poll();
        break;
      }
      default: {  // the link: 0 = blocked, 255 = unlimited, else a few bytes per poll
        const uint8_t b = in.u8();
        h.hal_.tx_budget = b == 255 ? SIZE_MAX : static_cast<size_t>(b) * 8u;
        h.poll();
        break;
      }
    }
  }
  h.silence_then_check_neutral();
  return 0;
}
