/* Generated from params.yaml by firmware-esp32/scripts/gen_params.py. DO NOT EDIT. */
#ifndef RHCORE_PARAMS_GEN_H
#define RHCORE_PARAMS_GEN_H

#define RH_PARAM_FIRMWARE_VERSION "0.1.0"
#define RH_PARAM_SAMPLING_RATE_HZ 1000u
#define RH_PARAM_CHANNELS 4u
#define RH_PARAM_ADC_BITS 12u
#define RH_PARAM_SAMPLES_PER_FRAME 10u
#define RH_PARAM_BAUD 921600u
#define RH_PARAM_COMMAND_TIMEOUT_MS 300u
#define RH_PARAM_STATUS_HZ 2u
#define RH_PARAM_OVERSAMPLE 8u
/* {min_us, max_us, neutral_us, max_step_us, inverted} per motor (rhcore::ServoLimits) */
#define RH_PARAM_SERVO_LIMITS \
  { \
    {1000u, 2000u, 1500u, 50u, false}, /* brows */ \
    {1000u, 2000u, 1000u, 50u, false}, /* smile */ \
    {1000u, 2000u, 1000u, 50u, false}, /* jaw */ \
  }

#endif /* RHCORE_PARAMS_GEN_H */
