from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ResetReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RESET_REASON_UNKNOWN: _ClassVar[ResetReason]
    RESET_REASON_POWER_ON: _ClassVar[ResetReason]
    RESET_REASON_SOFTWARE: _ClassVar[ResetReason]
    RESET_REASON_PANIC: _ClassVar[ResetReason]
    RESET_REASON_WATCHDOG: _ClassVar[ResetReason]
    RESET_REASON_BROWNOUT: _ClassVar[ResetReason]
    RESET_REASON_EXTERNAL: _ClassVar[ResetReason]
    RESET_REASON_SIMULATOR: _ClassVar[ResetReason]

class FailsafeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FAILSAFE_STATE_UNSPECIFIED: _ClassVar[FailsafeState]
    FAILSAFE_STATE_BOOT_NEUTRAL: _ClassVar[FailsafeState]
    FAILSAFE_STATE_ACTIVE: _ClassVar[FailsafeState]
    FAILSAFE_STATE_TIMEOUT_NEUTRAL: _ClassVar[FailsafeState]
    FAILSAFE_STATE_SCHEMA_MISMATCH: _ClassVar[FailsafeState]

class ErrorCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ERROR_CODE_UNSPECIFIED: _ClassVar[ErrorCode]
    ERROR_CODE_SCHEMA_MISMATCH: _ClassVar[ErrorCode]
    ERROR_CODE_BAD_FRAME: _ClassVar[ErrorCode]
    ERROR_CODE_BAD_CONFIG: _ClassVar[ErrorCode]
    ERROR_CODE_UNSUPPORTED: _ClassVar[ErrorCode]

class MotorFlag(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MOTOR_FLAG_NONE: _ClassVar[MotorFlag]
    MOTOR_FLAG_NEUTRAL: _ClassVar[MotorFlag]
RESET_REASON_UNKNOWN: ResetReason
RESET_REASON_POWER_ON: ResetReason
RESET_REASON_SOFTWARE: ResetReason
RESET_REASON_PANIC: ResetReason
RESET_REASON_WATCHDOG: ResetReason
RESET_REASON_BROWNOUT: ResetReason
RESET_REASON_EXTERNAL: ResetReason
RESET_REASON_SIMULATOR: ResetReason
FAILSAFE_STATE_UNSPECIFIED: FailsafeState
FAILSAFE_STATE_BOOT_NEUTRAL: FailsafeState
FAILSAFE_STATE_ACTIVE: FailsafeState
FAILSAFE_STATE_TIMEOUT_NEUTRAL: FailsafeState
FAILSAFE_STATE_SCHEMA_MISMATCH: FailsafeState
ERROR_CODE_UNSPECIFIED: ErrorCode
ERROR_CODE_SCHEMA_MISMATCH: ErrorCode
ERROR_CODE_BAD_FRAME: ErrorCode
ERROR_CODE_BAD_CONFIG: ErrorCode
ERROR_CODE_UNSUPPORTED: ErrorCode
MOTOR_FLAG_NONE: MotorFlag
MOTOR_FLAG_NEUTRAL: MotorFlag

class ServoLimits(_message.Message):
    __slots__ = ("min_us", "max_us", "neutral_us", "inverted", "max_step_us")
    MIN_US_FIELD_NUMBER: _ClassVar[int]
    MAX_US_FIELD_NUMBER: _ClassVar[int]
    NEUTRAL_US_FIELD_NUMBER: _ClassVar[int]
    INVERTED_FIELD_NUMBER: _ClassVar[int]
    MAX_STEP_US_FIELD_NUMBER: _ClassVar[int]
    min_us: int
    max_us: int
    neutral_us: int
    inverted: bool
    max_step_us: int
    def __init__(self, min_us: _Optional[int] = ..., max_us: _Optional[int] = ..., neutral_us: _Optional[int] = ..., inverted: _Optional[bool] = ..., max_step_us: _Optional[int] = ...) -> None: ...

class Hello(_message.Message):
    __slots__ = ("firmware_version", "schema_hash", "board", "channel_count", "sampling_rate_hz", "adc_bits", "servos", "reset_reason", "samples_per_frame", "command_timeout_ms", "peer_schema_hash", "device_time_us", "device_id")
    FIRMWARE_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_HASH_FIELD_NUMBER: _ClassVar[int]
    BOARD_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_COUNT_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    ADC_BITS_FIELD_NUMBER: _ClassVar[int]
    SERVOS_FIELD_NUMBER: _ClassVar[int]
    RESET_REASON_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_PER_FRAME_FIELD_NUMBER: _ClassVar[int]
    COMMAND_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    PEER_SCHEMA_HASH_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    firmware_version: str
    schema_hash: int
    board: str
    channel_count: int
    sampling_rate_hz: int
    adc_bits: int
    servos: _containers.RepeatedCompositeFieldContainer[ServoLimits]
    reset_reason: ResetReason
    samples_per_frame: int
    command_timeout_ms: int
    peer_schema_hash: int
    device_time_us: int
    device_id: str
    def __init__(self, firmware_version: _Optional[str] = ..., schema_hash: _Optional[int] = ..., board: _Optional[str] = ..., channel_count: _Optional[int] = ..., sampling_rate_hz: _Optional[int] = ..., adc_bits: _Optional[int] = ..., servos: _Optional[_Iterable[_Union[ServoLimits, _Mapping]]] = ..., reset_reason: _Optional[_Union[ResetReason, str]] = ..., samples_per_frame: _Optional[int] = ..., command_timeout_ms: _Optional[int] = ..., peer_schema_hash: _Optional[int] = ..., device_time_us: _Optional[int] = ..., device_id: _Optional[str] = ...) -> None: ...

class EmgFrame(_message.Message):
    __slots__ = ("sequence", "device_time_us", "channel_count", "samples")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_COUNT_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    device_time_us: int
    channel_count: int
    samples: bytes
    def __init__(self, sequence: _Optional[int] = ..., device_time_us: _Optional[int] = ..., channel_count: _Optional[int] = ..., samples: _Optional[bytes] = ...) -> None: ...

class DeviceCounters(_message.Message):
    __slots__ = ("cobs_errors", "crc_errors", "length_errors", "decode_errors", "adc_overflows", "dropped_samples", "clamped_commands", "rx_frames", "failsafe_trips")
    COBS_ERRORS_FIELD_NUMBER: _ClassVar[int]
    CRC_ERRORS_FIELD_NUMBER: _ClassVar[int]
    LENGTH_ERRORS_FIELD_NUMBER: _ClassVar[int]
    DECODE_ERRORS_FIELD_NUMBER: _ClassVar[int]
    ADC_OVERFLOWS_FIELD_NUMBER: _ClassVar[int]
    DROPPED_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    CLAMPED_COMMANDS_FIELD_NUMBER: _ClassVar[int]
    RX_FRAMES_FIELD_NUMBER: _ClassVar[int]
    FAILSAFE_TRIPS_FIELD_NUMBER: _ClassVar[int]
    cobs_errors: int
    crc_errors: int
    length_errors: int
    decode_errors: int
    adc_overflows: int
    dropped_samples: int
    clamped_commands: int
    rx_frames: int
    failsafe_trips: int
    def __init__(self, cobs_errors: _Optional[int] = ..., crc_errors: _Optional[int] = ..., length_errors: _Optional[int] = ..., decode_errors: _Optional[int] = ..., adc_overflows: _Optional[int] = ..., dropped_samples: _Optional[int] = ..., clamped_commands: _Optional[int] = ..., rx_frames: _Optional[int] = ..., failsafe_trips: _Optional[int] = ...) -> None: ...

class DeviceStatus(_message.Message):
    __slots__ = ("device_time_us", "servo_us", "failsafe", "counters", "uptime_ms", "last_command_sequence")
    DEVICE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    SERVO_US_FIELD_NUMBER: _ClassVar[int]
    FAILSAFE_FIELD_NUMBER: _ClassVar[int]
    COUNTERS_FIELD_NUMBER: _ClassVar[int]
    UPTIME_MS_FIELD_NUMBER: _ClassVar[int]
    LAST_COMMAND_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    device_time_us: int
    servo_us: _containers.RepeatedScalarFieldContainer[int]
    failsafe: FailsafeState
    counters: DeviceCounters
    uptime_ms: int
    last_command_sequence: int
    def __init__(self, device_time_us: _Optional[int] = ..., servo_us: _Optional[_Iterable[int]] = ..., failsafe: _Optional[_Union[FailsafeState, str]] = ..., counters: _Optional[_Union[DeviceCounters, _Mapping]] = ..., uptime_ms: _Optional[int] = ..., last_command_sequence: _Optional[int] = ...) -> None: ...

class Pong(_message.Message):
    __slots__ = ("nonce", "device_time_us", "edge_time_us")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    EDGE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    nonce: int
    device_time_us: int
    edge_time_us: int
    def __init__(self, nonce: _Optional[int] = ..., device_time_us: _Optional[int] = ..., edge_time_us: _Optional[int] = ...) -> None: ...

class Ack(_message.Message):
    __slots__ = ("request_id",)
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    def __init__(self, request_id: _Optional[int] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "detail", "request_id", "expected_schema_hash", "received_schema_hash")
    CODE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_SCHEMA_HASH_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_SCHEMA_HASH_FIELD_NUMBER: _ClassVar[int]
    code: ErrorCode
    detail: str
    request_id: int
    expected_schema_hash: int
    received_schema_hash: int
    def __init__(self, code: _Optional[_Union[ErrorCode, str]] = ..., detail: _Optional[str] = ..., request_id: _Optional[int] = ..., expected_schema_hash: _Optional[int] = ..., received_schema_hash: _Optional[int] = ...) -> None: ...

class MotorCommand(_message.Message):
    __slots__ = ("sequence", "targets", "flags", "window_end_device_time_us")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_DEVICE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    targets: _containers.RepeatedScalarFieldContainer[float]
    flags: int
    window_end_device_time_us: int
    def __init__(self, sequence: _Optional[int] = ..., targets: _Optional[_Iterable[float]] = ..., flags: _Optional[int] = ..., window_end_device_time_us: _Optional[int] = ...) -> None: ...

class SetConfig(_message.Message):
    __slots__ = ("request_id", "sampling_rate_hz", "channel_mask", "command_timeout_ms", "samples_per_frame")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SAMPLING_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_MASK_FIELD_NUMBER: _ClassVar[int]
    COMMAND_TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    SAMPLES_PER_FRAME_FIELD_NUMBER: _ClassVar[int]
    request_id: int
    sampling_rate_hz: int
    channel_mask: int
    command_timeout_ms: int
    samples_per_frame: int
    def __init__(self, request_id: _Optional[int] = ..., sampling_rate_hz: _Optional[int] = ..., channel_mask: _Optional[int] = ..., command_timeout_ms: _Optional[int] = ..., samples_per_frame: _Optional[int] = ...) -> None: ...

class Ping(_message.Message):
    __slots__ = ("nonce", "schema_hash", "request_hello", "edge_time_us")
    NONCE_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_HASH_FIELD_NUMBER: _ClassVar[int]
    REQUEST_HELLO_FIELD_NUMBER: _ClassVar[int]
    EDGE_TIME_US_FIELD_NUMBER: _ClassVar[int]
    nonce: int
    schema_hash: int
    request_hello: bool
    edge_time_us: int
    def __init__(self, nonce: _Optional[int] = ..., schema_hash: _Optional[int] = ..., request_hello: _Optional[bool] = ..., edge_time_us: _Optional[int] = ...) -> None: ...

class DeviceMessage(_message.Message):
    __slots__ = ("hello", "emg", "status", "pong", "ack", "error")
    HELLO_FIELD_NUMBER: _ClassVar[int]
    EMG_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PONG_FIELD_NUMBER: _ClassVar[int]
    ACK_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    hello: Hello
    emg: EmgFrame
    status: DeviceStatus
    pong: Pong
    ack: Ack
    error: Error
    def __init__(self, hello: _Optional[_Union[Hello, _Mapping]] = ..., emg: _Optional[_Union[EmgFrame, _Mapping]] = ..., status: _Optional[_Union[DeviceStatus, _Mapping]] = ..., pong: _Optional[_Union[Pong, _Mapping]] = ..., ack: _Optional[_Union[Ack, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class HostMessage(_message.Message):
    __slots__ = ("motor", "set_config", "ping")
    MOTOR_FIELD_NUMBER: _ClassVar[int]
    SET_CONFIG_FIELD_NUMBER: _ClassVar[int]
    PING_FIELD_NUMBER: _ClassVar[int]
    motor: MotorCommand
    set_config: SetConfig
    ping: Ping
    def __init__(self, motor: _Optional[_Union[MotorCommand, _Mapping]] = ..., set_config: _Optional[_Union[SetConfig, _Mapping]] = ..., ping: _Optional[_Union[Ping, _Mapping]] = ...) -> None: ...
