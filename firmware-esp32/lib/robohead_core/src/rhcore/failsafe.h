// The fail-safe state machine: decides whether MotorCommands drive the servos.
//
//   BOOT_NEUTRAL ──valid command──> ACTIVE ──no valid command for timeout──> TIMEOUT_NEUTRAL
//        │                            ▲                                            │
//        │                            └──────────── valid command ─────────────────┘
//        └── any state ──Ping with another schema hash──> SCHEMA_MISMATCH (commands ignored)
//            SCHEMA_MISMATCH ──Ping with our hash──> TIMEOUT_NEUTRAL (or BOOT_NEUTRAL if no
//            command was ever accepted); the next valid command makes it ACTIVE again.
//
// In every state but ACTIVE the servos slew to neutral. Times are device microseconds.
#ifndef RHCORE_FAILSAFE_H
#define RHCORE_FAILSAFE_H

#include <stdint.h>

namespace rhcore {

// Values are those of robohead.v1.FailsafeState.
enum FailsafeState : uint8_t {
  kFailsafeBootNeutral = 1,
  kFailsafeActive = 2,
  kFailsafeTimeoutNeutral = 3,
  kFailsafeSchemaMismatch = 4,
};

class Failsafe {
 public:
  explicit Failsafe(uint32_t timeout_ms);

  void set_timeout_ms(uint32_t timeout_ms) { timeout_us_ = static_cast<uint64_t>(timeout_ms) * 1000u; }
  uint32_t timeout_ms() const { return static_cast<uint32_t>(timeout_us_ / 1000u); }

  // Whether a valid MotorCommand may drive the servos now.
  bool accepts_commands() const { return state_ != kFailsafeSchemaMismatch; }

  // A valid MotorCommand arrived at now_us (call only when accepts_commands()).
  void on_command(uint64_t now_us);

  // The edge announced its schema hash; match = it equals ours.
  void on_schema(bool match);

  // Advances the clock. Returns true exactly when the timeout trips (ACTIVE -> TIMEOUT_NEUTRAL).
  bool update(uint64_t now_us);

  FailsafeState state() const { return state_; }
  bool servos_follow_commands() const { return state_ == kFailsafeActive; }
  uint32_t trips() const { return trips_; }

 private:
  FailsafeState state_;
  uint64_t timeout_us_;
  uint64_t last_command_us_;
  bool ever_commanded_;
  uint32_t trips_;
};

}  // namespace rhcore

#endif  // RHCORE_FAILSAFE_H
