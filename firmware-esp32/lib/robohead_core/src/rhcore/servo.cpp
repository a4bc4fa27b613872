#include "rhcore/servo.h"

namespace rhcore {

bool servo_limits_valid(const ServoLimits& l) {
  return l.min_us > 0 && l.min_us < l.max_us && l.max_us <= 3000 && l.neutral_us >= l.min_us &&
         l.neutral_us <= l.max_us && l.max_step_us >= 1;
}

uint16_t servo_target_to_us(const ServoLimits& l, float t, bool* clamped) {
  bool c = false;
  if (t != t) {  // NaN
    if (clamped) *clamped = true;
    return l.neutral_us;
  }
  if (t < 0.0f) {
    t = 0.0f;
    c = true;
  } else if (t > 1.0f) {
    t = 1.0f;
    c = true;
  }
  if (clamped) *clamped = c;
  const float span = static_cast<float>(l.max_us - l.min_us);
  const uint16_t offset = static_cast<uint16_t>(t * span + 0.5f);
  return l.inverted ? static_cast<uint16_t>(l.max_us - offset)
                    : static_cast<uint16_t>(l.min_us + offset);
}

uint32_t servo_duty(uint32_t pulse_us, uint8_t bits, uint32_t period_us) {
  if (period_us == 0 || bits == 0 || bits > 31) return 0;
  const uint64_t full = 1ull << bits;
  const uint64_t duty = (static_cast<uint64_t>(pulse_us) * full + period_us / 2u) / period_us;
  return static_cast<uint32_t>(duty < full ? duty : full - 1u);
}

Servo::Servo() : limits_(), target_us_(0), output_us_(0) {}

void Servo::init(const ServoLimits& limits) {
  limits_ = limits;
  target_us_ = limits.neutral_us;
  output_us_ = limits.neutral_us;
}

bool Servo::set_target(float t) {
  bool clamped = false;
  target_us_ = servo_target_to_us(limits_, t, &clamped);
  return clamped;
}

uint16_t Servo::tick() {
  if (output_us_ < target_us_) {
    const uint16_t d = static_cast<uint16_t>(target_us_ - output_us_);
    output_us_ = static_cast<uint16_t>(output_us_ + (d < limits_.max_step_us ? d : limits_.max_step_us));
  } else if (output_us_ > target_us_) {
    const uint16_t d = static_cast<uint16_t>(output_us_ - target_us_);
    output_us_ = static_cast<uint16_t>(output_us_ - (d < limits_.max_step_us ? d : limits_.max_step_us));
  }
  return output_us_;
}

}  // namespace rhcore
