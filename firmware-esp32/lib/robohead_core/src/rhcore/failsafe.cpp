#include "rhcore/failsafe.h"

namespace rhcore {

Failsafe::Failsafe(uint32_t timeout_ms)
    : state_(kFailsafeBootNeutral),
      timeout_us_(static_cast<uint64_t>(timeout_ms) * 1000u),
      last_command_us_(0),
      ever_commanded_(false),
      trips_(0) {}

void Failsafe::on_command(uint64_t now_us) {
  if (!accepts_commands()) return;
  last_command_us_ = now_us;
  ever_commanded_ = true;
  state_ = kFailsafeActive;
}

void Failsafe::on_schema(bool match) {
  if (!match) {
    state_ = kFailsafeSchemaMismatch;
  } else if (state_ == kFailsafeSchemaMismatch) {
    state_ = ever_commanded_ ? kFailsafeTimeoutNeutral : kFailsafeBootNeutral;
  }
}

bool Failsafe::update(uint64_t now_us) {
  if (state_ != kFailsafeActive) return false;
  if (now_us - last_command_us_ <= timeout_us_) return false;
  state_ = kFailsafeTimeoutNeutral;
  ++trips_;
  return true;
}

}  // namespace rhcore
