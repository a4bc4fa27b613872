// One servo: target in [0, 1] -> pulse width in microseconds, slew-limited per servo tick.
//
// The mapping is linear from min_us (target 0) to max_us (target 1), reversed when inverted.
// The firmware never trusts the host: a target outside [0, 1] is clamped to the nearer end and
// a NaN means "go to the safe pose" (neutral); both count as clamped.
#ifndef RHCORE_SERVO_H
#define RHCORE_SERVO_H

#include <stdint.h>

namespace rhcore {

struct ServoLimits {
  uint16_t min_us;
  uint16_t max_us;
  uint16_t neutral_us;   // the safe pose; must lie in [min_us, max_us]
  uint16_t max_step_us;  // largest change of pulse width per servo tick (>= 1)
  bool inverted;
};

// Whether limits are usable: 0 < min_us < max_us <= 3000, neutral inside, step >= 1.
bool servo_limits_valid(const ServoLimits& l);

// The pulse width for target t, rounded to the nearest microsecond. *clamped (if given) is set
// when t was NaN (-> neutral) or outside [0, 1] (-> clamped to the range).
uint16_t servo_target_to_us(const ServoLimits& l, float t, bool* clamped);

// The PWM compare value for a pulse of pulse_us in a frame of period_us with a timer of `bits`
// resolution (LEDC: 20 bits on the classic ESP32 at 50 Hz, 14 on S3/C3), rounded to nearest and
// at most 2^bits - 1. A pure function so the host tests check what the ESP32 writes.
uint32_t servo_duty(uint32_t pulse_us, uint8_t bits, uint32_t period_us);

class Servo {
 public:
  Servo();
  // Starts at neutral (output and target).
  void init(const ServoLimits& limits);

  // Sets the target; returns true if it had to be clamped (see servo_target_to_us).
  bool set_target(float t);
  void set_neutral_target() { target_us_ = limits_.neutral_us; }

  // One servo tick: moves the output at most max_step_us towards the target; returns it.
  uint16_t tick();

  uint16_t output_us() const { return output_us_; }
  uint16_t target_us() const { return target_us_; }
  const ServoLimits& limits() const { return limits_; }

 private:
  ServoLimits limits_;
  uint16_t target_us_;
  uint16_t output_us_;
};

}  // namespace rhcore

#endif  // RHCORE_SERVO_H
